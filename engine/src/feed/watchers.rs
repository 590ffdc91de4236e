//! Waking only the readers an event is for. A websocket session used to wake on every event
//! the journal received, read the ring and find, most of the time, nothing it may see: with
//! a team of 25 desktops, 25 wake-ups (and their context switches) for each event one desktop
//! needed. Now each reader registers a [`Watcher`] with who it is; the follower, having worked
//! out each new event's audience, wakes the watchers it admits and no others. A reader still
//! reads from its own cursor when it wakes, so what it receives and in what order is
//! unchanged: only the wake-ups it would have found nothing in are gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use tokio::sync::Notify;

use super::{FeedEvent, Viewer};

/// One reader's registration.
#[derive(Debug)]
pub struct Watcher {
    viewer: RwLock<Viewer>,
    wake: Notify,
    closed: AtomicBool,
}

/// The feed stopped: no event will come any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedClosed;

impl Watcher {
    /// Waits until an event this reader may see has arrived since it last waited (at once
    /// when one arrived meanwhile), or the feed stops.
    pub async fn changed(&self) -> Result<(), FeedClosed> {
        if self.closed.load(Ordering::Acquire) {
            return Err(FeedClosed);
        }
        self.wake.notified().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(FeedClosed);
        }
        Ok(())
    }

    /// The reader's identity changed (its teams or role, re-read at a heartbeat).
    pub fn set_viewer(&self, viewer: Viewer) {
        if let Ok(mut current) = self.viewer.write() {
            *current = viewer;
        }
    }

    fn admits_any(&self, events: &[Arc<FeedEvent>]) -> bool {
        let Ok(viewer) = self.viewer.read() else {
            return true;
        };
        events
            .iter()
            .any(|e| e.event.is_some() && e.audience.admits(&viewer))
    }
}

/// Every registered watcher (weakly: a reader that is gone simply drops its registration).
#[derive(Debug, Default)]
pub struct Watchers {
    list: Mutex<Vec<Weak<Watcher>>>,
}

impl Watchers {
    /// Registers a reader as `viewer`.
    pub fn register(&self, viewer: Viewer) -> Arc<Watcher> {
        let watcher = Arc::new(Watcher {
            viewer: RwLock::new(viewer),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        if let Ok(mut list) = self.list.lock() {
            list.push(Arc::downgrade(&watcher));
        }
        watcher
    }

    /// Wakes the readers that may see any of `events` (and forgets readers that are gone).
    pub fn wake(&self, events: &[Arc<FeedEvent>]) {
        let live: Vec<Arc<Watcher>> = match self.list.lock() {
            Ok(mut list) => {
                list.retain(|w| w.strong_count() > 0);
                list.iter().filter_map(Weak::upgrade).collect()
            }
            Err(_) => return,
        };
        for watcher in live {
            if watcher.admits_any(events) {
                // A stored permit: a reader busy sending still finds it when it next waits.
                watcher.wake.notify_one();
            }
        }
    }

    /// The feed stops: every reader is told.
    pub fn close(&self) {
        if let Ok(list) = self.list.lock() {
            for watcher in list.iter().filter_map(Weak::upgrade) {
                watcher.closed.store(true, Ordering::Release);
                watcher.wake.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentId, AgentRole, TeamId};
    use crate::feed::{Audience, Scope};

    fn event(team: &str) -> Arc<FeedEvent> {
        let presence = ::protocol::Event::from_value(
            "agent.updated",
            serde_json::json!({"agent_id": "x", "presence": "away", "logins": [], "reason": null}),
        )
        .unwrap();
        Arc::new(FeedEvent {
            id: 1,
            at: 0,
            event: Some(presence),
            audience: Audience {
                teams: vec![TeamId::parse(team).unwrap()],
                agents: Vec::new(),
                involved: Vec::new(),
                scope: Scope::Team,
            },
        })
    }

    fn member(team: &str) -> Viewer {
        Viewer::Member {
            agent: AgentId::parse("ann").unwrap(),
            role: AgentRole::Agent,
            teams: vec![TeamId::parse(team).unwrap()],
            follow: crate::feed::Follow::Team,
        }
    }

    // Paused time: "still asleep after a while" costs no real waiting and cannot race.
    #[tokio::test(start_paused = true)]
    async fn only_the_readers_an_event_is_for_wake() {
        let watchers = Watchers::default();
        let red = watchers.register(member("red"));
        let blue = watchers.register(member("blue"));
        watchers.wake(&[event("red")]);
        let woke = |w: &Arc<Watcher>| {
            let w = w.clone();
            async move {
                tokio::time::timeout(std::time::Duration::from_millis(20), w.changed())
                    .await
                    .is_ok()
            }
        };
        assert!(
            woke(&red).await,
            "the red reader wakes (even though it was not waiting yet)"
        );
        assert!(!woke(&blue).await, "the blue reader sleeps on");
        blue.set_viewer(member("red"));
        watchers.wake(&[event("red")]);
        assert!(woke(&blue).await, "a changed identity is honoured");
        drop(red);
        watchers.wake(&[event("red")]);
        watchers.close();
        assert_eq!(
            blue.changed().await,
            Err(FeedClosed),
            "closing wins over a pending wake"
        );
    }
}
