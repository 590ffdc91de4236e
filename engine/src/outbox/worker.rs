//! The outbox worker: one task that hands outbound texts to their providers, paced per
//! number by [`Pacer`], and takes the providers' reports. Every change of a text's delivery
//! record goes through this one task, so reports and hand-offs never race.
//!
//! A text leaves at most once. Before each hand-off its record is saved as `sending`; a
//! record found `sending` later (after a crash, or a request that got no answer) is first
//! looked up at the provider, and only sent again when the provider does not have it. Before
//! each hand-off the customer's opt-out is read again, so a STOP that came in while the text
//! waited stops it.
//!
//! This module holds the loop and its commands; the hand-offs are in `handoff.rs`, the
//! records and reports in `records.rs`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::OutboxContext;
use super::delivery::{Delivery, DeliveryStatus};
use super::pacing::{Pacer, Waiting};
use crate::domain::{Number, PhoneNumber};
use crate::metrics::metrics;
use crate::routing::Millis;
use crate::runtime::{EngineError, InboundMessage};
use crate::sms::provider::simulator::SimulatorReport;
use crate::sms::provider::twilio::TwilioClient;
use crate::sms::provider::{Accepted, Lookup, SendError};
use crate::store::{DeliveryWrite, Store};

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
    pub(super) fn backoff(&self, attempts: u32, asked: Option<Duration>) -> Duration {
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

pub(super) struct Worker {
    pub(super) context: OutboxContext,
    pub(super) config: OutboxConfig,
    pub(super) pacer: Pacer,
    /// The texts the pacer holds, by message id.
    pub(super) held: HashMap<String, Delivery>,
    /// Record writes that failed (the store was down), tried again every second.
    pub(super) unsaved: Vec<DeliveryWrite>,
    /// Hand-offs and lookups under way.
    pub(super) in_flight: usize,
    /// Texts read from the store at start whose enqueue message may still be on its way (a
    /// commit that landed while the outbox was loading): that message must not bring back a
    /// text that has left since.
    pub(super) loaded: std::collections::HashSet<String>,
    /// Reports that came before their hand-off's answer, by provider id, with when.
    pub(super) early: HashMap<String, Vec<(DeliveryStatus, Option<String>, Millis)>>,
    pub(super) http: reqwest::Client,
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub(super) simulator_reports: mpsc::UnboundedSender<SimulatorReport>,
}

/// Runs the outbox until the engine stops: loads what the store holds, then serves.
pub(crate) async fn run(
    context: OutboxContext,
    config: OutboxConfig,
    outbox: Outbox,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (simulator_reports, mut from_simulator) = mpsc::unbounded_channel();
    let mut worker = Worker {
        context,
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
        let now = worker.context.now();
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
        let now = worker.context.now();
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
            match self.context.store().outbox_pending().await {
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

    pub(super) async fn number(&self, delivery: &Delivery) -> Result<Option<Number>, EngineError> {
        Ok(self
            .context
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
                self.context.customer_answered(InboundMessage {
                    from,
                    to,
                    body,
                    media_urls: Vec::new(),
                    provider_message_id: Some(format!("sim:{}", ulid::Ulid::generate())),
                    priority: None,
                });
            }
        }
    }
}
