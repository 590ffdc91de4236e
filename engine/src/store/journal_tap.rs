//! What this process journaled, handed to the event feed from memory: every write through
//! [`super::AnyStore`] that journals events leaves them here, with the ids the store gave
//! them, once the store has confirmed the write. The feed delivers them without reading back
//! from the store what this process just wrote; the journal itself is read only to resume, to
//! follow other processes and to fill a hole this tap cannot (a write whose answer never came
//! back here).
//!
//! Nothing is kept until a follower says it is listening (a process without an event feed
//! keeps nothing), and at most [`TAP_LIMIT`] events are held: a follower that falls that far
//! behind loses the tap's copies, not the events — the journal still has them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::{NewEvent, StoredEvent};

/// The most events held for a follower that has not taken them.
pub const TAP_LIMIT: usize = 100_000;

/// Shared by every copy of a store (and its reopened connections).
#[derive(Debug, Default)]
pub struct JournalTap {
    followed: AtomicBool,
    written: Mutex<Vec<StoredEvent>>,
    signal: Notify,
}

impl JournalTap {
    /// From now on, keeps what is journaled for [`JournalTap::take`].
    pub fn follow(&self) {
        self.followed.store(true, Ordering::Release);
    }

    /// Whether a follower listens (callers copy events for the tap only then).
    pub fn followed(&self) -> bool {
        self.followed.load(Ordering::Acquire)
    }

    /// Records events the store confirmed, one id per event, and wakes the follower. A
    /// mismatch (a store bug) keeps nothing but still wakes it: it then reads the journal.
    pub fn record(&self, ids: &[u64], events: Vec<NewEvent>) {
        if ids.is_empty() {
            return;
        }
        if self.followed()
            && ids.len() == events.len()
            && let Ok(mut written) = self.written.lock()
        {
            if written.len() + ids.len() > TAP_LIMIT {
                // The follower is far behind: it will find all of these in the journal.
                written.clear();
            }
            written.extend(ids.iter().zip(events).map(|(id, e)| StoredEvent {
                id: *id,
                kind: e.kind,
                at: e.at,
                data: e.data,
            }));
        }
        self.signal.notify_one();
    }

    /// Everything recorded since the last call, in the order the writes were confirmed
    /// (which is not always id order: writes on different connections race).
    pub fn take(&self) -> Vec<StoredEvent> {
        self.written
            .lock()
            .map(|mut written| std::mem::take(&mut *written))
            .unwrap_or_default()
    }

    /// Completes after the next [`JournalTap::record`] (at once when one came since the last
    /// wait: one stored permit, so no wake-up is lost).
    pub async fn recorded(&self) {
        self.signal.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_event(n: i64) -> NewEvent {
        NewEvent {
            kind: "agent.updated".into(),
            at: n,
            data: "{}".into(),
        }
    }

    #[test]
    fn nothing_is_kept_until_followed() {
        let tap = JournalTap::default();
        tap.record(&[1], vec![new_event(1)]);
        assert!(tap.take().is_empty());
        tap.follow();
        tap.record(&[2, 3], vec![new_event(2), new_event(3)]);
        let ids: Vec<u64> = tap.take().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![2, 3]);
        assert!(tap.take().is_empty());
    }

    #[test]
    fn a_mismatch_keeps_nothing() {
        let tap = JournalTap::default();
        tap.follow();
        tap.record(&[1, 2], vec![new_event(1)]);
        assert!(tap.take().is_empty());
    }

    #[test]
    fn a_follower_far_behind_loses_the_copies_not_the_order() {
        let tap = JournalTap::default();
        tap.follow();
        let ids: Vec<u64> = (1..=TAP_LIMIT as u64).collect();
        tap.record(&ids, ids.iter().map(|n| new_event(*n as i64)).collect());
        tap.record(&[TAP_LIMIT as u64 + 1], vec![new_event(0)]);
        let kept: Vec<u64> = tap.take().iter().map(|e| e.id).collect();
        assert_eq!(kept, vec![TAP_LIMIT as u64 + 1]);
    }

    #[tokio::test]
    async fn a_record_before_the_wait_is_not_missed() {
        let tap = JournalTap::default();
        tap.record(&[1], vec![new_event(1)]);
        tokio::time::timeout(std::time::Duration::from_secs(1), tap.recorded())
            .await
            .expect("the stored permit wakes the follower");
    }
}
