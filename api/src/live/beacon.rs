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
use serde_json::Value;
use tokio::sync::broadcast;

use crate::routes::work::QueueStatsView;

/// One queue's numbers, as pushed.
#[derive(Debug, Clone)]
pub struct StatsFrame {
    /// The queue's team: who may see it.
    pub audience: Audience,
    /// When the numbers were read.
    pub at: i64,
    /// The numbers ([`QueueStatsView`]).
    pub data: Value,
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
        let Ok(view) = QueueStatsView::current(engine, &queue_id).await else {
            return;
        };
        let Ok(data) = serde_json::to_value(view) else {
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
            dirty.extend(queues_named(&event.data));
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
        scope: Scope::Team,
    }
}

/// The queues an event concerns: its `queue_id`, and an agent's `logins`.
fn queues_named(data: &Value) -> Vec<String> {
    let mut queues: Vec<String> = data
        .get("queue_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(logins) = data.get("logins").and_then(Value::as_array) {
        queues.extend(logins.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    queues
}

/// Whether two stats differ only in the seconds waited.
fn same_numbers(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Value::Object(fields) = &mut v {
            fields.remove("longest_wait_secs");
        }
        v
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_their_queue_and_an_agents_logins() {
        assert_eq!(queues_named(&json!({"queue_id": "q1"})), vec!["q1"]);
        assert_eq!(
            queues_named(&json!({"agent_id": "a", "logins": ["q1", "q2"]})),
            vec!["q1", "q2"]
        );
        assert!(queues_named(&json!({"agent_id": "a"})).is_empty());
    }

    #[test]
    fn the_growing_wait_alone_is_no_change() {
        let a = json!({"waiting": 2, "longest_wait_secs": 3});
        assert!(same_numbers(
            &a,
            &json!({"waiting": 2, "longest_wait_secs": 9})
        ));
        assert!(!same_numbers(
            &a,
            &json!({"waiting": 3, "longest_wait_secs": 3})
        ));
    }
}
