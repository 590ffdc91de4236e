//! Persistence: the `Store` trait and its two implementations, Redis (production) and memory
//! (the embedded default and unit tests), which pass the same contract suite.
//!
//! The trait speaks in stored documents, not domain types: the catalog (and later the
//! routing engine) owns serialisation, so the two stores cannot drift apart in what they
//! understand of a resource.

mod any;
mod conversation_types;
mod error;
mod journal_tap;
pub mod keys;
mod memory;
mod redis;
mod types;

pub use any::AnyStore;
pub use conversation_types::{
    CommitOutcome, ConversationCommit, ConversationDoc, CounterBump, DeliveryWrite, DueTimer,
    NewEvent, OpenGuard, OutboxItem, ROUTING_HISTORY_CAP, StoredEvent, TimerChange,
};
pub use error::StoreError;
pub use journal_tap::{JournalTap, TAP_LIMIT};
pub use memory::{JOURNAL_CAP, MemoryStore};
pub use redis::{RedisStore, RedisStoreConfig};
pub use types::{ConfigDoc, ConfigWrite, Expect, ResourceKind, ResourceRef, UniqueKey};

use std::future::Future;

/// The operations every store offers. Each write is atomic: it happens whole or not at all,
/// and its checks (existence, revision, references, uniqueness) hold at the moment it lands.
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the store can serve requests now — writes included: a store that
    /// answers but refuses writes (out of memory, a read-only replica) fails it.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A configuration document by kind and id.
    fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<ConfigDoc>, StoreError>> + Send;

    /// Up to `limit` documents of a kind in id order, starting after `after`.
    fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ConfigDoc>, StoreError>> + Send;

    /// The id of the document of `kind` whose unique `field` has `value`, if any.
    fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Creates or replaces a document, checking `write.expect`, that every reference and the
    /// owner exist, and that no other document of the kind holds one of its unique values.
    /// Returns the new revision.
    fn config_put(
        &self,
        write: ConfigWrite,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes a document and the documents it owns, unless another document references it
    /// (then [`StoreError::InUse`] names them all).
    fn config_delete(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every document owned by `owner` (see [`ConfigWrite::owner`]), in id order.
    fn config_owned(
        &self,
        owner: &ResourceRef,
    ) -> impl Future<Output = Result<Vec<ConfigDoc>, StoreError>> + Send;

    /// The open conversation of `customer` with business number `number_id`, or — when there
    /// is none — `candidate`, which becomes it. Atomic: two first texts racing each other
    /// open one conversation. Returns the id and whether it is `candidate`.
    fn conversation_open_or_get(
        &self,
        number_id: &str,
        customer: &str,
        candidate: &str,
    ) -> impl Future<Output = Result<(String, bool), StoreError>> + Send;

    /// A conversation's document.
    fn conversation_get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ConversationDoc>, StoreError>> + Send;

    /// The documents of `ids` that exist, in the order asked, in one round trip (recovery
    /// reads the open conversations in batches of these).
    fn conversations_get(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<ConversationDoc>, StoreError>> + Send;

    /// Stores one change of a conversation atomically (see [`ConversationCommit`]).
    fn conversation_commit(
        &self,
        commit: ConversationCommit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;

    /// Up to `limit` messages of a conversation's thread, from position `from`.
    fn conversation_messages(
        &self,
        id: &str,
        from: usize,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// A conversation's routing history, oldest first (the newest
    /// [`ROUTING_HISTORY_CAP`] decisions).
    fn conversation_routing(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The ids of every open conversation (for recovery after a restart).
    fn conversations_open(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Journals events that change no stored document (an agent's presence, say); returns
    /// their ids.
    fn events_append(
        &self,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// Up to `limit` journaled events with ids above `after`, in order.
    fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The id of the newest event journaled (0 before the first).
    fn events_last(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The id of the oldest event the journal still holds (it is capped), if any.
    fn events_oldest(&self) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The daily counters of `scope` for the UTC `day` (`YYYY-MM-DD`), by field; empty when
    /// nothing was counted.
    fn counters(
        &self,
        scope: &str,
        day: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, u64>, StoreError>> + Send;

    /// Armed timers due at or before `now`, earliest first, at most `limit`.
    fn timers_due(
        &self,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueTimer>, StoreError>> + Send;

    /// Saves a piece of runtime state (an agent's presence and logins, say) under `kind`/`id`,
    /// journaling `events` in the same atomic step; returns the events' ids.
    fn runtime_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// Every piece of runtime state of `kind`, as `(id, body)`, in id order.
    fn runtime_all(
        &self,
        kind: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// Several pieces of runtime state of `kind`, in the order of `ids` (`None` where none
    /// is saved): one round trip per thousand.
    fn runtime_get_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Option<String>>, StoreError>> + Send;

    /// One piece of runtime state of `kind`, if saved.
    fn runtime_get(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Up to `limit` conversation documents, open and closed, in id order (which is the order
    /// they opened in: ids are ULIDs), starting after `after`.
    fn conversations_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ConversationDoc>, StoreError>> + Send;

    /// Appends an entry to an internal chat thread (keeping its newest `cap` entries) and
    /// journals `events` in the same atomic step; returns the events' ids.
    fn chat_append(
        &self,
        thread: &str,
        entry: &str,
        cap: usize,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// Up to `limit` entries of a chat thread, from position `from` (oldest first).
    fn chat_messages(
        &self,
        thread: &str,
        from: usize,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Claims an idempotency key for a request with `fingerprint`: the first caller gets
    /// `None` and holds the key for `lease_ms` (or until [`Store::idempotency_finish`]);
    /// later callers get the value stored under it (the pending claim or the finished answer).
    fn idempotency_begin(
        &self,
        key: &str,
        pending: &str,
        lease_ms: u64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores the answer under a claimed key for `ttl_secs`.
    fn idempotency_finish(
        &self,
        key: &str,
        answer: &str,
        ttl_secs: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a claimed key up (the request failed in a way worth retrying).
    fn idempotency_release(&self, key: &str)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The delivery records still in the outbox, in the order they entered it.
    fn outbox_pending(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Stores a delivery record (see [`DeliveryWrite`]); returns its events' ids.
    fn delivery_put(
        &self,
        write: DeliveryWrite,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// The delivery records of these messages, in the same order (`None` for a message that
    /// has none: an inbound one, a note).
    fn deliveries(
        &self,
        message_ids: &[String],
    ) -> impl Future<Output = Result<Vec<Option<String>>, StoreError>> + Send;

    /// The message id a provider's message id belongs to.
    fn delivery_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Releases resources at shutdown; calls after it may fail.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
