//! The in-memory store: the embedded default when no Redis is configured, with exactly the
//! Redis store's semantics (the same contract suite runs against both). Not durable: a
//! restart forgets everything, which the server says at start-up.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    CommitOutcome, ConfigDoc, ConfigWrite, ConversationCommit, ConversationDoc, DeliveryWrite,
    DueTimer, Expect, NewEvent, ROUTING_HISTORY_CAP, ResourceKind, ResourceRef, Store, StoreError,
    StoredEvent, TimerChange, UniqueKey,
};

/// How many events the journal keeps before dropping the oldest (the Redis stream's cap).
pub const JOURNAL_CAP: usize = 100_000;

#[derive(Debug, Clone)]
struct Doc {
    revision: u64,
    body: String,
    refs: Vec<ResourceRef>,
    uniques: Vec<(String, String)>,
    owner: Option<ResourceRef>,
}

#[derive(Debug, Default)]
struct State {
    docs: BTreeMap<ResourceRef, Doc>,
    uniques: HashMap<(ResourceKind, String, String), String>,
    referenced_by: HashMap<ResourceRef, BTreeSet<ResourceRef>>,
    children: HashMap<ResourceRef, BTreeSet<ResourceRef>>,
    conversations: HashMap<String, String>,
    conversation_ids: BTreeSet<String>,
    messages: HashMap<String, Vec<String>>,
    /// Each conversation's routing history, newest last.
    routing: HashMap<String, std::collections::VecDeque<String>>,
    /// Daily counters by (scope, day), then field.
    counters: HashMap<(String, String), BTreeMap<String, u64>>,
    open_index: HashMap<(String, String), String>,
    open: BTreeSet<String>,
    /// Provider message ids stored, with the conversation each went to.
    seen_messages: HashMap<String, String>,
    journal: VecDeque<StoredEvent>,
    last_event: u64,
    timers: BTreeSet<(i64, String, String)>,
    timer_at: HashMap<(String, String), i64>,
    runtime: BTreeMap<(String, String), String>,
    closed: bool,
    /// Internal chat threads.
    chats: HashMap<String, VecDeque<String>>,
    /// Idempotency keys: value and expiry (ms since the epoch).
    idempotency: HashMap<String, (String, u128)>,
    /// The outbox: message ids by the order they entered it.
    outbox: BTreeMap<u64, String>,
    outbox_position: HashMap<String, u64>,
    outbox_seq: u64,
    /// Delivery records by message id.
    deliveries: HashMap<String, String>,
    /// Message ids by provider message id.
    delivery_links: HashMap<String, String>,
    /// Events kept; 0 means [`JOURNAL_CAP`].
    journal_cap: usize,
}

impl State {
    fn journal_push(&mut self, event: NewEvent) -> u64 {
        self.last_event += 1;
        let id = self.last_event;
        self.journal.push_back(StoredEvent {
            id,
            kind: event.kind,
            at: event.at,
            data: event.data,
        });
        let cap = if self.journal_cap == 0 {
            JOURNAL_CAP
        } else {
            self.journal_cap
        };
        if self.journal.len() > cap {
            self.journal.pop_front();
        }
        id
    }

    fn remove(&mut self, target: &ResourceRef) {
        let Some(doc) = self.docs.remove(target) else {
            return;
        };
        for r in &doc.refs {
            if let Some(users) = self.referenced_by.get_mut(r) {
                users.remove(target);
            }
        }
        for (field, value) in doc.uniques {
            self.uniques.remove(&(target.kind, field, value));
        }
        if let Some(owner) = &doc.owner
            && let Some(children) = self.children.get_mut(owner)
        {
            children.remove(target);
        }
        self.referenced_by.remove(target);
    }
}

/// The in-memory implementation of [`Store`]. Cloning shares the data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    journal_tap: Arc<super::JournalTap>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose journal keeps only the newest `cap` events (tests of readers
    /// that fall further behind than the journal reaches).
    pub fn with_journal_cap(cap: usize) -> Self {
        let store = Self::default();
        if let Ok(mut state) = store.state.lock() {
            state.journal_cap = cap.max(1);
        }
        store
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        // A poisoned lock means a panic mid-change in this process; the state may be half
        // written, so refuse service rather than serve it.
        let state = self
            .state
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))?;
        if state.closed {
            return Err(StoreError::Unavailable("store closed".into()));
        }
        Ok(state)
    }

    /// What writes through [`super::AnyStore`] journaled (see
    /// [`super::AnyStore::journal_tap`]).
    pub fn journal_tap(&self) -> Arc<super::JournalTap> {
        self.journal_tap.clone()
    }
}

/// Wall-clock milliseconds, for expiries (as Redis keeps them: real time, not the engine's
/// clock).
fn wall_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn uniques_of(write: &[UniqueKey]) -> Vec<(String, String)> {
    write
        .iter()
        .map(|u| (u.field.to_owned(), u.value.clone()))
        .collect()
}

impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    async fn config_get(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .docs
            .get(&ResourceRef::new(kind, id))
            .map(|doc| ConfigDoc {
                kind,
                id: id.to_owned(),
                revision: doc.revision,
                body: doc.body.clone(),
            }))
    }

    async fn config_list(
        &self,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        let start = ResourceRef::new(kind, after.unwrap_or(""));
        Ok(state
            .docs
            .range(start..)
            .skip_while(|(r, _)| after.is_some_and(|a| r.id == a))
            .take_while(|(r, _)| r.kind == kind)
            .take(limit)
            .map(|(r, doc)| ConfigDoc {
                kind,
                id: r.id.clone(),
                revision: doc.revision,
                body: doc.body.clone(),
            })
            .collect())
    }

    async fn config_find_unique(
        &self,
        kind: ResourceKind,
        field: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .uniques
            .get(&(kind, field.to_owned(), value.to_owned()))
            .cloned())
    }

    async fn config_put(&self, write: ConfigWrite) -> Result<u64, StoreError> {
        let mut state = self.lock()?;
        let target = ResourceRef::new(write.kind, write.id.clone());
        let current = state.docs.get(&target).map(|d| d.revision);
        match (write.expect, current) {
            (Expect::Absent, Some(_)) => return Err(StoreError::AlreadyExists),
            (Expect::Revision(_), None) => return Err(StoreError::NotFound),
            (Expect::Revision(expected), Some(current)) if expected != current => {
                return Err(StoreError::RevisionMismatch { current });
            }
            _ => {}
        }
        for r in write.refs.iter().chain(&write.owner) {
            if !state.docs.contains_key(r) {
                return Err(StoreError::MissingReference(r.clone()));
            }
        }
        for u in &write.uniques {
            if let Some(holder) =
                state
                    .uniques
                    .get(&(write.kind, u.field.to_owned(), u.value.clone()))
                && *holder != write.id
            {
                return Err(StoreError::UniqueTaken {
                    field: u.field.to_owned(),
                    value: u.value.clone(),
                    holder: holder.clone(),
                });
            }
        }

        if let Some(old) = state.docs.get(&target).cloned() {
            for r in &old.refs {
                if let Some(users) = state.referenced_by.get_mut(r) {
                    users.remove(&target);
                }
            }
            for (field, value) in old.uniques {
                state.uniques.remove(&(write.kind, field, value));
            }
        }
        for r in &write.refs {
            state
                .referenced_by
                .entry(r.clone())
                .or_default()
                .insert(target.clone());
        }
        for u in &write.uniques {
            state.uniques.insert(
                (write.kind, u.field.to_owned(), u.value.clone()),
                write.id.clone(),
            );
        }
        if let Some(owner) = &write.owner {
            state
                .children
                .entry(owner.clone())
                .or_default()
                .insert(target.clone());
        }
        let revision = current.unwrap_or(0) + 1;
        let doc = Doc {
            revision,
            body: write.body,
            uniques: uniques_of(&write.uniques),
            refs: write.refs,
            owner: write.owner,
        };
        state.docs.insert(target, doc);
        Ok(revision)
    }

    async fn config_delete(&self, kind: ResourceKind, id: &str) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let target = ResourceRef::new(kind, id);
        if !state.docs.contains_key(&target) {
            return Err(StoreError::NotFound);
        }
        if let Some(users) = state.referenced_by.get(&target).filter(|u| !u.is_empty()) {
            // Ordered as text, like the Redis store's reply.
            let mut users: Vec<ResourceRef> = users.iter().cloned().collect();
            users.sort_by_key(ToString::to_string);
            return Err(StoreError::InUse(users));
        }
        for child in state.children.remove(&target).unwrap_or_default() {
            state.remove(&child);
        }
        state.remove(&target);
        Ok(())
    }

    async fn config_owned(&self, owner: &ResourceRef) -> Result<Vec<ConfigDoc>, StoreError> {
        let state = self.lock()?;
        let Some(children) = state.children.get(owner) else {
            return Ok(Vec::new());
        };
        Ok(children
            .iter()
            .filter_map(|child| {
                state.docs.get(child).map(|doc| ConfigDoc {
                    kind: child.kind,
                    id: child.id.clone(),
                    revision: doc.revision,
                    body: doc.body.clone(),
                })
            })
            .collect())
    }

    async fn conversation_open_or_get(
        &self,
        number_id: &str,
        customer: &str,
        candidate: &str,
    ) -> Result<(String, bool), StoreError> {
        let mut state = self.lock()?;
        let key = (number_id.to_owned(), customer.to_owned());
        if let Some(existing) = state.open_index.get(&key) {
            return Ok((existing.clone(), false));
        }
        state.open_index.insert(key, candidate.to_owned());
        Ok((candidate.to_owned(), true))
    }

    async fn conversation_get(&self, id: &str) -> Result<Option<ConversationDoc>, StoreError> {
        let state = self.lock()?;
        Ok(state.conversations.get(id).map(|body| ConversationDoc {
            id: id.to_owned(),
            body: body.clone(),
        }))
    }

    async fn conversations_get(&self, ids: &[String]) -> Result<Vec<ConversationDoc>, StoreError> {
        let state = self.lock()?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                state.conversations.get(id).map(|body| ConversationDoc {
                    id: id.clone(),
                    body: body.clone(),
                })
            })
            .collect())
    }

    async fn conversation_commit(
        &self,
        commit: ConversationCommit,
    ) -> Result<CommitOutcome, StoreError> {
        let mut state = self.lock()?;
        let index_key = (commit.number_id, commit.customer);
        let holder = state.open_index.get(&index_key).cloned();
        if !commit.guard.admits(&commit.id, holder.as_deref()) {
            return Ok(CommitOutcome::Taken { holder });
        }
        if let Some(provider_id) = &commit.provider_message_id {
            if let Some(original) = state.seen_messages.get(provider_id) {
                return Ok(CommitOutcome::Duplicate {
                    original: Some(original.clone()),
                });
            }
            state
                .seen_messages
                .insert(provider_id.clone(), commit.id.clone());
        }
        let unchanged = commit.body.is_none();
        if let Some(body) = commit.body {
            state.conversation_ids.insert(commit.id.clone());
            state.conversations.insert(commit.id.clone(), body);
        }
        if let Some(message) = commit.message {
            state
                .messages
                .entry(commit.id.clone())
                .or_default()
                .push(message);
        }
        if let Some(decision) = commit.routing {
            let history = state.routing.entry(commit.id.clone()).or_default();
            history.push_back(decision);
            while history.len() > ROUTING_HISTORY_CAP {
                history.pop_front();
            }
        }
        if let Some(item) = commit.outbox {
            state.outbox_seq += 1;
            let seq = state.outbox_seq;
            state.outbox.insert(seq, item.message_id.clone());
            state.outbox_position.insert(item.message_id.clone(), seq);
            state.deliveries.insert(item.message_id, item.record);
        }
        if unchanged {
            // The document and its indexes stay as they are.
        } else if commit.closed {
            state.open.remove(&commit.id);
            if state.open_index.get(&index_key) == Some(&commit.id) {
                state.open_index.remove(&index_key);
            }
        } else {
            state.open.insert(commit.id.clone());
            state
                .open_index
                .entry(index_key)
                .or_insert_with(|| commit.id.clone());
        }
        for change in commit.timers {
            let kind = match &change {
                TimerChange::Arm { kind, .. } | TimerChange::Disarm { kind } => kind.clone(),
            };
            let slot = (commit.id.clone(), kind.clone());
            if let Some(at) = state.timer_at.remove(&slot) {
                state.timers.remove(&(at, commit.id.clone(), kind.clone()));
            }
            if let TimerChange::Arm { at, .. } = change {
                state.timers.insert((at, commit.id.clone(), kind));
                state.timer_at.insert(slot, at);
            }
        }
        if let Some(bump) = commit.counters {
            let counters = state.counters.entry((bump.scope, bump.day)).or_default();
            for field in bump.fields {
                *counters.entry(field).or_default() += 1;
            }
        }
        let event_ids = commit
            .events
            .into_iter()
            .map(|event| state.journal_push(event))
            .collect();
        Ok(CommitOutcome::Stored {
            event_ids,
            // One process: its catalog knows every change already.
            catalog_version: None,
        })
    }

    async fn counters(
        &self,
        scope: &str,
        day: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .counters
            .get(&(scope.to_owned(), day.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn events_append(&self, events: Vec<NewEvent>) -> Result<Vec<u64>, StoreError> {
        let mut state = self.lock()?;
        Ok(events
            .into_iter()
            .map(|event| state.journal_push(event))
            .collect())
    }

    async fn conversation_messages(
        &self,
        id: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .messages
            .get(id)
            .map(|m| m.iter().skip(from).take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn conversations_open(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock()?.open.iter().cloned().collect())
    }

    async fn conversation_routing(&self, id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()?
            .routing
            .get(id)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.lock()?;
        // Ids are dense and ordered, so the position of `after` is a subtraction away.
        let first = state.journal.front().map_or(0, |e| e.id);
        let skip = usize::try_from((after + 1).saturating_sub(first)).unwrap_or(usize::MAX);
        Ok(state
            .journal
            .iter()
            .skip(skip)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn events_last(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.last_event)
    }

    async fn events_oldest(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.lock()?.journal.front().map(|e| e.id))
    }

    async fn timers_due(&self, now: i64, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .timers
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .take(limit)
            .map(|(at, conversation, kind)| DueTimer {
                conversation: conversation.clone(),
                kind: kind.clone(),
                at: *at,
            })
            .collect())
    }

    async fn runtime_put(
        &self,
        kind: &str,
        id: &str,
        body: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut state = self.lock()?;
        state
            .runtime
            .insert((kind.to_owned(), id.to_owned()), body.to_owned());
        Ok(events
            .into_iter()
            .map(|event| state.journal_push(event))
            .collect())
    }

    async fn runtime_all(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .runtime
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, id), body)| (id.clone(), body.clone()))
            .collect())
    }

    async fn runtime_get_many(
        &self,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let state = self.lock()?;
        Ok(ids
            .iter()
            .map(|id| state.runtime.get(&(kind.to_owned(), id.clone())).cloned())
            .collect())
    }

    async fn runtime_get(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()?
            .runtime
            .get(&(kind.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn chat_append(
        &self,
        thread: &str,
        entry: &str,
        cap: usize,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut state = self.lock()?;
        let chat = state.chats.entry(thread.to_owned()).or_default();
        chat.push_back(entry.to_owned());
        while chat.len() > cap.max(1) {
            chat.pop_front();
        }
        Ok(events
            .into_iter()
            .map(|event| state.journal_push(event))
            .collect())
    }

    async fn chat_messages(
        &self,
        thread: &str,
        from: usize,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()?
            .chats
            .get(thread)
            .map(|c| c.iter().skip(from).take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        pending: &str,
        lease_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        let mut state = self.lock()?;
        let now = wall_ms();
        if state.idempotency.len() > 10_000 {
            state.idempotency.retain(|_, (_, until)| *until > now);
        }
        match state.idempotency.get(key) {
            Some((value, until)) if *until > now => Ok(Some(value.clone())),
            _ => {
                let until = now + u128::from(lease_ms.max(1));
                state
                    .idempotency
                    .insert(key.to_owned(), (pending.to_owned(), until));
                Ok(None)
            }
        }
    }

    async fn idempotency_finish(
        &self,
        key: &str,
        answer: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let until = wall_ms() + u128::from(ttl_secs.max(1)) * 1000;
        self.lock()?
            .idempotency
            .insert(key.to_owned(), (answer.to_owned(), until));
        Ok(())
    }

    async fn idempotency_release(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.idempotency.remove(key);
        Ok(())
    }

    async fn outbox_pending(&self) -> Result<Vec<String>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .outbox
            .values()
            .filter_map(|id| state.deliveries.get(id).cloned())
            .collect())
    }

    async fn delivery_put(&self, write: DeliveryWrite) -> Result<Vec<u64>, StoreError> {
        let mut state = self.lock()?;
        if write.settled
            && let Some(seq) = state.outbox_position.remove(&write.message_id)
        {
            state.outbox.remove(&seq);
        }
        if let Some(provider_id) = write.provider_message_id {
            state
                .delivery_links
                .insert(provider_id, write.message_id.clone());
        }
        state.deliveries.insert(write.message_id, write.record);
        Ok(write
            .events
            .into_iter()
            .map(|event| state.journal_push(event))
            .collect())
    }

    async fn deliveries(&self, message_ids: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        let state = self.lock()?;
        Ok(message_ids
            .iter()
            .map(|id| state.deliveries.get(id).cloned())
            .collect())
    }

    async fn delivery_by_provider_id(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()?
            .delivery_links
            .get(provider_message_id)
            .cloned())
    }

    async fn conversations_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConversationDoc>, StoreError> {
        use std::ops::Bound;
        let state = self.lock()?;
        let start = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_owned()));
        Ok(state
            .conversation_ids
            .range((start, Bound::Unbounded))
            .take(limit)
            .filter_map(|id| {
                state.conversations.get(id).map(|body| ConversationDoc {
                    id: id.clone(),
                    body: body.clone(),
                })
            })
            .collect())
    }

    async fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
    }
}
