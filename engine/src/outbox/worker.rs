//! The outbox worker: one task that hands outbound texts to their providers, paced per
//! number by [`Pacer`], and takes the providers' reports. Every change of a text's delivery
//! record goes through this one task, so reports and hand-offs never race.
//!
//! A text leaves at most once. Before each hand-off its record is saved as `sending`; a
//! record found `sending` later (after a crash, or a request that got no answer) is first
//! looked up at the provider, and only sent again when the provider does not have it. Before
//! each hand-off the customer's opt-out is read again, so a STOP that came in while the text
//! waited stops it.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::delivery::{Delivery, DeliveryStatus};
use super::pacing::{Pacer, Start, Waiting};
use crate::domain::{Number, PhoneNumber, ProviderAccount};
use crate::metrics::metrics;
use crate::routing::Millis;
use crate::runtime::{Engine, EngineError, InboundMessage};
use crate::sms::provider::simulator::SimulatorReport;
use crate::sms::provider::twilio::TwilioClient;
use crate::sms::provider::{Accepted, AnyProvider, Lookup, SendError, SendRequest, SmsProvider};
use crate::store::{DeliveryWrite, NewEvent, Store};

/// How the outbox behaves.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Switchboard's public base URL: Twilio's status callbacks go to
    /// `{public_url}/webhooks/twilio/status`. Without it Twilio is asked for none.
    pub public_url: Option<String>,
    /// Hand-offs tried before a text is given up as `failed` (`provider_unavailable`).
    pub max_attempts: u32,
    /// The first retry's wait; each next one doubles it, up to [`OutboxConfig::max_backoff`].
    pub first_backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_attempts: 10,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl OutboxConfig {
    /// The wait before try `attempts + 1`, or what the provider asked for if longer.
    fn backoff(&self, attempts: u32, asked: Option<Duration>) -> Duration {
        let doubled = self
            .first_backoff
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        doubled.min(self.max_backoff).max(asked.unwrap_or_default())
    }
}

/// What the provider said of a text, as reported back (a status callback, the simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The status moved forward.
    Updated,
    /// A late or repeated report: nothing changed.
    Unchanged,
    /// A report on a text whose hand-off has not come back yet (providers may report before
    /// they answer the send): kept, and applied when it does.
    Early,
    /// No text has this provider id.
    UnknownMessage,
}

pub(crate) enum Command {
    Enqueue(Box<Delivery>),
    Report {
        provider_message_id: String,
        status: DeliveryStatus,
        error_code: Option<String>,
        done: Option<oneshot::Sender<Result<ReportOutcome, EngineError>>>,
    },
    OptedOut {
        scope: String,
        phone: PhoneNumber,
    },
    Finished {
        message_id: String,
        result: HandOff,
    },
}

/// How a hand-off (or a lookup) ended.
pub(crate) enum HandOff {
    Sent(Accepted),
    Failed(SendError),
    Looked(Lookup),
}

/// The outbox's handle. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Outbox {
    commands: mpsc::UnboundedSender<Command>,
}

impl Outbox {
    pub(crate) fn channel() -> (Self, mpsc::UnboundedReceiver<Command>) {
        let (commands, rx) = mpsc::unbounded_channel();
        (Self { commands }, rx)
    }

    /// A text stored in the outbox: hand it off in its turn.
    pub(crate) fn enqueue(&self, delivery: Delivery) {
        let _ = self.commands.send(Command::Enqueue(Box::new(delivery)));
    }

    /// A provider reports on a text; answers once the report is durable.
    pub async fn report(
        &self,
        provider_message_id: String,
        status: DeliveryStatus,
        error_code: Option<String>,
    ) -> Result<ReportOutcome, EngineError> {
        let (done, answer) = oneshot::channel();
        self.commands
            .send(Command::Report {
                provider_message_id,
                status,
                error_code,
                done: Some(done),
            })
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// `phone` opted out of `scope`'s texts: its waiting texts there fail now (the check
    /// before every hand-off would stop them anyway; this shows it at once).
    pub fn opted_out(&self, scope: String, phone: PhoneNumber) {
        let _ = self.commands.send(Command::OptedOut { scope, phone });
    }
}

struct Worker {
    engine: Engine,
    config: OutboxConfig,
    pacer: Pacer,
    /// The texts the pacer holds, by message id.
    held: HashMap<String, Delivery>,
    /// Record writes that failed (the store was down), tried again every second.
    unsaved: Vec<DeliveryWrite>,
    /// Hand-offs and lookups under way.
    in_flight: usize,
    /// Texts read from the store at start whose enqueue message may still be on its way (a
    /// commit that landed while the outbox was loading): that message must not bring back a
    /// text that has left since.
    loaded: std::collections::HashSet<String>,
    /// Reports that came before their hand-off's answer, by provider id, with when.
    early: HashMap<String, Vec<(DeliveryStatus, Option<String>, Millis)>>,
    http: reqwest::Client,
    commands: mpsc::UnboundedSender<Command>,
    simulator_reports: mpsc::UnboundedSender<SimulatorReport>,
}

/// Runs the outbox until the engine stops: loads what the store holds, then serves.
pub(crate) async fn run(
    engine: Engine,
    config: OutboxConfig,
    outbox: Outbox,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (simulator_reports, mut from_simulator) = mpsc::unbounded_channel();
    let mut worker = Worker {
        engine,
        config,
        pacer: Pacer::new(),
        held: HashMap::new(),
        unsaved: Vec::new(),
        in_flight: 0,
        loaded: std::collections::HashSet::new(),
        early: HashMap::new(),
        http: TwilioClient::http_client(),
        commands: outbox.commands.clone(),
        simulator_reports,
    };
    drop(outbox);
    worker.load().await;
    loop {
        let now = worker.engine.now();
        let mut wake = worker.pacer.next_wake(now);
        if !worker.unsaved.is_empty() {
            wake = Some(wake.map_or(now + 1000, |w| w.min(now + 1000)));
        }
        let sleep = async {
            match wake {
                Some(at) => {
                    tokio::time::sleep(Duration::from_millis((at - now).max(0) as u64)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => worker.handle(command).await,
                None => return,
            },
            Some(report) = from_simulator.recv() => worker.simulator_report(report).await,
            () = sleep => {}
        }
        worker.retry_unsaved().await;
        let now = worker.engine.now();
        for start in worker.pacer.due(now) {
            worker.start(start).await;
        }
        metrics().outbox_waiting.set(worker.pacer.len() as i64);
    }
}

impl Worker {
    /// Takes in the texts the store's outbox holds, in order (after a restart: the ones
    /// that had not left).
    async fn load(&mut self) {
        loop {
            match self.engine.store().outbox_pending().await {
                Ok(records) => {
                    let count = records.len();
                    for record in records {
                        match serde_json::from_str::<Delivery>(&record) {
                            Ok(delivery) => {
                                self.loaded.insert(delivery.message_id.clone());
                                self.hold(delivery).await;
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "unreadable outbox record skipped")
                            }
                        }
                    }
                    if count > 0 {
                        tracing::info!(count, "outbox resumed");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the outbox yet; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    async fn hold(&mut self, delivery: Delivery) {
        if self.pacer.contains(&delivery.message_id) {
            return;
        }
        let rate = match self.number(&delivery).await {
            Ok(Some(number)) => number.sends_per_second,
            _ => crate::domain::DEFAULT_SENDS_PER_SECOND,
        };
        self.pacer.push(
            delivery.number_id.as_str(),
            rate,
            Waiting {
                message_id: delivery.message_id.clone(),
                conversation: delivery.conversation_id.to_string(),
                segments: delivery.segments,
                not_before: delivery.retry_at,
            },
        );
        self.held.insert(delivery.message_id.clone(), delivery);
    }

    async fn number(&self, delivery: &Delivery) -> Result<Option<Number>, EngineError> {
        Ok(self
            .engine
            .catalog()
            .find::<Number>(delivery.number_id.as_str())
            .await?
            .map(|s| s.resource))
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Enqueue(delivery) => {
                // Loaded from the store already: held, or gone since. Each text is enqueued
                // once, so the mark is spent.
                if !self.loaded.remove(&delivery.message_id) {
                    self.hold(*delivery).await;
                }
            }
            Command::Report {
                provider_message_id,
                status,
                error_code,
                done,
            } => {
                let outcome = self.report(&provider_message_id, status, error_code).await;
                if let Some(done) = done {
                    let _ = done.send(outcome);
                }
            }
            Command::OptedOut { scope, phone } => self.drop_opted_out(&scope, &phone).await,
            Command::Finished { message_id, result } => self.finished(&message_id, result).await,
        }
    }

    async fn simulator_report(&mut self, report: SimulatorReport) {
        match report {
            SimulatorReport::Status {
                provider_message_id,
                status,
                error_code,
            } => {
                if let Err(e) = self.report(&provider_message_id, status, error_code).await {
                    tracing::warn!(error = %e, "simulated delivery report not stored");
                }
            }
            SimulatorReport::Reply { from, to, body } => {
                let engine = self.engine.clone();
                actix::spawn(async move {
                    let message = InboundMessage {
                        from,
                        to,
                        body,
                        media_urls: Vec::new(),
                        provider_message_id: Some(format!("sim:{}", ulid::Ulid::new())),
                    };
                    if let Err(e) = engine.inbound(message).await {
                        tracing::warn!(error = %e, "simulated customer reply not stored");
                    }
                });
            }
        }
    }

    /// Hands a text off (or, when an earlier hand-off's outcome was lost, asks the provider
    /// whether it has it).
    async fn start(&mut self, start: Start) {
        let Some(mut delivery) = self.held.get(&start.message_id).cloned() else {
            self.pacer.finish(&start.message_id);
            return;
        };
        let now = self.engine.now();
        let number = match self.number(&delivery).await {
            Ok(Some(number)) => number,
            Ok(None) => {
                delivery.fail(
                    "number_deleted",
                    "the business number was deleted before the text left",
                    now,
                );
                return self.settle(delivery).await;
            }
            Err(e) => {
                return self
                    .later(delivery, &format!("configuration unreadable: {e}"))
                    .await;
            }
        };
        // A text whose last hand-off may have gone through is looked up first, whatever the
        // opt-out says now: it may have left before the STOP. A send is what the check stops.
        let lost_before = delivery.status == DeliveryStatus::Sending;
        let opted_out = if lost_before {
            Ok(false)
        } else {
            self.engine
                .contacts()
                .opted_out(&delivery.to, &number.opt_out_scope())
                .await
        };
        match opted_out {
            Ok(false) => {}
            Ok(true) => {
                delivery.fail(
                    "recipient_opted_out",
                    "the customer opted out (STOP) before the text left; it was not sent",
                    now,
                );
                return self.settle(delivery).await;
            }
            Err(e) => {
                return self
                    .later(delivery, &format!("opt-out unreadable: {e}"))
                    .await;
            }
        }
        let provider = match self.provider(&number).await {
            Ok(provider) => provider,
            Err(e) => {
                return self
                    .later(delivery, &format!("provider account unreadable: {e}"))
                    .await;
            }
        };
        let request = SendRequest {
            message_id: delivery.message_id.clone(),
            from: number.phone.clone(),
            to: delivery.to.clone(),
            body: delivery.body.clone(),
            media_urls: delivery.media_urls.clone(),
            status_callback: match (&provider, &self.config.public_url) {
                (AnyProvider::Twilio(_), Some(base)) => Some(format!(
                    "{}/webhooks/twilio/status",
                    base.trim_end_matches('/')
                )),
                _ => None,
            },
        };
        let since = delivery.handed_off_at;
        if !lost_before {
            delivery.handed_off_at = now;
        }
        delivery.status = DeliveryStatus::Sending;
        delivery.attempts += 1;
        delivery.provider = Some(provider.name().to_owned());
        delivery.updated_at = now;
        // Durable before the request goes out: a crash from here on finds `sending` and asks
        // the provider before sending again.
        let write = self.write(&delivery, false, Vec::new());
        if let Err(e) = self.engine.store().delivery_put(write).await {
            delivery.status = if lost_before {
                DeliveryStatus::Sending
            } else {
                DeliveryStatus::Outbox
            };
            delivery.attempts -= 1;
            return self
                .later(delivery, &format!("store unavailable: {e}"))
                .await;
        }
        self.held.insert(delivery.message_id.clone(), delivery);
        self.in_flight += 1;
        let commands = self.commands.clone();
        let message_id = start.message_id;
        actix::spawn(async move {
            let result = if lost_before {
                HandOff::Looked(provider.lookup(&request, since).await)
            } else {
                match provider.send(&request).await {
                    Ok(accepted) => HandOff::Sent(accepted),
                    Err(e) => HandOff::Failed(e),
                }
            };
            let _ = commands.send(Command::Finished { message_id, result });
        });
    }

    /// The provider for a number: its account's, or the default simulator.
    async fn provider(&self, number: &Number) -> Result<AnyProvider, EngineError> {
        let account = match &number.provider_account_id {
            Some(id) => self
                .engine
                .catalog()
                .find::<ProviderAccount>(id)
                .await?
                .map(|s| s.resource),
            None => None,
        };
        Ok(AnyProvider::for_account(
            account.as_ref(),
            &self.http,
            &self.simulator_reports,
        ))
    }

    /// Puts a text back in line to try again later (a fault on this side, not the
    /// provider's); counts as no attempt.
    async fn later(&mut self, mut delivery: Delivery, reason: &str) {
        tracing::warn!(message_id = %delivery.message_id, reason, "text held back; retrying");
        let retry_at = self.engine.now() + self.config.first_backoff.as_millis() as Millis;
        delivery.retry_at = retry_at;
        self.pacer.retry(&delivery.message_id, retry_at);
        self.held.insert(delivery.message_id.clone(), delivery);
    }

    async fn finished(&mut self, message_id: &str, result: HandOff) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(mut delivery) = self.held.get(message_id).cloned() else {
            return;
        };
        let now = self.engine.now();
        match result {
            HandOff::Sent(accepted) | HandOff::Looked(Lookup::Found(accepted)) => {
                delivery.status = accepted.status.at_least(DeliveryStatus::Queued);
                delivery.provider_message_id = Some(accepted.provider_message_id);
                delivery.error_code = None;
                delivery.error_message = None;
                delivery.updated_at = now;
                metrics()
                    .outbound_sms
                    .with_label_values(&["accepted"])
                    .inc();
                let early = delivery
                    .provider_message_id
                    .as_ref()
                    .and_then(|id| self.early.remove(id))
                    .unwrap_or_default();
                for (status, error_code, at) in early {
                    delivery.report(status, error_code, at);
                }
                self.settle(delivery).await;
            }
            HandOff::Looked(Lookup::NotFound) => {
                // The provider never got it: send it, in its place, at the lane's next slot.
                delivery.status = DeliveryStatus::Outbox;
                self.retry(delivery, now).await;
            }
            HandOff::Looked(Lookup::Unknown(reason)) => {
                let after = self.config.backoff(delivery.attempts, None);
                delivery.error_message = Some(reason);
                self.retry(delivery, now + after.as_millis() as Millis)
                    .await;
            }
            HandOff::Failed(SendError::Retry { reason, after }) => {
                metrics().outbound_sms.with_label_values(&["retried"]).inc();
                let wait = self.config.backoff(delivery.attempts, after);
                delivery.status = DeliveryStatus::Outbox;
                delivery.error_message = Some(reason);
                self.retry(delivery, now + wait.as_millis() as Millis).await;
            }
            HandOff::Failed(SendError::Unknown { reason }) => {
                // Maybe taken: stays `sending`, so the next try asks before it sends.
                let wait = self.config.backoff(delivery.attempts, None);
                delivery.error_message = Some(reason);
                self.retry(delivery, now + wait.as_millis() as Millis).await;
            }
            HandOff::Failed(SendError::OptedOut { code, message }) => {
                let scope = match self.number(&delivery).await {
                    Ok(Some(number)) => number.opt_out_scope(),
                    _ => delivery.number_id.to_string(),
                };
                if let Err(e) = self
                    .engine
                    .contacts()
                    .set_opt_out(&delivery.to, &scope, Some(now))
                    .await
                {
                    tracing::error!(error = %e, "could not record the provider's opt-out");
                }
                tracing::info!(message_id = %delivery.message_id, "provider says the customer unsubscribed; opt-out recorded");
                delivery.fail(&code, message, now);
                let phone = delivery.to.clone();
                self.settle(delivery).await;
                self.drop_opted_out(&scope, &phone).await;
            }
            HandOff::Failed(SendError::Permanent { code, message }) => {
                delivery.fail(&code, message, now);
                self.settle(delivery).await;
            }
        }
    }

    /// Back in line until `at`, or given up when out of attempts.
    async fn retry(&mut self, mut delivery: Delivery, at: Millis) {
        let now = self.engine.now();
        if delivery.attempts >= self.config.max_attempts {
            let last = delivery.error_message.clone().unwrap_or_default();
            delivery.fail(
                "provider_unavailable",
                format!("gave up after {} attempts: {last}", delivery.attempts),
                now,
            );
            return self.settle(delivery).await;
        }
        delivery.retry_at = at;
        delivery.updated_at = now;
        let write = self.write(&delivery, false, Vec::new());
        self.save(write).await;
        self.pacer.retry(&delivery.message_id, at);
        self.held.insert(delivery.message_id.clone(), delivery);
    }

    /// The text leaves the outbox for good: record, event, out of line.
    async fn settle(&mut self, delivery: Delivery) {
        if delivery.status == DeliveryStatus::Failed {
            metrics().outbound_sms.with_label_values(&["failed"]).inc();
        }
        let event = self.status_event(&delivery);
        let write = self.write(&delivery, true, vec![event]);
        self.save(write).await;
        self.pacer.finish(&delivery.message_id);
        self.held.remove(&delivery.message_id);
    }

    /// Fails the waiting texts to `phone` on numbers whose opt-outs `scope` covers.
    async fn drop_opted_out(&mut self, scope: &str, phone: &PhoneNumber) {
        let candidates: Vec<String> = {
            let held = &self.held;
            self.pacer
                .waiting_where(|id| held.get(id).is_some_and(|d| &d.to == phone))
        };
        for id in candidates {
            let Some(mut delivery) = self.held.get(&id).cloned() else {
                continue;
            };
            let covered = match self.number(&delivery).await {
                Ok(Some(number)) => number.opt_out_scope() == scope,
                Ok(None) => true,
                Err(_) => false,
            };
            if covered {
                delivery.fail(
                    "recipient_opted_out",
                    "the customer opted out (STOP) before the text left; it was not sent",
                    self.engine.now(),
                );
                self.settle(delivery).await;
            }
        }
    }

    /// A provider's report on a text it has.
    async fn report(
        &mut self,
        provider_message_id: &str,
        status: DeliveryStatus,
        error_code: Option<String>,
    ) -> Result<ReportOutcome, EngineError> {
        let store = self.engine.store();
        let Some(message_id) = store.delivery_by_provider_id(provider_message_id).await? else {
            if self.in_flight == 0 {
                return Ok(ReportOutcome::UnknownMessage);
            }
            let now = self.engine.now();
            // Reports for hand-offs that never came back are forgotten after a minute.
            self.early
                .retain(|_, reports| reports.iter().any(|(_, _, at)| now - at < 60_000));
            self.early
                .entry(provider_message_id.to_owned())
                .or_default()
                .push((status, error_code, now));
            return Ok(ReportOutcome::Early);
        };
        let Some(Some(record)) = store
            .deliveries(std::slice::from_ref(&message_id))
            .await?
            .pop()
        else {
            return Ok(ReportOutcome::UnknownMessage);
        };
        let mut delivery: Delivery = serde_json::from_str(&record).map_err(|e| {
            crate::store::StoreError::Corrupt(format!("delivery {message_id}: {e}"))
        })?;
        if !delivery.report(status, error_code, self.engine.now()) {
            return Ok(ReportOutcome::Unchanged);
        }
        metrics()
            .outbound_sms
            .with_label_values(&[delivery.status.as_str()])
            .inc();
        let event = self.status_event(&delivery);
        let write = self.write(&delivery, true, vec![event]);
        self.engine.store().delivery_put(write).await?;
        Ok(ReportOutcome::Updated)
    }

    fn status_event(&self, delivery: &Delivery) -> NewEvent {
        let queue_id = self
            .engine
            .directory()
            .get(&delivery.conversation_id)
            .map(|c| c.queue_id.to_string());
        NewEvent {
            kind: "message.status".into(),
            at: self.engine.now(),
            data: json!({
                "conversation_id": delivery.conversation_id,
                "queue_id": queue_id,
                "message_id": delivery.message_id,
                "status": delivery.status,
                "provider_message_id": delivery.provider_message_id,
                "error_code": delivery.error_code,
                "error_message": delivery.error_message,
                "status_at": delivery.updated_at,
            })
            .to_string(),
        }
    }

    fn write(&self, delivery: &Delivery, settled: bool, events: Vec<NewEvent>) -> DeliveryWrite {
        DeliveryWrite {
            message_id: delivery.message_id.clone(),
            record: serde_json::to_string(delivery).expect("deliveries serialise"),
            settled,
            provider_message_id: delivery.provider_message_id.clone(),
            events,
        }
    }

    /// Stores a record change, keeping it to try again when the store is down: the text's
    /// fate is decided already and must not be acted on twice.
    async fn save(&mut self, write: DeliveryWrite) {
        if let Err(e) = self.engine.store().delivery_put(write.clone()).await {
            tracing::warn!(error = %e, "delivery record not stored yet; retrying");
            self.unsaved.push(write);
        }
    }

    async fn retry_unsaved(&mut self) {
        if self.unsaved.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.unsaved);
        let mut failed = false;
        for write in pending {
            if failed {
                self.unsaved.push(write);
                continue;
            }
            if self
                .engine
                .store()
                .delivery_put(write.clone())
                .await
                .is_err()
            {
                failed = true;
                self.unsaved.push(write);
            }
        }
    }
}
