//! The event feed: follows the store's event journal and hands each event, with its
//! [`Audience`], to any number of live readers (websocket sessions) without each of them
//! reading the store.
//!
//! The journal is the truth and the feed only a window on it: a follower task takes the
//! events this process journaled from memory (the store's [`crate::store::JournalTap`]),
//! reads the journal only for other processes' events (a slow poll) and for holes, delivers
//! in id order, keeps the most recent ones in a ring, and bumps a `watch` with the newest id.
//! A reader keeps its own cursor (the last id it delivered) and asks [`EventFeed::after`] for
//! what follows: from the ring when the ring still reaches back that far, from the store's
//! journal otherwise, and — when even the journal has dropped events past the cursor — with
//! an explicit [`Gap`]. Readers that fall behind therefore never lose events silently, and
//! the feed holds one bounded ring however many readers there are.

pub mod audience;
pub mod involvement;
pub mod watchers;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::protocol::Event;
use tokio::sync::watch;
use tokio::time::Instant;

pub use audience::{Audience, AudienceResolver, Follow, Scope, Viewer};
pub use involvement::Involvement;
pub use watchers::{FeedClosed, Watcher, Watchers};

use crate::catalog::Catalog;
use crate::store::{AnyStore, Store, StoreError, StoredEvent};

/// One journaled event, parsed, with who may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Its journal id.
    pub id: u64,
    /// When it happened, milliseconds since the Unix epoch.
    pub at: i64,
    /// The event; `None` for a journal entry this version cannot read (written by a newer
    /// one, say): it keeps its place in the journal, and only the admin would see it.
    pub event: Option<Event>,
    /// Who may see it.
    pub audience: Audience,
}

/// Events the journal no longer holds: a reader that resumes after `after` cannot have the
/// ids up to `oldest - 1` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The cursor the reader asked from.
    pub after: u64,
    /// The oldest event still held; delivery continues from it.
    pub oldest: u64,
}

/// What follows a cursor.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Events after the cursor, in order (at most the limit asked for).
    pub events: Vec<Arc<FeedEvent>>,
    /// Set when events between the cursor and the first event returned are gone for good.
    pub gap: Option<Gap>,
}

/// Tuning of the feed.
#[derive(Debug, Clone, Copy)]
pub struct FeedConfig {
    /// Events kept in memory for readers.
    pub ring: usize,
    /// How often the journal is read even without a signal (events written by other
    /// processes).
    pub poll: Duration,
    /// Events read from the store per call.
    pub batch: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            ring: 20_000,
            poll: Duration::from_secs(1),
            batch: 500,
        }
    }
}

struct Inner {
    store: AnyStore,
    resolver: AudienceResolver,
    ring: RwLock<VecDeque<Arc<FeedEvent>>>,
    latest: watch::Sender<u64>,
    /// Whether the journal's newest id has been read and the follower runs.
    started: watch::Sender<bool>,
    watchers: Watchers,
    config: FeedConfig,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.watchers.close();
    }
}

/// The feed. Cloning shares it.
#[derive(Clone)]
pub struct EventFeed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field("latest", &*self.inner.latest.borrow())
            .finish_non_exhaustive()
    }
}

impl EventFeed {
    /// Starts following the journal of `store` from its newest event, on the current tokio
    /// runtime. `store` should be a connection of this runtime's own (see
    /// [`AnyStore::reopen`]); its journal signal is shared with every copy of the store.
    pub async fn start(
        store: AnyStore,
        catalog: Catalog<AnyStore>,
        config: FeedConfig,
    ) -> Result<Self, StoreError> {
        Self::start_with(store, AudienceResolver::new(catalog), config).await
    }

    /// [`EventFeed::start`] with a resolver of its own (one that knows the conversation
    /// directory, say).
    pub async fn start_with(
        store: AnyStore,
        resolver: AudienceResolver,
        config: FeedConfig,
    ) -> Result<Self, StoreError> {
        // Listening before the newest id is read: nothing journaled after it is missed.
        store.journal_tap().follow();
        let first_read = store.events_last().await;
        let feed = Self {
            inner: Arc::new(Inner {
                resolver,
                store,
                ring: RwLock::new(VecDeque::with_capacity(config.ring.min(4096))),
                latest: watch::Sender::new(*first_read.as_ref().unwrap_or(&0)),
                started: watch::Sender::new(first_read.is_ok()),
                watchers: Watchers::default(),
                config,
            }),
        };
        let follower = feed.clone();
        match first_read {
            Ok(last) => {
                tokio::spawn(async move { follower.follow(last).await });
            }
            Err(e) => {
                // The server starts without its store (Redis still loading, or not there yet)
                // and serves /healthz meanwhile; the feed starts when the journal answers.
                tracing::warn!(error = %e, "event feed waits for the store; retrying");
                tokio::spawn(async move { follower.start_when_reachable().await });
            }
        }
        Ok(feed)
    }

    /// Reads the journal's newest id until the store answers (backing off to a second), then
    /// follows from it.
    async fn start_when_reachable(self) {
        let mut wait = Duration::from_millis(50);
        loop {
            tokio::time::sleep(wait).await;
            match self.inner.store.events_last().await {
                Ok(last) => {
                    self.inner.latest.send_replace(last);
                    self.inner.started.send_replace(true);
                    tracing::info!(last, "event feed started");
                    return self.follow(last).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "event feed still waits for the store");
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Whether the feed follows the journal (it waits for the store when started without it).
    pub fn is_started(&self) -> bool {
        *self.inner.started.borrow()
    }

    /// Waits until the feed follows the journal.
    pub async fn started(&self) {
        let mut started = self.inner.started.subscribe();
        let _ = started.wait_for(|s| *s).await;
    }

    /// Registers a reader: its [`Watcher`] wakes when an event it may see arrives.
    pub fn watch(&self, viewer: Viewer) -> Arc<Watcher> {
        self.inner.watchers.register(viewer)
    }

    /// The newest event id the feed has seen.
    pub fn latest(&self) -> u64 {
        *self.inner.latest.borrow()
    }

    /// A receiver that changes whenever new events arrive.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.latest.subscribe()
    }

    /// The audience resolver (the beacon uses it for queues' teams).
    pub fn resolver(&self) -> &AudienceResolver {
        &self.inner.resolver
    }

    /// Up to `limit` events after `cursor`, in order: from memory when it reaches back far
    /// enough, from the store's journal otherwise.
    pub async fn after(&self, cursor: u64, limit: usize) -> Result<Batch, StoreError> {
        if let Some(events) = self.ring_after(cursor, limit) {
            return Ok(Batch { events, gap: None });
        }
        let stored = self.inner.store.events_after(cursor, limit).await?;
        let gap = match stored.first() {
            Some(first) if first.id > cursor + 1 => {
                // Ids are dense unless the journal dropped entries; ask it what it holds.
                let oldest = self.inner.store.events_oldest().await?.unwrap_or(first.id);
                (oldest > cursor + 1).then_some(Gap {
                    after: cursor,
                    oldest,
                })
            }
            None if cursor < self.latest() => {
                let oldest = self.inner.store.events_oldest().await?;
                oldest.filter(|o| *o > cursor + 1).map(|oldest| Gap {
                    after: cursor,
                    oldest,
                })
            }
            _ => None,
        };
        let mut events = Vec::with_capacity(stored.len());
        for event in stored {
            events.push(Arc::new(self.parse(event, Reading::Replay).await));
        }
        Ok(Batch { events, gap })
    }

    /// The ring's events after `cursor`, or `None` when the ring does not reach back to it.
    fn ring_after(&self, cursor: u64, limit: usize) -> Option<Vec<Arc<FeedEvent>>> {
        let ring = self.inner.ring.read().ok()?;
        let latest = self.latest();
        if cursor >= latest {
            return Some(Vec::new());
        }
        let front = ring.front()?.id;
        if front > cursor + 1 {
            return None;
        }
        let start = ring.partition_point(|e| e.id <= cursor);
        Some(ring.iter().skip(start).take(limit).cloned().collect())
    }

    async fn parse(&self, stored: StoredEvent, reading: Reading) -> FeedEvent {
        let event = match Event::parse(&stored.kind, &stored.data) {
            Ok(event) => Some(event),
            Err(e) => {
                // The error may quote the data (a message body): details at debug only.
                tracing::warn!(event_id = stored.id, kind = %stored.kind, "journal entry not understood; skipped");
                tracing::debug!(event_id = stored.id, error = %e, "journal entry not understood");
                None
            }
        };
        let audience = match &event {
            Some(event) => match reading {
                Reading::Live => self.inner.resolver.resolve(event).await,
                Reading::Replay => self.inner.resolver.resolve_replayed(event).await,
            },
            None => Audience::default(),
        };
        FeedEvent {
            id: stored.id,
            at: stored.at,
            event,
            audience,
        }
    }

    /// The follower: delivers what this process journaled from the store's [`JournalTap`] in
    /// id order, and reads the journal itself only to follow other processes (every
    /// `config.poll`) and to fill a hole the tap left open for longer than [`HOLE_GRACE`]
    /// (an event of another process, or a write whose answer never came back here). Any
    /// event with an id above another is in the journal only after it, so reading the
    /// journal up to the tap's lowest id is always complete.
    async fn follow(self, mut cursor: u64) {
        let tap = self.inner.store.journal_tap();
        // Events from the tap not yet deliverable: their predecessors have not come.
        let mut held: BTreeMap<u64, StoredEvent> = BTreeMap::new();
        let mut next_poll = Instant::now() + self.inner.config.poll;
        let mut hole_deadline: Option<Instant> = None;
        loop {
            let wake_at = hole_deadline.map_or(next_poll, |h| h.min(next_poll));
            let timed_out = tokio::select! {
                () = tap.recorded() => false,
                () = tokio::time::sleep_until(wake_at) => true,
            };
            for event in tap.take() {
                if event.id > cursor {
                    held.insert(event.id, event);
                }
            }
            self.deliver(next_in_order(&mut held, &mut cursor)).await;
            let now = Instant::now();
            if timed_out && (now >= next_poll || hole_deadline.is_some_and(|h| now >= h)) {
                cursor = self.read_journal(cursor, &mut held).await;
                next_poll = now + self.inner.config.poll;
            }
            hole_deadline = match (held.is_empty(), hole_deadline) {
                (true, _) => None,
                (false, Some(deadline)) if deadline > now => Some(deadline),
                (false, _) => Some(now + HOLE_GRACE),
            };
        }
    }

    /// Reads the journal after `cursor` until it has no more (then takes what the tap holds
    /// past it), and returns the new cursor. A store error leaves the cursor where the reading
    /// stopped: the next poll tries again.
    async fn read_journal(&self, mut cursor: u64, held: &mut BTreeMap<u64, StoredEvent>) -> u64 {
        loop {
            let batch = match self
                .inner
                .store
                .events_after(cursor, self.inner.config.batch)
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "event feed cannot read the journal; retrying");
                    return cursor;
                }
            };
            let Some(last) = batch.last().map(|e| e.id) else {
                break;
            };
            cursor = last;
            self.deliver(batch).await;
        }
        // How much the capped journal holds (what a reconnecting desktop can resume over).
        if let Ok(Some(oldest)) = self.inner.store.events_oldest().await {
            let newest = (*self.inner.latest.borrow()).max(cursor);
            crate::metrics::metrics()
                .journal_events
                .set(newest.saturating_sub(oldest).saturating_add(1) as i64);
        }
        // The journal read may have passed events the tap holds; what follows them on may be
        // deliverable now.
        held.retain(|id, _| *id > cursor);
        self.deliver(next_in_order(held, &mut cursor)).await;
        cursor
    }

    /// Parses and keeps events (in id order, each after the feed's newest), and tells readers.
    async fn deliver(&self, events: Vec<StoredEvent>) {
        let Some(last) = events.last().map(|e| e.id) else {
            return;
        };
        // How far behind the journal the feed runs: the newest event's age on delivery.
        if let Some(newest) = events.last() {
            let now = chrono::Utc::now().timestamp_millis();
            crate::metrics::metrics()
                .feed_lag
                .observe((now - newest.at).max(0) as f64 / 1000.0);
        }
        let mut parsed = Vec::with_capacity(events.len());
        for event in events {
            parsed.push(Arc::new(self.parse(event, Reading::Live).await));
        }
        if let Ok(mut ring) = self.inner.ring.write() {
            ring.extend(parsed.iter().cloned());
            while ring.len() > self.inner.config.ring {
                ring.pop_front();
            }
        }
        self.inner.latest.send_replace(last);
        // After the ring and the newest id: a woken reader finds the events there.
        self.inner.watchers.wake(&parsed);
    }
}

/// Takes out of `held` the events that follow `cursor` without a hole, moving it on.
fn next_in_order(held: &mut BTreeMap<u64, StoredEvent>, cursor: &mut u64) -> Vec<StoredEvent> {
    let mut run = Vec::new();
    while let Some(event) = held.remove(&(*cursor + 1)) {
        *cursor = event.id;
        run.push(event);
    }
    run
}

/// Whether an event is read by the follower, in journal order, for the first time, or again
/// for a reader further behind than the ring.
#[derive(Clone, Copy)]
enum Reading {
    Live,
    Replay,
}

/// How long the follower waits for the tap to fill a hole before reading the journal for it:
/// writes of this process on other connections answer out of order within microseconds, so
/// this is only spent on other processes' events and on lost answers.
const HOLE_GRACE: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, NewEvent};

    fn event(n: i64) -> NewEvent {
        NewEvent {
            kind: "agent.updated".into(),
            at: n,
            data: r#"{"agent_id":"ann","presence":"away","logins":[],"reason":null}"#.into(),
        }
    }

    async fn feed(store: &AnyStore, ring: usize) -> EventFeed {
        EventFeed::start(
            store.clone(),
            Catalog::new(store.clone()),
            FeedConfig {
                ring,
                poll: Duration::from_secs(3600),
                batch: 2,
            },
        )
        .await
        .unwrap()
    }

    async fn caught_up(feed: &EventFeed, id: u64) {
        let mut rx = feed.subscribe();
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|latest| *latest >= id))
            .await
            .expect("the feed catches up")
            .unwrap();
    }

    fn ids(batch: &Batch) -> Vec<u64> {
        batch.events.iter().map(|e| e.id).collect()
    }

    #[tokio::test]
    async fn readers_get_every_event_after_their_cursor_in_order() {
        let store = AnyStore::Memory(MemoryStore::new());
        store.events_append(vec![event(1)]).await.unwrap();
        let feed = feed(&store, 100).await;
        assert_eq!(feed.latest(), 1);
        store
            .events_append((2..=6).map(event).collect())
            .await
            .unwrap();
        caught_up(&feed, 6).await;
        // From the ring (it holds 2..=6) and, before it, from the store.
        assert_eq!(ids(&feed.after(3, 10).await.unwrap()), vec![4, 5, 6]);
        assert_eq!(
            ids(&feed.after(0, 10).await.unwrap()),
            vec![1, 2, 3, 4, 5, 6]
        );
        assert_eq!(ids(&feed.after(4, 1).await.unwrap()), vec![5]);
        assert!(feed.after(6, 10).await.unwrap().events.is_empty());
    }

    #[tokio::test]
    async fn a_small_ring_falls_back_to_the_journal() {
        let store = AnyStore::Memory(MemoryStore::new());
        let feed = feed(&store, 2).await;
        store
            .events_append((1..=5).map(event).collect())
            .await
            .unwrap();
        caught_up(&feed, 5).await;
        let batch = feed.after(1, 10).await.unwrap();
        assert_eq!(ids(&batch), vec![2, 3, 4, 5]);
        assert_eq!(batch.gap, None);
    }

    #[tokio::test]
    async fn events_the_journal_dropped_are_reported_as_a_gap() {
        let store = AnyStore::Memory(MemoryStore::with_journal_cap(3));
        let feed = feed(&store, 2).await;
        store
            .events_append((1..=6).map(event).collect())
            .await
            .unwrap();
        caught_up(&feed, 6).await;
        // The journal holds 4..=6 now, the ring 5..=6.
        let batch = feed.after(1, 10).await.unwrap();
        assert_eq!(ids(&batch), vec![4, 5, 6]);
        assert_eq!(
            batch.gap,
            Some(Gap {
                after: 1,
                oldest: 4
            })
        );
        let batch = feed.after(3, 10).await.unwrap();
        assert_eq!((ids(&batch), batch.gap), (vec![4, 5, 6], None));
    }

    /// A feed on a memory store polling every `poll`, with the store itself: writes to it
    /// directly pass the tap, as another process's would.
    async fn polling_every(poll: Duration, batch: usize) -> (MemoryStore, AnyStore, EventFeed) {
        let memory = MemoryStore::new();
        let store = AnyStore::Memory(memory.clone());
        let feed = EventFeed::start(
            store.clone(),
            Catalog::new(store.clone()),
            FeedConfig {
                ring: 100,
                poll,
                batch,
            },
        )
        .await
        .unwrap();
        (memory, store, feed)
    }

    /// Events written past the tap (another process) arrive by the slow poll.
    #[tokio::test(start_paused = true)]
    async fn other_processes_events_arrive_by_the_poll() {
        let (memory, _, feed) = polling_every(Duration::from_secs(1), 2).await;
        memory
            .events_append((1..=3).map(event).collect())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(feed.latest(), 0, "not before the poll");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(feed.latest(), 3);
        assert_eq!(ids(&feed.after(0, 10).await.unwrap()), vec![1, 2, 3]);
    }

    /// The tap's events go out in id order whatever order their writes were confirmed in; a
    /// hole the tap does not fill is read from the journal after a short grace.
    #[tokio::test(start_paused = true)]
    async fn the_tap_is_delivered_in_id_order_and_holes_are_read() {
        let (memory, store, feed) = polling_every(Duration::from_secs(3600), 10).await;
        let tap = store.journal_tap();
        // Ids 1..=5 are in the journal; the tap hears of 3, then 1 and 2, then 5 — never 4.
        memory
            .events_append((1..=5).map(event).collect())
            .await
            .unwrap();
        tap.record(&[3], vec![event(3)]);
        tap.record(&[1, 2], vec![event(1), event(2)]);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(feed.latest(), 3);
        tap.record(&[5], vec![event(5)]);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(feed.latest(), 3, "5 waits for 4");
        tokio::time::sleep(HOLE_GRACE).await;
        assert_eq!(feed.latest(), 5);
        assert_eq!(ids(&feed.after(0, 10).await.unwrap()), vec![1, 2, 3, 4, 5]);
    }

    /// What this process writes through the store reaches the feed without a poll.
    #[tokio::test(start_paused = true)]
    async fn own_writes_arrive_without_a_poll() {
        let store = AnyStore::Memory(MemoryStore::new());
        let feed = feed(&store, 100).await;
        store.events_append(vec![event(1), event(2)]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(feed.latest(), 2);
    }
}
