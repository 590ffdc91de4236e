//! The thread read model: a conversation's entries as stored, with each outbound text's
//! delivery shown as its delivery record has it now.

use ::protocol::thread::ThreadEntry;

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
    ) -> Result<Vec<ThreadEntry>, EngineError> {
        let raw = self
            .inner
            .store
            .conversation_messages(conversation.as_str(), from, limit)
            .await?;
        let mut entries: Vec<ThreadEntry> = raw
            .iter()
            .map(|entry| read_entry(entry).map_err(EngineError::Store))
            .collect::<Result<_, _>>()?;
        self.with_deliveries(&mut entries).await?;
        Ok(entries)
    }

    /// Shows each outbound entry's delivery as its delivery record has it now.
    async fn with_deliveries(&self, entries: &mut [ThreadEntry]) -> Result<(), EngineError> {
        let ids: Vec<String> = entries
            .iter()
            .filter_map(|entry| match entry {
                ThreadEntry::Outbound(message) => Some(message.id.clone()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut records = self.inner.store.deliveries(&ids).await?.into_iter();
        for entry in entries {
            let ThreadEntry::Outbound(message) = entry else {
                continue;
            };
            let record = records.next().flatten();
            if let Some(delivery) =
                record.and_then(|r| serde_json::from_str::<crate::outbox::Delivery>(&r).ok())
            {
                delivery.show_on(message);
            }
        }
        Ok(())
    }
}

/// One stored thread entry. Opt-out entries written before entries were typed lack their
/// `kind` (they said `reason: opted_out`); they read as what they are.
fn read_entry(stored: &str) -> Result<ThreadEntry, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    serde_json::from_str(stored).or_else(|first| {
        let mut value: serde_json::Value = serde_json::from_str(stored).map_err(corrupt)?;
        let old_opt_out = value["direction"] == "system" && value["reason"] == "opted_out";
        if !old_opt_out {
            return Err(corrupt(first));
        }
        if let Some(fields) = value.as_object_mut() {
            fields.remove("reason");
            fields.insert("kind".into(), "opted_out".into());
        }
        serde_json::from_value(value).map_err(corrupt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_their_type_including_old_opt_outs() {
        let inbound = r#"{"id":"e1","direction":"inbound","body":"hi","encoding":"gsm7","segments":1,"media_urls":[],"provider_message_id":null,"at":1795456831000}"#;
        assert!(matches!(read_entry(inbound), Ok(ThreadEntry::Inbound(_))));
        let old =
            r#"{"id":"e2","direction":"system","body":"opted out","reason":"opted_out","at":5}"#;
        assert!(matches!(read_entry(old), Ok(ThreadEntry::OptedOut(_))));
        let transfer = r#"{"id":"e3","direction":"system","kind":"transfer","from_agent_id":"ann","by_agent_id":null,"to":{"queue_id":"q"},"note":null,"at":"2026-11-23T10:00:00.000Z"}"#;
        assert!(matches!(read_entry(transfer), Ok(ThreadEntry::Transfer(_))));
        assert!(read_entry(r#"{"direction":"sideways"}"#).is_err());
    }
}
