//! Delivery records: providers' reports on texts they have (forward only, or kept when they
//! beat the hand-off's answer), the `message.status` event, and writing records so that a
//! write the store refused is tried again rather than acted on twice.

use ::protocol::event::{Event, MessageStatus};

use super::delivery::{Delivery, DeliveryStatus};
use super::worker::{ReportOutcome, Worker};
use crate::metrics::metrics;
use crate::runtime::EngineError;
use crate::store::{DeliveryWrite, NewEvent, Store};

impl Worker {
    /// A provider's report on a text it has.
    pub(super) async fn report(
        &mut self,
        provider_message_id: &str,
        status: DeliveryStatus,
        error_code: Option<String>,
    ) -> Result<ReportOutcome, EngineError> {
        let store = self.context.store();
        let Some(message_id) = store.delivery_by_provider_id(provider_message_id).await? else {
            if self.in_flight == 0 {
                return Ok(ReportOutcome::UnknownMessage);
            }
            let now = self.context.now();
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
        if !delivery.report(status, error_code, self.context.now()) {
            return Ok(ReportOutcome::Unchanged);
        }
        metrics()
            .outbound_sms
            .with_label_values(&[delivery.status.as_str()])
            .inc();
        if matches!(
            delivery.status,
            DeliveryStatus::Delivered | DeliveryStatus::Undelivered | DeliveryStatus::Failed
        ) {
            super::handoff::observe_delivery(
                &delivery,
                delivery.status.as_str(),
                delivery.updated_at,
            );
        }
        let event = self.status_event(&delivery);
        let write = self.write(&delivery, true, vec![event]);
        self.context.store().delivery_put(write).await?;
        Ok(ReportOutcome::Updated)
    }

    pub(super) fn status_event(&self, delivery: &Delivery) -> NewEvent {
        let queue_id = self
            .context
            .directory()
            .queue_of(&delivery.conversation_id)
            .map(String::from);
        let event = Event::MessageStatus(MessageStatus {
            conversation_id: delivery.conversation_id.to_string(),
            queue_id,
            message_id: delivery.message_id.clone(),
            status: delivery.status,
            provider_message_id: delivery.provider_message_id.clone(),
            error_code: delivery.error_code.clone(),
            error_message: delivery.error_message.clone(),
            status_at: ::protocol::time::from_millis(delivery.updated_at),
        });
        NewEvent::of(&event, self.context.now())
    }

    pub(super) fn write(
        &self,
        delivery: &Delivery,
        settled: bool,
        events: Vec<NewEvent>,
    ) -> DeliveryWrite {
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
    pub(super) async fn save(&mut self, write: DeliveryWrite) {
        if let Err(e) = self.context.store().delivery_put(write.clone()).await {
            tracing::warn!(error = %e, "delivery record not stored yet; retrying");
            self.unsaved.push(write);
        }
    }

    pub(super) async fn retry_unsaved(&mut self) {
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
                .context
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
