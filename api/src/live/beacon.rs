//! The beacon: each queue's live numbers (`queue.stats`) pushed to the desktops that see the
//! queue when they change, coalesced so that a burst of texts is one frame per queue per
//! window, not one per text.
//!
//! It watches the event feed: an event naming a queue (or an agent's logins) marks the
//! queue dirty; once per window the dirty queues' numbers are read from the engine and sent
//! when they differ from the last sent (the ever-growing wait in seconds does not count as a
//! change: desktops count it up from `oldest_waiting_since`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use engine::domain::{QueueId, TeamId};
use engine::feed::{Audience, EventFeed, Scope};
use engine::runtime::Engine;
use protocol::Event;
use protocol::frame::QueueStats;
use tokio::sync::broadcast;

/// One queue's numbers, as pushed.
#[derive(Debug, Clone)]
pub struct StatsFrame {
    /// The queue's team: who may see it.
    pub audience: Audience,
    /// When the numbers were read.
    pub at: i64,
    /// The numbers.
    pub data: QueueStats,
}

/// The beacon. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Beacon {
    tx: broadcast::Sender<Arc<StatsFrame>>,
    latest: Arc<RwLock<HashMap<String, Arc<StatsFrame>>>>,
}

impl Beacon {
    /// Starts the beacon on the current runtime, coalescing changes over `window`.
    pub fn start(feed: EventFeed, engine: Engine, window: Duration) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let beacon = Self {
            tx,
            latest: Arc::default(),
        };
        let runner = beacon.clone();
        tokio::spawn(async move { runner.run(feed, engine, window).await });
        beacon
    }

    /// New frames as they are pushed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StatsFrame>> {
        self.tx.subscribe()
    }

    /// The last frame of every queue the beacon has numbers for.
    pub fn latest(&self) -> Vec<Arc<StatsFrame>> {
        self.latest
            .read()
            .map(|l| l.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The numbers of `queue` now: the last frame pushed, or (for a queue nothing has touched
    /// since the start) a fresh reading, which is then pushed and kept like any other.
    pub async fn numbers_of(
        &self,
        feed: &EventFeed,
        engine: &Engine,
        queue: &str,
    ) -> Option<Arc<StatsFrame>> {
        let known = self.latest.read().ok().and_then(|l| l.get(queue).cloned());
        match known {
            Some(frame) => Some(frame),
            None => {
                self.refresh(feed, engine, queue).await;
                self.latest.read().ok().and_then(|l| l.get(queue).cloned())
            }
        }
    }

    async fn run(self, feed: EventFeed, engine: Engine, window: Duration) {
        // Started without the store, the feed knows the journal's newest id only later.
        feed.started().await;
        let mut changed = feed.subscribe();
        let mut cursor = feed.latest();
        // A safety net for changes no event names (an agent logging out of a queue names
        // only the queues it stays in): every queue already known is re-read now and then.
        let mut sweep = tokio::time::interval(SWEEP);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut dirty = BTreeSet::new();
            tokio::select! {
                changed = changed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Let the burst finish: everything arriving within the window is one push.
                    tokio::time::sleep(window).await;
                    cursor = collect_dirty(&feed, cursor, &mut dirty).await;
                }
                _ = sweep.tick() => {
                    if let Ok(latest) = self.latest.read() {
                        dirty.extend(latest.keys().cloned());
                    }
                }
            }
            for queue in dirty {
                self.refresh(&feed, &engine, &queue).await;
            }
        }
    }

    async fn refresh(&self, feed: &EventFeed, engine: &Engine, queue: &str) {
        let Ok(queue_id) = QueueId::parse(queue) else {
            return;
        };
        let Some(team) = feed.resolver().team_of_queue(queue).await else {
            return;
        };
        let Ok(data) = crate::routes::work::current_stats(engine, &queue_id).await else {
            return;
        };
        let unchanged = self
            .latest
            .read()
            .ok()
            .and_then(|l| l.get(queue).map(|f| same_numbers(&f.data, &data)))
            .unwrap_or(false);
        if unchanged {
            return;
        }
        let frame = Arc::new(StatsFrame {
            audience: team_audience(team),
            at: engine.now(),
            data,
        });
        if let Ok(mut latest) = self.latest.write() {
            latest.insert(queue.to_owned(), frame.clone());
        }
        // No receiver is fine: nobody is connected.
        let _ = self.tx.send(frame);
    }
}

/// How often every known queue is re-read regardless of events.
const SWEEP: Duration = Duration::from_secs(5);

/// Adds the queues named by events after `cursor` to `dirty`; returns the new cursor.
async fn collect_dirty(feed: &EventFeed, mut cursor: u64, dirty: &mut BTreeSet<String>) -> u64 {
    loop {
        let batch = match feed.after(cursor, 1000).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "beacon cannot read events");
                return cursor;
            }
        };
        for event in &batch.events {
            cursor = event.id;
            if let Some(event) = &event.event {
                dirty.extend(queues_named(event));
            }
        }
        if batch.events.len() < 1000 {
            return cursor;
        }
    }
}

fn team_audience(team: TeamId) -> Audience {
    Audience {
        teams: vec![team],
        agents: Vec::new(),
        involved: Vec::new(),
        scope: Scope::Team,
    }
}

/// The queues an event concerns: its queue, and an agent's logins.
fn queues_named(event: &Event) -> Vec<String> {
    match event {
        Event::AgentUpdated(presence) => presence.logins.clone(),
        event => event.queue_id().map(str::to_owned).into_iter().collect(),
    }
}

/// Whether two stats differ only in the seconds waited.
fn same_numbers(a: &QueueStats, b: &QueueStats) -> bool {
    QueueStats {
        longest_wait_secs: b.longest_wait_secs,
        ..a.clone()
    } == *b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, data: serde_json::Value) -> Event {
        Event::from_value(kind, data).unwrap()
    }

    #[test]
    fn events_name_their_queue_and_an_agents_logins() {
        let read = json!({"conversation_id": "c", "queue_id": "q1", "agent_id": "a", "unread": 0});
        assert_eq!(queues_named(&event("conversation.read", read)), vec!["q1"]);
        let presence = json!({"agent_id": "a", "presence": "available", "logins": ["q1", "q2"], "reason": null});
        assert_eq!(
            queues_named(&event("agent.updated", presence)),
            vec!["q1", "q2"]
        );
        let chat = json!({"from_agent_id": "a", "to_agent_id": "b", "message":
            {"id": "ch_1", "from_agent_id": "a", "to_agent_id": "b", "body": "hi", "at": 1}});
        assert!(queues_named(&event("chat.message", chat)).is_empty());
    }

    #[test]
    fn the_growing_wait_alone_is_no_change() {
        let stats = |waiting, longest_wait_secs| QueueStats {
            queue_id: "q1".into(),
            waiting,
            longest_wait_secs,
            oldest_waiting_since: None,
            agents_ready: 1,
            waiting_by_campaign: Default::default(),
            offers_by_outcome: Default::default(),
        };
        assert!(same_numbers(&stats(2, 3), &stats(2, 9)));
        assert!(!same_numbers(&stats(2, 3), &stats(3, 3)));
    }
}
