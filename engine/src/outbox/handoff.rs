//! Handing texts to providers: the opt-out check, the `sending` mark, the request (or the
//! lookup of one whose answer was lost), and what each outcome does to the text — accepted,
//! retried with backoff, refused for good, or the customer unsubscribed.

use super::delivery::{Delivery, DeliveryStatus};
use super::pacing::Start;
use super::worker::{Command, HandOff, Worker};
use crate::domain::{Number, PhoneNumber, ProviderAccount};
use crate::metrics::metrics;
use crate::routing::Millis;
use crate::runtime::EngineError;
use crate::sms::provider::{AnyProvider, Lookup, SendError, SendRequest, SmsProvider};
use crate::store::Store;

impl Worker {
    /// Hands a text off (or, when an earlier hand-off's outcome was lost, asks the provider
    /// whether it has it).
    pub(super) async fn start(&mut self, start: Start) {
        let Some(mut delivery) = self.held.get(&start.message_id).cloned() else {
            self.pacer.finish(&start.message_id);
            return;
        };
        let now = self.context.now();
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
        let scope = number.opt_out_scope();
        let checked_at = self.context.contacts().stop_mark();
        let opted_out = if lost_before {
            Ok(false)
        } else {
            self.context
                .contacts()
                .opted_out(&delivery.to, &scope)
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
        if let Err(e) = self.context.store().delivery_put(write).await {
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
        // A STOP may have been stored while the text was being marked: when this process
        // stored one for the customer since the check above, ask the store once more, just
        // before the send, so that a STOP acknowledged meanwhile is not followed by the send
        // (a STOP taken by another process relies on the check above). Should the store fail
        // to answer now, the check a moment ago stands.
        if !lost_before
            && self
                .context
                .contacts()
                .stopped_since(&delivery.to, &scope, checked_at)
            && let Ok(true) = self
                .context
                .contacts()
                .opted_out(&delivery.to, &scope)
                .await
        {
            delivery.attempts -= 1;
            delivery.fail(
                "recipient_opted_out",
                "the customer opted out (STOP) before the text left; it was not sent",
                self.context.now(),
            );
            return self.settle(delivery).await;
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
    pub(super) async fn provider(&self, number: &Number) -> Result<AnyProvider, EngineError> {
        let account = match &number.provider_account_id {
            Some(id) => self
                .context
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
    pub(super) async fn later(&mut self, mut delivery: Delivery, reason: &str) {
        tracing::warn!(message_id = %delivery.message_id, reason, "text held back; retrying");
        let retry_at = self.context.now() + self.config.first_backoff.as_millis() as Millis;
        delivery.retry_at = retry_at;
        self.pacer.retry(&delivery.message_id, retry_at);
        self.held.insert(delivery.message_id.clone(), delivery);
    }

    pub(super) async fn finished(&mut self, message_id: &str, result: HandOff) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(mut delivery) = self.held.get(message_id).cloned() else {
            return;
        };
        let now = self.context.now();
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
                observe_handoff(&delivery, "accepted", now);
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
                    .context
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
    pub(super) async fn retry(&mut self, mut delivery: Delivery, at: Millis) {
        let now = self.context.now();
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
    pub(super) async fn settle(&mut self, delivery: Delivery) {
        if delivery.status == DeliveryStatus::Failed {
            metrics().outbound_sms.with_label_values(&["failed"]).inc();
            // Never accepted by the provider: the hand-off failed, and so did delivery.
            if delivery.provider_message_id.is_none() {
                observe_handoff(&delivery, "failed", delivery.updated_at);
            }
            observe_delivery(&delivery, "failed", delivery.updated_at);
        }
        let event = self.status_event(&delivery);
        let write = self.write(&delivery, true, vec![event]);
        self.save(write).await;
        self.pacer.finish(&delivery.message_id);
        self.held.remove(&delivery.message_id);
    }

    /// Fails the waiting texts to `phone` on numbers whose opt-outs `scope` covers.
    pub(super) async fn drop_opted_out(&mut self, scope: &str, phone: &PhoneNumber) {
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
                    self.context.now(),
                );
                self.settle(delivery).await;
            }
        }
    }
}

/// Counts how long a text took from the outbox to the provider's answer on its hand-off.
fn observe_handoff(delivery: &Delivery, outcome: &str, at: Millis) {
    metrics()
        .outbound_handoff
        .with_label_values(&[provider_label(delivery), outcome])
        .observe((at - delivery.created_at).max(0) as f64 / 1000.0);
}

/// Counts how long a text took from the outbox to its final report.
pub(super) fn observe_delivery(delivery: &Delivery, outcome: &str, at: Millis) {
    metrics()
        .outbound_delivery
        .with_label_values(&[provider_label(delivery), outcome])
        .observe((at - delivery.created_at).max(0) as f64 / 1000.0);
}

/// The provider label of a delivery (`none` before one was chosen).
fn provider_label(delivery: &Delivery) -> &str {
    delivery.provider.as_deref().unwrap_or("none")
}
