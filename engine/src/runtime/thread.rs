//! The thread read model: a conversation's entries as stored, with each outbound text's
//! delivery shown as its delivery record has it now.

use serde_json::Value;

use super::engine::Engine;
use super::types::*;
use crate::domain::ConversationId;
use crate::store::{Store, StoreError};

impl Engine {
    /// The thread of a conversation: customer and agent messages, notes and system entries,
    /// oldest first, from position `from`.
    pub async fn thread(
        &self,
        conversation: &ConversationId,
        from: usize,
        limit: usize,
    ) -> Result<Vec<Value>, EngineError> {
        let raw = self
            .inner
            .store
            .conversation_messages(conversation.as_str(), from, limit)
            .await?;
        let mut entries: Vec<Value> = raw
            .iter()
            .map(|entry| {
                serde_json::from_str(entry)
                    .map_err(|e| EngineError::Store(StoreError::Corrupt(e.to_string())))
            })
            .collect::<Result<_, _>>()?;
        self.with_deliveries(&mut entries).await?;
        Ok(entries)
    }

    /// Shows each outbound entry's delivery as its delivery record has it now.
    pub async fn with_deliveries(&self, entries: &mut [Value]) -> Result<(), EngineError> {
        let outbound: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i]["direction"] == "outbound")
            .collect();
        let ids: Vec<String> = outbound
            .iter()
            .filter_map(|&i| entries[i]["id"].as_str().map(str::to_owned))
            .collect();
        if ids.len() != outbound.len() {
            return Ok(());
        }
        let records = self.inner.store.deliveries(&ids).await?;
        for (i, record) in outbound.into_iter().zip(records) {
            let Some(delivery) =
                record.and_then(|r| serde_json::from_str::<crate::outbox::Delivery>(&r).ok())
            else {
                continue;
            };
            if let (Value::Object(entry), Value::Object(summary)) =
                (&mut entries[i], delivery.summary())
            {
                entry.extend(summary);
            }
        }
        Ok(())
    }
}
