//! One concrete store type for the server to hold, whichever backend the operator chose.
//! An enum rather than `dyn Store`: the trait's async methods stay zero-cost and the choice
//! is made once, at start-up.

use super::{
    CommitOutcome, ConfigDoc, ConfigWrite, ConversationCommit, ConversationDoc, DeliveryWrite,
    DueTimer, JournalTap, MemoryStore, NewEvent, RedisStore, ResourceKind, ResourceRef, Store,
    StoreError, StoredEvent,
};

/// Either store.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded, non-durable store.
    Memory(MemoryStore),
    /// Redis.
    Redis(RedisStore),
}

impl AnyStore {
    /// Whether data survives a restart of this process.
    pub fn is_durable(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// The same store for another thread: the memory store is shared as it is; Redis gets a
    /// connection of its own (see [`RedisStore::reopen`]).
    pub fn reopen(&self) -> Result<Self, StoreError> {
        Ok(match self {
            Self::Memory(store) => Self::Memory(store.clone()),
            Self::Redis(store) => Self::Redis(store.reopen()?),
        })
    }

    /// What writes through this process journaled, with their ids, once the store confirmed
    /// them: the event feed delivers these from memory and reads the journal only for what
    /// other processes wrote (see [`JournalTap`]).
    pub fn journal_tap(&self) -> std::sync::Arc<JournalTap> {
        match self {
            Self::Memory(store) => store.journal_tap(),
            Self::Redis(store) => store.journal_tap(),
        }
    }

    /// A copy of `events` for the tap, when a follower listens (a copy only then).
    fn tap_copy(&self, events: &[NewEvent]) -> Option<Vec<NewEvent>> {
        (!events.is_empty() && self.journal_tap().followed()).then(|| events.to_vec())
    }

    /// Hands a write's events to the tap (a copy exists only when a follower listens).
    fn journaled(&self, ids: &[u64], copy: Option<Vec<NewEvent>>) {
        if let Some(events) = copy {
            self.journal_tap().record(ids, events);
        }
    }

    /// A short name for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call.await,
            AnyStore::Redis($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping())
    }

    async fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<ConfigDoc>, StoreError> {
        dispatch!(self, s => s.config_get(kind, id))
    }

    async fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        dispatch!(self, s => s.config_list(kind, after, limit))
    }

    async fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.config_find_unique(kind, field, value))
    }

    async fn config_put(&self, write: ConfigWrite) -> Result<u64, StoreError> {
        dispatch!(self, s => s.config_put(write))
    }

    async fn config_delete(&self, kind: ResourceKind, id: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.config_delete(kind, id))
    }

    async fn config_owned(&self, owner: &ResourceRef) -> Result<Vec<ConfigDoc>, StoreError> {
        dispatch!(self, s => s.config_owned(owner))
    }

    async fn conversation_open_or_get(
        &self,
        number_id: &str,
        customer: &str,
        candidate: &str,
    ) -> Result<(String, bool), StoreError> {
        dispatch!(self, s => s.conversation_open_or_get(number_id, customer, candidate))
    }

    async fn conversation_get(&self, id: &str) -> Result<Option<ConversationDoc>, StoreError> {
        dispatch!(self, s => s.conversation_get(id))
    }

    async fn conversations_get(&self, ids: &[String]) -> Result<Vec<ConversationDoc>, StoreError> {
        dispatch!(self, s => s.conversations_get(ids))
    }

    async fn conversation_commit(
        &self,
        commit: ConversationCommit,
    ) -> Result<CommitOutcome, StoreError> {
        let copy = self.tap_copy(&commit.events);
        let outcome = dispatch!(self, s => s.conversation_commit(commit))?;
        if let CommitOutcome::Stored { event_ids, .. } = &outcome {
            self.journaled(event_ids, copy);
        }
        Ok(outcome)
    }

    async fn events_append(&self, events: Vec<NewEvent>) -> Result<Vec<u64>, StoreError> {
        let copy = self.tap_copy(&events);
        let ids = dispatch!(self, s => s.events_append(events))?;
        self.journaled(&ids, copy);
        Ok(ids)
    }

    async fn conversation_messages(
        &self,
        id: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.conversation_messages(id, from, limit))
    }

    async fn conversations_open(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.conversations_open())
    }

    async fn conversation_routing(&self, id: &str) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.conversation_routing(id))
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, s => s.events_after(after, limit))
    }

    async fn events_last(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.events_last())
    }

    async fn events_oldest(&self) -> Result<Option<u64>, StoreError> {
        dispatch!(self, s => s.events_oldest())
    }

    async fn counters(
        &self,
        scope: &str,
        day: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        dispatch!(self, s => s.counters(scope, day))
    }

    async fn timers_due(&self, now: i64, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        dispatch!(self, s => s.timers_due(now, limit))
    }

    async fn runtime_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let copy = self.tap_copy(&events);
        let ids = dispatch!(self, s => s.runtime_put(kind, id, body, events))?;
        self.journaled(&ids, copy);
        Ok(ids)
    }

    async fn runtime_all(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self, s => s.runtime_all(kind))
    }

    async fn runtime_get_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>, StoreError> {
        dispatch!(self, s => s.runtime_get_many(kind, ids))
    }

    async fn runtime_get(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.runtime_get(kind, id))
    }

    async fn chat_append(
        &self,
        thread: &str,
        entry: &str,
        cap: usize,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let copy = self.tap_copy(&events);
        let ids = dispatch!(self, s => s.chat_append(thread, entry, cap, events))?;
        self.journaled(&ids, copy);
        Ok(ids)
    }

    async fn chat_messages(
        &self,
        thread: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.chat_messages(thread, from, limit))
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        pending: &str,
        lease_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.idempotency_begin(key, pending, lease_ms))
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        answer: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.idempotency_finish(key, answer, ttl_secs))
    }

    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.idempotency_release(key))
    }

    async fn conversations_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConversationDoc>, StoreError> {
        dispatch!(self, s => s.conversations_page(after, limit))
    }

    async fn outbox_pending(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.outbox_pending())
    }

    async fn delivery_put(&self, write: DeliveryWrite) -> Result<Vec<u64>, StoreError> {
        let copy = self.tap_copy(&write.events);
        let ids = dispatch!(self, s => s.delivery_put(write))?;
        self.journaled(&ids, copy);
        Ok(ids)
    }

    async fn deliveries(&self, message_ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        dispatch!(self, s => s.deliveries(message_ids))
    }

    async fn delivery_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self, s => s.delivery_by_provider_id(provider_message_id))
    }

    async fn close(&self) {
        dispatch!(self, s => s.close())
    }
}
