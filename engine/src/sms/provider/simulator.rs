//! The simulator: an in-process provider for demos and load tests. It takes every text,
//! reports it `sent` and then `delivered` (or, for a configurable share, `undelivered` with
//! carrier error 30003) after a configurable delay, and can play customers who answer: a
//! configurable share of texts gets a reply from the customer, which arrives like any inbound
//! text and routes through the queues (a configurable share of those replies is `STOP`).

use std::time::Duration;

use rand::RngExt;
use tokio::sync::mpsc;

use super::{Accepted, Lookup, SendError, SendRequest, SmsProvider};
use crate::domain::{PhoneNumber, SimulatorSettings};
use crate::outbox::DeliveryStatus;
use crate::routing::Millis;

/// Carrier error for "unreachable destination handset", what simulated failures report.
pub const SIMULATED_FAILURE: &str = "30003";

/// What the simulator tells the outbox later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulatorReport {
    /// A text's delivery moved on.
    Status {
        /// The simulator's id for it.
        provider_message_id: String,
        /// Its new status.
        status: DeliveryStatus,
        /// The carrier error, for a failure.
        error_code: Option<String>,
    },
    /// A simulated customer answers.
    Reply {
        /// The customer.
        from: PhoneNumber,
        /// The business number.
        to: PhoneNumber,
        /// What they say.
        body: String,
    },
}

/// What simulated customers say.
const REPLIES: [&str; 6] = [
    "Thanks!",
    "OK, that works for me.",
    "Can you tell me more?",
    "What time would that be?",
    "Great, thank you 🙂",
    "I'll check and get back to you.",
];

/// A simulated provider account.
#[derive(Debug, Clone)]
pub struct Simulator {
    settings: SimulatorSettings,
    reports: mpsc::UnboundedSender<SimulatorReport>,
}

impl Simulator {
    /// A simulator behaving as `settings` say, reporting to `reports`.
    pub fn new(
        settings: SimulatorSettings,
        reports: mpsc::UnboundedSender<SimulatorReport>,
    ) -> Self {
        Self { settings, reports }
    }
}

impl SmsProvider for Simulator {
    async fn send(&self, request: &SendRequest) -> Result<Accepted, SendError> {
        let provider_message_id = format!("SIM{}", ulid::Ulid::generate());
        let (fails, replies, reply) = {
            let mut rng = rand::rng();
            let opts_out = rng.random_range(0..100) < u32::from(self.settings.opt_out_percent);
            (
                rng.random_range(0..100) < u32::from(self.settings.failure_percent),
                rng.random_range(0..100) < u32::from(self.settings.reply_percent),
                if opts_out {
                    "STOP"
                } else {
                    REPLIES[rng.random_range(0..REPLIES.len())]
                },
            )
        };
        let reports = self.reports.clone();
        let delay = Duration::from_millis(u64::from(self.settings.delivery_delay_ms));
        let reply_delay = Duration::from_millis(u64::from(self.settings.reply_delay_ms));
        let id = provider_message_id.clone();
        let (customer, business) = (request.to.clone(), request.from.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay / 2).await;
            let status = |status, error_code| SimulatorReport::Status {
                provider_message_id: id.clone(),
                status,
                error_code,
            };
            let _ = reports.send(status(DeliveryStatus::Sent, None));
            tokio::time::sleep(delay - delay / 2).await;
            if fails {
                let _ = reports.send(status(
                    DeliveryStatus::Undelivered,
                    Some(SIMULATED_FAILURE.to_owned()),
                ));
                return;
            }
            let _ = reports.send(status(DeliveryStatus::Delivered, None));
            if replies {
                tokio::time::sleep(reply_delay).await;
                let _ = reports.send(SimulatorReport::Reply {
                    from: customer,
                    to: business,
                    body: reply.to_owned(),
                });
            }
        });
        Ok(Accepted {
            provider_message_id,
            status: DeliveryStatus::Queued,
        })
    }

    /// The simulator's memory lives and dies with the process: a text whose hand-off outcome
    /// was lost (a crash) is not there, so sending it is safe.
    async fn lookup(&self, _: &SendRequest, _: Millis) -> Lookup {
        Lookup::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SendRequest {
        SendRequest {
            message_id: "m1".into(),
            from: PhoneNumber::parse("from", "+15550100000").unwrap(),
            to: PhoneNumber::parse("to", "+15550100001").unwrap(),
            body: "hello".into(),
            media_urls: Vec::new(),
            status_callback: None,
        }
    }

    async fn reports_after(settings: SimulatorSettings) -> Vec<SimulatorReport> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let simulator = Simulator::new(settings, tx);
        let accepted = simulator.send(&request()).await.unwrap();
        assert_eq!(accepted.status, DeliveryStatus::Queued);
        drop(simulator);
        let mut seen = Vec::new();
        while let Some(report) = rx.recv().await {
            seen.push(report);
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn delivers_after_the_delay() {
        let start = tokio::time::Instant::now();
        let reports = reports_after(SimulatorSettings::default()).await;
        let statuses: Vec<_> = reports
            .iter()
            .map(|r| match r {
                SimulatorReport::Status { status, .. } => *status,
                SimulatorReport::Reply { .. } => panic!("no replies asked for"),
            })
            .collect();
        assert_eq!(statuses, [DeliveryStatus::Sent, DeliveryStatus::Delivered]);
        assert_eq!(start.elapsed(), Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn fails_and_replies_by_share() {
        let failing = SimulatorSettings {
            failure_percent: 100,
            ..SimulatorSettings::default()
        };
        let reports = reports_after(failing).await;
        assert!(matches!(
            reports.last(),
            Some(SimulatorReport::Status { status: DeliveryStatus::Undelivered, error_code: Some(code), .. }) if code == SIMULATED_FAILURE
        ));
        let chatty = SimulatorSettings {
            reply_percent: 100,
            ..SimulatorSettings::default()
        };
        let reports = reports_after(chatty).await;
        match reports.last() {
            Some(SimulatorReport::Reply { from, to, body }) => {
                assert_eq!(from.as_str(), "+15550100001");
                assert_eq!(to.as_str(), "+15550100000");
                assert!(REPLIES.contains(&body.as_str()));
            }
            other => panic!("expected a reply, got {other:?}"),
        }
        let quitting = SimulatorSettings {
            reply_percent: 100,
            opt_out_percent: 100,
            ..SimulatorSettings::default()
        };
        match reports_after(quitting).await.last() {
            Some(SimulatorReport::Reply { body, .. }) => assert_eq!(body, "STOP"),
            other => panic!("expected a STOP, got {other:?}"),
        }
    }
}
