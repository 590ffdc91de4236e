//! Internal chat between agents (the Message Center's agent-to-agent chat): never sent to a
//! customer. One thread per pair of agents, capped at its newest entries; every message is
//! journaled as `chat.message`, which only the two agents' sessions receive.

use ::protocol::event::{ChatMessage, Event};
use ::protocol::thread::ChatEntry;

use crate::domain::AgentId;
use crate::routing::Millis;
use crate::store::{AnyStore, NewEvent, Store, StoreError};

/// Entries a thread keeps.
pub const THREAD_CAP: usize = 1000;

/// The thread id of a pair: the two ids in order, so both sides name the same thread.
pub fn thread_of(a: &AgentId, b: &AgentId) -> String {
    let (first, second) = if a.as_str() <= b.as_str() {
        (a, b)
    } else {
        (b, a)
    };
    format!("{first}|{second}")
}

/// Sends and reads internal chat. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Chat {
    store: AnyStore,
}

impl Chat {
    /// Chat over `store`.
    pub fn new(store: AnyStore) -> Self {
        Self { store }
    }

    /// Sends `body` from one agent to another at `now`; returns the entry.
    pub async fn send(
        &self,
        from: &AgentId,
        to: &AgentId,
        body: &str,
        now: Millis,
    ) -> Result<ChatEntry, StoreError> {
        let entry = ChatEntry {
            id: format!("ch_{}", ulid::Ulid::generate().to_string().to_lowercase()),
            from_agent_id: from.to_string(),
            to_agent_id: to.to_string(),
            body: body.to_owned(),
            at: ::protocol::time::from_millis(now),
        };
        let event = Event::ChatMessage(ChatMessage {
            from_agent_id: entry.from_agent_id.clone(),
            to_agent_id: entry.to_agent_id.clone(),
            message: entry.clone(),
        });
        let stored = serde_json::to_string(&entry).expect("chat entries serialise");
        self.store
            .chat_append(
                &thread_of(from, to),
                &stored,
                THREAD_CAP,
                vec![NewEvent::of(&event, now)],
            )
            .await?;
        Ok(entry)
    }

    /// Up to `limit` entries between two agents from position `from`, oldest first.
    pub async fn thread(
        &self,
        a: &AgentId,
        b: &AgentId,
        from: usize,
        limit: usize,
    ) -> Result<Vec<ChatEntry>, StoreError> {
        self.store
            .chat_messages(&thread_of(a, b), from, limit)
            .await?
            .iter()
            .map(|e| serde_json::from_str(e).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_name_the_same_thread() {
        let (ann, bob) = (
            AgentId::parse("ann").unwrap(),
            AgentId::parse("bob").unwrap(),
        );
        assert_eq!(thread_of(&ann, &bob), "ann|bob");
        assert_eq!(thread_of(&bob, &ann), "ann|bob");
    }

    #[tokio::test]
    async fn messages_read_back_in_order() {
        let chat = Chat::new(AnyStore::Memory(crate::store::MemoryStore::new()));
        let (ann, bob) = (
            AgentId::parse("ann").unwrap(),
            AgentId::parse("bob").unwrap(),
        );
        chat.send(&ann, &bob, "Can you take the Lopez text?", 1)
            .await
            .unwrap();
        chat.send(&bob, &ann, "Sure", 2).await.unwrap();
        let thread = chat.thread(&bob, &ann, 0, 10).await.unwrap();
        assert_eq!(thread.len(), 2);
        assert_eq!(thread[1].body, "Sure");
        assert_eq!(thread[1].from_agent_id, "bob");
    }
}
