//! Customers, open-loop: texts leave at the scenario's arrival times whatever the server does
//! (a slow answer does not slow the next text), and each text's latency counts from when it
//! was due, not from when it left — so a stalled server cannot hide behind a stalled client.
//! Texts go as Twilio sends them (a signed form post to `/webhooks/twilio/sms`) or as JSON to
//! `/v1/inbound`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::json;

use crate::admin::{Plan, World};
use crate::measure::Measures;
use crate::records::{Keyword, Records, SentText};
use crate::scenario::{InboundPath, Scenario};
use crate::signature;

/// What a text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Unicode,
    Long,
    Picture,
    Stop,
    Start,
    Help,
}

/// The customers of one generator (one shard's share).
pub struct Customers {
    scenario: Scenario,
    world: World,
    block: u32,
    target: String,
    admin_token: String,
    http: reqwest::Client,
    records: Arc<Records>,
    measures: Arc<Measures>,
    /// The run's start: every record's times count from it.
    started: Instant,
    /// When the first stage starts: arrivals count from it.
    stages_start: Instant,
    shard: (u32, u32),
    run_id: u32,
    state: Mutex<Choices>,
}

struct Choices {
    rng: StdRng,
    next_fresh: u32,
    recent: Vec<(u32, u32)>,
    stopped: BTreeSet<u32>,
    sequence: u64,
}

impl Customers {
    /// Customers of `world` on `target`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &Scenario,
        world: &World,
        plan: &Plan,
        target: &str,
        admin_token: &str,
        http: reqwest::Client,
        records: Arc<Records>,
        measures: Arc<Measures>,
        started: Instant,
        stages_start: Instant,
        shard: (u32, u32),
        run_id: u32,
    ) -> Self {
        Self {
            scenario: scenario.clone(),
            world: world.clone(),
            block: plan.block,
            target: target.trim_end_matches('/').to_owned(),
            admin_token: admin_token.to_owned(),
            http,
            records,
            measures,
            started,
            stages_start,
            shard,
            run_id,
            state: Mutex::new(Choices {
                rng: StdRng::seed_from_u64(scenario.seed ^ 0xc057_0e45),
                next_fresh: 0,
                recent: Vec::new(),
                stopped: BTreeSet::new(),
                sequence: 0,
            }),
        }
    }

    /// Sends every text of the scenario at its time; returns when the last has been answered.
    pub async fn run(self: Arc<Self>) {
        let arrivals = self.scenario.arrivals();
        let mut in_flight = tokio::task::JoinSet::new();
        for (i, due) in arrivals.into_iter().enumerate() {
            // Shards split the arrivals: each sends every n-th text.
            if i as u32 % self.shard.1 != self.shard.0 {
                continue;
            }
            let due_at = self.stages_start + due;
            tokio::time::sleep_until(due_at.into()).await;
            let me = self.clone();
            in_flight.spawn(async move { me.send_one(due_at).await });
            while in_flight.try_join_next().is_some() {}
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Picks who texts which number what, as the scenario's shares say.
    fn choose(&self) -> (u32, u32, Kind, u64) {
        let c = &self.scenario.customers;
        let mut s = self.state.lock().expect("customer choices");
        s.sequence += 1;
        let sequence = s.sequence;
        let follow_up =
            !s.recent.is_empty() && s.rng.random_range(0.0..100.0) < c.follow_up_percent;
        let (customer, queue) = if follow_up {
            let recent = s.recent.len();
            let pick = s.rng.random_range(0..recent);
            s.recent[pick]
        } else {
            let customer = s.next_fresh % c.count;
            s.next_fresh += 1;
            let queue = s.rng.random_range(0..self.world.numbers.len() as u32);
            (customer, queue)
        };
        let key = (customer, queue);
        // Opt-outs cover the whole provider account, so every number of the run.
        let kind = if s.stopped.contains(&customer) {
            // A customer who stopped texts START next, and is heard again.
            s.stopped.remove(&customer);
            Kind::Start
        } else {
            let draw = s.rng.random_range(0.0..100.0);
            let shares = [
                (c.stop_percent, Kind::Stop),
                (c.help_percent, Kind::Help),
                (c.mms_percent, Kind::Picture),
                (c.unicode_percent, Kind::Unicode),
                (c.long_percent, Kind::Long),
            ];
            let kind = crate::scenario::pick(draw, &shares).unwrap_or(Kind::Plain);
            if kind == Kind::Stop {
                s.stopped.insert(customer);
            }
            kind
        };
        if !follow_up {
            s.recent.push(key);
            if s.recent.len() > 256 {
                s.recent.remove(0);
            }
        }
        (customer, queue, kind, sequence)
    }

    async fn send_one(&self, due: Instant) {
        let (customer, queue, kind, sequence) = self.choose();
        let from = Plan::customer_phone(self.block, customer);
        let number = &self.world.numbers[queue as usize];
        // Unique across runs: Switchboard drops a MessageSid it has seen as a provider retry.
        let sid = format!("SM{:08x}{:04x}{:020x}", self.run_id, self.shard.0, sequence);
        let (body, media): (String, Vec<String>) = match kind {
            Kind::Plain => (format!("Where is my order {sequence}?"), Vec::new()),
            Kind::Unicode => (format!("¿Dónde está mi pedido {sequence}? 📦"), Vec::new()),
            Kind::Long => (
                format!("Order {sequence}: ").to_owned()
                    + &"my parcel has not arrived yet, ".repeat(20),
                Vec::new(),
            ),
            Kind::Picture => (
                format!("Photo of the damage {sequence}"),
                vec![format!("https://example.com/load/{sequence}.jpg")],
            ),
            Kind::Stop => ("STOP".into(), Vec::new()),
            Kind::Start => ("START".into(), Vec::new()),
            Kind::Help => ("HELP".into(), Vec::new()),
        };
        let request = match self.scenario.customers.inbound {
            InboundPath::Twilio => {
                let url = format!("{}/webhooks/twilio/sms", self.target);
                let mut params = vec![
                    ("AccountSid", self.world.account_sid.clone()),
                    ("Body", body),
                    ("From", from.clone()),
                    ("MessageSid", sid.clone()),
                    ("NumMedia", media.len().to_string()),
                    ("To", number.phone.clone()),
                ];
                for (i, url) in media.iter().enumerate() {
                    params.push((["MediaUrl0", "MediaUrl1"][i.min(1)], url.clone()));
                }
                let signature = signature::sign(&self.world.auth_token, &url, &params);
                let form: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                self.http
                    .post(url)
                    .header("X-Twilio-Signature", signature)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form)
            }
            InboundPath::Json => self
                .http
                .post(format!("{}/v1/inbound", self.target))
                .bearer_auth(&self.admin_token)
                .json(&json!({"from": from, "to": number.phone, "body": body,
                              "media_urls": media, "provider_message_id": sid})),
        };
        if let Ok(mut intended) = self.records.intended.lock() {
            intended.insert(sid.clone(), due);
        }
        self.measures.count("texts.sent", 1);
        let result = request.send().await;
        let latency = due.elapsed();
        let acked = match result {
            Ok(response) if response.status().is_success() => {
                self.measures.record("ack", latency);
                self.measures.count("texts.acked", 1);
                true
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let code = response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|b| b["code"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                self.measures
                    .count(format!("errors.ack.{status} {code}"), 1);
                false
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    "timeout"
                } else {
                    "transport"
                };
                self.measures.count(format!("errors.ack.{what}"), 1);
                false
            }
        };
        let now = self.started.elapsed();
        match (kind, acked) {
            // A STOP binds the server from its acknowledgement: that is what it promised.
            (Kind::Stop, true) => self.records.keyword(
                &from,
                Keyword::Stop {
                    sent: now.saturating_sub(latency),
                },
                now,
            ),
            // A START may take effect any time between its sending and its answer (the server
            // applies it before a slow answer arrives, or answers never), so it is noted with
            // both. Counting it from its answer alone flagged legitimate HELP answers as "sent
            // after STOP" whenever acknowledgements lagged by seconds.
            (Kind::Start, acked) => self.records.keyword(
                &from,
                Keyword::Start {
                    answered: acked.then_some(now),
                },
                now.saturating_sub(latency),
            ),
            _ => {}
        }
        self.records.text(SentText {
            sid,
            customer: from,
            number: number.phone.clone(),
            acked,
        });
    }
}
