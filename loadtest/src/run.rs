//! One run, start to end: the provider up, the world set up, the observer and the desktops
//! connected, the customers' stages played, a drain for the agents to finish, the verdicts,
//! and the clean-up.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::admin::{self, Admin, Plan};
use crate::agents::{self, Desk};
use crate::customers::Customers;
use crate::measure::Measures;
use crate::observer::{self, Checks};
use crate::provider::{FakeProvider, ProviderConfig};
use crate::records::Records;
use crate::report::{self, RunResult};
use crate::scenario::Scenario;
use crate::verdict;

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's base URL.
    pub url: String,
    /// Its admin token.
    pub admin_token: String,
    /// Where the generator's provider listens (`127.0.0.1:0`: any free port).
    pub provider_bind: String,
    /// The provider's URL as the server reaches it (default: the bound loopback address).
    pub provider_url: Option<String>,
    /// This generator's share, `(i, n)`.
    pub shard: (u32, u32),
    /// Leave the world in place afterwards.
    pub keep: bool,
    /// Print a progress line every second.
    pub progress: bool,
    /// Faults planted on purpose, to prove the verdicts catch them.
    pub faults: Vec<Fault>,
}

/// A fault planted in the generator's own records, so that a run against a healthy server
/// must fail: the proof that the verdicts can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// An acknowledged customer text that no thread holds (as if the server lost it).
    LostText,
    /// The provider takes one reply twice (as if the server sent it twice).
    DuplicateReceipt,
}

/// Runs `scenario` against `target`.
pub async fn run(scenario: &Scenario, target: &Target) -> Result<RunResult> {
    scenario.check().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let cpu_at_start = report::cpu_seconds();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()?;
    let admin = Admin::new(http.clone(), &target.url, &target.admin_token);
    let records = Arc::new(Records::default());
    let measures = Arc::new(Measures::default());

    // The run's identity: its prefix and number block, from the seed and the shard.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let run_id = (stamp ^ scenario.seed.rotate_left(17)) % 1_000_000;
    let block = ((run_id + u64::from(target.shard.0)) % 100) as u32;
    let prefix = format!("lt{run_id:06}s{}", target.shard.0);
    // Distinct per shard too: shards started in the same millisecond share a run id.
    let rng_hex = format!(
        "{:032x}",
        u128::from(run_id) << 64 | u128::from(scenario.seed) << 8 | u128::from(target.shard.0)
    );

    let account_sid = format!("AC{rng_hex}");
    let auth_token = format!("lt{}", rng_hex.chars().rev().collect::<String>());
    let provider = FakeProvider::start(
        ProviderConfig {
            account_sid: account_sid.clone(),
            auth_token: auth_token.clone(),
            default_callback: format!(
                "{}/webhooks/twilio/status",
                target.url.trim_end_matches('/')
            ),
            behaviour: scenario.provider.clone(),
            seed: scenario.seed,
        },
        &target.provider_bind,
        started,
        records.clone(),
        measures.clone(),
    )
    .context("starting the generator's provider")?;
    let plan = Plan {
        prefix,
        block,
        teams: scenario.teams,
        queues: scenario.queues,
        agents: scenario.agents.count,
        capacity: scenario.agents.capacity,
        provider_url: target
            .provider_url
            .clone()
            .unwrap_or_else(|| provider.base_url.clone()),
    };
    let world = match admin::set_up(&admin, &plan, &account_sid, &auth_token).await {
        Ok(world) => world,
        Err(e) => {
            let _ = admin::clean_up(&admin, &plan).await;
            return Err(e.context("setting up the run's teams, queues, numbers and agents"));
        }
    };
    eprintln!(
        "switchboard-load: {} — {} queues, {} agents, {} customers, prefix {}",
        scenario.name,
        world.queue_ids.len(),
        world.agents.len(),
        scenario.customers.count,
        world.prefix
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let agent_ids: Vec<String> = world.agents.iter().map(|a| a.id.clone()).collect();
    let checks = Arc::new(Mutex::new(Checks::new(
        &world.queue_ids,
        &agent_ids,
        scenario.agents.capacity,
    )));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let offers = Arc::new(crate::offer_clock::OfferClock::default());
    let settled = Arc::new(Mutex::new(HashSet::new()));
    let sinks = observer::Sinks {
        offers: offers.clone(),
        records: records.clone(),
        settled: settled.clone(),
    };
    let observer = tokio::spawn(observer::observe(
        target.url.clone(),
        target.admin_token.clone(),
        checks.clone(),
        sinks,
        measures.clone(),
        stop_rx.clone(),
        ready_tx,
    ));
    let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;

    let desk = Arc::new(Desk {
        target: target.url.trim_end_matches('/').to_owned(),
        world: world.clone(),
        behaviour: scenario.agents.clone(),
        http: http.clone(),
        records: records.clone(),
        measures: measures.clone(),
        started,
        taken_at: provider.taken_at.clone(),
        offers,
        moved: Mutex::new(HashSet::new()),
        settled,
        stop: stop_rx.clone(),
    });
    let mut desktops = tokio::task::JoinSet::new();
    for (i, agent) in world.agents.iter().enumerate() {
        desktops.spawn(agents::desktop(
            desk.clone(),
            agent.clone(),
            i as u32,
            scenario.seed,
        ));
    }
    // Let the desktops log in before the first text.
    tokio::time::sleep(Duration::from_millis(
        500 + 2 * u64::from(scenario.agents.count).min(2000),
    ))
    .await;

    let stages_started = Instant::now();
    let customers = Arc::new(Customers::new(
        scenario,
        &world,
        &plan,
        &target.url,
        &target.admin_token,
        http.clone(),
        records.clone(),
        measures.clone(),
        started,
        stages_started,
        target.shard,
        run_id as u32,
    ));
    let progress = target.progress.then(|| {
        tokio::spawn(show_progress(
            measures.clone(),
            stages_started,
            scenario.duration(),
        ))
    });
    customers.run().await;
    if target.faults.contains(&Fault::LostText) {
        records.text(crate::records::SentText {
            sid: format!("SM{run_id:08x}ffff{:020x}", 0xdead_u64),
            customer: Plan::customer_phone(block, 0),
            number: world.numbers[0].phone.clone(),
            acked: true,
        });
    }
    let stages_took = stages_started.elapsed();
    drain(&desk, &records, Duration::from_secs(scenario.drain_secs)).await;
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let _ = stop_tx.send(true);
    while desktops.join_next().await.is_some() {}
    let _ = observer.await;

    // Verdicts.
    let mut violations = Vec::new();
    let never_offered = checks.lock().map(|c| c.never_offered()).unwrap_or_default();
    if let Ok(checks) = checks.lock() {
        violations.extend(checks.seen.violations.iter().cloned());
    }
    violations.extend(waiting_while_agents_free(&admin, &never_offered, &measures).await);
    let opted_out: HashSet<String> = checks
        .lock()
        .map(|c| c.seen.opted_out_failures.clone())
        .unwrap_or_default();
    match stored_texts(&admin, &world.queue_ids, &records).await {
        Ok(stored) => violations.extend(verdict::texts_stored_once(&records, &stored)),
        Err(e) => violations.push(verdict::Violation {
            check: "verdicts_incomplete".into(),
            detail: format!("the threads could not be read: {e}"),
        }),
    }
    let mut receipts = records
        .receipts
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    let replies = records
        .replies
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    if target.faults.contains(&Fault::DuplicateReceipt)
        && let Some(first) = replies.iter().find_map(|reply| {
            receipts
                .iter()
                .find(|r| r.answered == 201 && r.body == reply.body && r.to == reply.customer)
                .cloned()
        })
    {
        receipts.push(first);
    }
    violations.extend(verdict::replies_sent_once_in_order(
        &replies, &receipts, &opted_out,
    ));
    for latency in verdict::handoff_latencies(&replies, &receipts) {
        measures.record("reply_to_handoff", latency);
    }
    violations.extend(verdict::nothing_after_stop(&records, &receipts));

    provider.stop().await;
    if !target.keep
        && let Err(e) = admin::clean_up(&admin, &plan).await
    {
        eprintln!("switchboard-load: {e}");
    }
    let counters = measures.counters();
    Ok(RunResult {
        scenario: scenario.name.clone(),
        target: target.url.clone(),
        shards: vec![format!("{}/{}", target.shard.0, target.shard.1)],
        duration_secs: stages_took.as_secs_f64(),
        planned_texts: scenario.planned_texts(),
        sent: counters.get("texts.sent").copied().unwrap_or(0),
        acked: counters.get("texts.acked").copied().unwrap_or(0),
        measures: measures.all_figures(),
        counters,
        violations,
        generator_cpu_secs: report::cpu_seconds() - cpu_at_start,
    })
}

/// Every acknowledged text's count in the threads: the run's queues' conversations, then the
/// histories of the customers whose texts that pass did not find.
async fn stored_texts(
    admin: &Admin,
    queues: &[String],
    records: &Records,
) -> Result<HashMap<String, u32>> {
    let mut stored = verdict::stored_texts(admin, queues, 16).await?;
    let mut unseen: Vec<String> = records
        .texts
        .lock()
        .map(|texts| {
            texts
                .iter()
                .filter(|t| t.acked && !stored.counts.contains_key(&t.sid))
                .map(|t| t.customer.clone())
                .collect()
        })
        .unwrap_or_default();
    unseen.sort();
    unseen.dedup();
    verdict::texts_of_customers(admin, &unseen, 16, &mut stored).await?;
    Ok(stored.counts)
}

/// Conversations customers opened and nobody was offered are a fault only if an agent could
/// have taken them: at the end (the agents still available, nothing left to answer) a queue
/// with such a conversation must have no agent ready. Those waiting because every agent was
/// busy are counted (`conversations.waiting_at_end`), not held against the server.
async fn waiting_while_agents_free(
    admin: &Admin,
    never_offered: &[(String, String)],
    measures: &Measures,
) -> Vec<verdict::Violation> {
    let mut ready: HashMap<&str, u64> = HashMap::new();
    let mut violations = Vec::new();
    for (conversation, queue) in never_offered {
        if !ready.contains_key(queue.as_str()) {
            let stats = admin
                .get_as(None, &format!("/v1/queues/{queue}/stats"))
                .await;
            let agents = stats
                .map(|s| s["agents_ready"].as_u64().unwrap_or(0))
                .unwrap_or(0);
            ready.insert(queue, agents);
        }
        if ready[queue.as_str()] > 0 {
            violations.push(verdict::Violation {
                check: "never_offered".into(),
                detail: format!(
                    "{conversation} waits in {queue}, never offered, while {} agents are ready",
                    ready[queue.as_str()]
                ),
            });
        } else {
            measures.count("conversations.waiting_at_end", 1);
        }
    }
    violations
}

/// The agents' time to finish: at least `least`, then until every acknowledged reply's
/// hand-off is over (taken by the provider or failed) — retries after 429s and 500s back off
/// for seconds — for at most a minute more.
async fn drain(desk: &Desk, records: &Records, least: Duration) {
    tokio::time::sleep(least).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let replies: Vec<String> = records
            .replies
            .lock()
            .map(|r| r.iter().map(|r| r.message_id.clone()).collect())
            .unwrap_or_default();
        let settled = desk
            .settled
            .lock()
            .map(|s| replies.iter().all(|id| s.contains(id)));
        if settled.unwrap_or(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A line a second: elapsed/total, offered and achieved rate, current p99, errors. On a
/// terminal it rewrites itself; otherwise it prints plain lines.
async fn show_progress(measures: Arc<Measures>, started: Instant, total: Duration) {
    let terminal = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_sent = 0;
    let mut last_acked = 0;
    loop {
        tick.tick().await;
        let (sent, acked) = (
            measures.counter("texts.sent"),
            measures.counter("texts.acked"),
        );
        let errors: u64 = measures
            .counters()
            .iter()
            .filter(|(k, _)| k.starts_with("errors."))
            .map(|(_, v)| v)
            .sum();
        let line = format!(
            "{:>5.0}/{:.0} s  offered {:>7}/s  achieved {:>7}/s  ack p99 {:>8.2} ms  offer p99 {:>8.2} ms  errors {}",
            started.elapsed().as_secs_f64().min(total.as_secs_f64()),
            total.as_secs_f64(),
            sent - last_sent,
            acked - last_acked,
            measures.figures("ack").p99,
            measures.figures("text_to_offer").p99,
            errors
        );
        (last_sent, last_acked) = (sent, acked);
        if terminal {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
    }
}
