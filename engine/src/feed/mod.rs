//! The event feed: follows the store's event journal and hands each event, with its
//! [`Audience`], to any number of live readers (websocket sessions) without each of them
//! reading the store.
//!
//! The journal is the truth and the feed only a window on it: a follower task reads new
//! journal entries in order (woken by the store's journal signal, with a slow poll as a
//! safety net), keeps the most recent ones in a ring, and bumps a `watch` with the newest id.
//! A reader keeps its own cursor (the last id it delivered) and asks [`EventFeed::after`] for
//! what follows: from the ring when the ring still reaches back that far, from the store's
//! journal otherwise, and — when even the journal has dropped events past the cursor — with
//! an explicit [`Gap`]. Readers that fall behind therefore never lose events silently, and
//! the feed holds one bounded ring however many readers there are.

pub mod audience;
pub mod watchers;

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::protocol::Event;
use tokio::sync::watch;

pub use audience::{Audience, AudienceResolver, Scope, Viewer};
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
        let last = store.events_last().await?;
        let feed = Self {
            inner: Arc::new(Inner {
                resolver: AudienceResolver::new(catalog),
                store,
                ring: RwLock::new(VecDeque::with_capacity(config.ring.min(4096))),
                latest: watch::Sender::new(last),
                watchers: Watchers::default(),
                config,
            }),
        };
        let follower = feed.clone();
        tokio::spawn(async move { follower.follow(last).await });
        Ok(feed)
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
            events.push(Arc::new(self.parse(event).await));
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

    async fn parse(&self, stored: StoredEvent) -> FeedEvent {
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
            Some(event) => self.inner.resolver.resolve(event).await,
            None => Audience::default(),
        };
        FeedEvent {
            id: stored.id,
            at: stored.at,
            event,
            audience,
        }
    }

    /// The follower: reads the journal after `cursor` whenever signalled (or polled), parses
    /// and keeps the events, and tells readers.
    async fn follow(self, mut cursor: u64) {
        let signal = self.inner.store.journal_signal();
        loop {
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(self.inner.config.poll) => {}
            }
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
                        break;
                    }
                };
                let Some(last) = batch.last().map(|e| e.id) else {
                    break;
                };
                let mut parsed = Vec::with_capacity(batch.len());
                for event in batch {
                    parsed.push(Arc::new(self.parse(event).await));
                }
                if let Ok(mut ring) = self.inner.ring.write() {
                    ring.extend(parsed.iter().cloned());
                    while ring.len() > self.inner.config.ring {
                        ring.pop_front();
                    }
                }
                cursor = last;
                self.inner.latest.send_replace(cursor);
                // After the ring and the newest id: a woken reader finds the events there.
                self.inner.watchers.wake(&parsed);
            }
        }
    }
}

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
}
