//! The outbox's pure scheduling decision: which waiting texts may be handed to a provider
//! now. Each business number is a lane paced by its send rate, spent in segments (carriers
//! meter long codes per segment: a three-part text costs three seconds at 1 per second).
//! Within a lane texts go in the order they entered the outbox, except that a text never
//! overtakes an earlier one of the same conversation: while that one is in flight or waiting
//! for a retry, the conversation's later texts wait too, and other conversations go ahead.
//!
//! No clocks or I/O: the worker passes the time in and carries out what it is told.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::routing::Millis;

/// A text waiting in a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The thread message's id.
    pub message_id: String,
    /// Its conversation: texts of one conversation leave in order, one at a time.
    pub conversation: String,
    /// Its segments: what the lane's rate is spent in.
    pub segments: u32,
    /// Not before this time (a retry's backoff; 0: now).
    pub not_before: Millis,
}

#[derive(Debug, Clone, Default)]
struct Lane {
    /// Segments per second.
    rate: u32,
    /// The earliest time the next text may start.
    next_at: Millis,
    /// Waiting texts by outbox position, each with whether it is in flight.
    line: BTreeMap<u64, (Waiting, bool)>,
}

/// A text to hand off now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// Its lane (business number).
    pub lane: String,
    /// The thread message's id.
    pub message_id: String,
}

/// Every lane, and where each text is.
#[derive(Debug, Default)]
pub struct Pacer {
    lanes: HashMap<String, Lane>,
    /// Message id → (lane, position).
    index: HashMap<String, (String, u64)>,
    next_position: u64,
}

impl Pacer {
    /// An empty pacer.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many texts wait or are in flight.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the text is known (waiting or in flight).
    pub fn contains(&self, message_id: &str) -> bool {
        self.index.contains_key(message_id)
    }

    /// Puts a text at the end of its lane, whose rate is `rate` segments per second (at
    /// least 1). A text already known is left where it is.
    pub fn push(&mut self, lane: &str, rate: u32, waiting: Waiting) {
        if self.index.contains_key(&waiting.message_id) {
            return;
        }
        self.next_position += 1;
        let position = self.next_position;
        let entry = self.lanes.entry(lane.to_owned()).or_default();
        entry.rate = rate.max(1);
        self.index
            .insert(waiting.message_id.clone(), (lane.to_owned(), position));
        entry.line.insert(position, (waiting, false));
    }

    /// The texts that may start at `now`, marked in flight until [`Pacer::finish`] or
    /// [`Pacer::retry`]; spends each one's segments from its lane's rate.
    pub fn due(&mut self, now: Millis) -> Vec<Start> {
        self.lanes
            .retain(|_, lane| !lane.line.is_empty() || lane.next_at > now);
        let mut starts = Vec::new();
        for (name, lane) in &mut self.lanes {
            while lane.next_at <= now {
                let Some(position) = first_eligible(lane, now) else {
                    break;
                };
                let (waiting, in_flight) = lane.line.get_mut(&position).expect("eligible exists");
                *in_flight = true;
                let cost =
                    (u64::from(waiting.segments.max(1)) * 1000).div_ceil(u64::from(lane.rate));
                lane.next_at = lane.next_at.max(now) + cost as Millis;
                starts.push(Start {
                    lane: name.clone(),
                    message_id: waiting.message_id.clone(),
                });
            }
        }
        starts
    }

    /// When [`Pacer::due`] could next start something (`None`: only a finished or retried
    /// text can change that).
    pub fn next_wake(&self, now: Millis) -> Option<Millis> {
        self.lanes
            .values()
            .filter_map(|lane| {
                let mut blocked = HashSet::new();
                let mut earliest: Option<Millis> = None;
                for (waiting, in_flight) in lane.line.values() {
                    if !blocked.insert(waiting.conversation.as_str()) {
                        continue;
                    }
                    if !in_flight {
                        let at = waiting.not_before.max(lane.next_at);
                        earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    }
                }
                earliest
            })
            .min()
            .map(|at| at.max(now))
    }

    /// The text left for good (handed off, or failed): its conversation's next may go.
    pub fn finish(&mut self, message_id: &str) {
        if let Some((lane, position)) = self.index.remove(message_id)
            && let Some(entry) = self.lanes.get_mut(&lane)
        {
            // The lane stays even when empty: its pacing (when the next text may go) must
            // hold for texts that come later. `due` drops lanes idle long enough.
            entry.line.remove(&position);
        }
    }

    /// The text goes back to its place in line, not before `not_before`; its conversation's
    /// later texts keep waiting behind it.
    pub fn retry(&mut self, message_id: &str, not_before: Millis) {
        if let Some((lane, position)) = self.index.get(message_id)
            && let Some((waiting, in_flight)) = self
                .lanes
                .get_mut(lane)
                .and_then(|l| l.line.get_mut(position))
        {
            waiting.not_before = not_before;
            *in_flight = false;
        }
    }

    /// The waiting (not in flight) texts whose message ids `select` picks: for dropping them.
    pub fn waiting_where(&self, mut select: impl FnMut(&str) -> bool) -> Vec<String> {
        self.lanes
            .values()
            .flat_map(|lane| lane.line.values())
            .filter(|(w, in_flight)| !in_flight && select(&w.message_id))
            .map(|(w, _)| w.message_id.clone())
            .collect()
    }
}

/// The first text of the lane that may start now: not in flight, its backoff over, and no
/// earlier text of its conversation still waiting or in flight.
fn first_eligible(lane: &Lane, now: Millis) -> Option<u64> {
    let mut blocked = HashSet::new();
    for (position, (waiting, in_flight)) in &lane.line {
        if !blocked.insert(waiting.conversation.as_str()) {
            continue;
        }
        if !in_flight && waiting.not_before <= now {
            return Some(*position);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(id: &str, conversation: &str, segments: u32) -> Waiting {
        Waiting {
            message_id: id.into(),
            conversation: conversation.into(),
            segments,
            not_before: 0,
        }
    }

    fn ids(starts: &[Start]) -> Vec<&str> {
        starts.iter().map(|s| s.message_id.as_str()).collect()
    }

    #[test]
    fn a_lane_sends_one_segment_per_second_at_rate_one() {
        let mut p = Pacer::new();
        for i in 0..3 {
            p.push("n1", 1, text(&format!("m{i}"), &format!("c{i}"), 1));
        }
        assert_eq!(ids(&p.due(0)), ["m0"]);
        assert_eq!(ids(&p.due(999)), Vec::<&str>::new());
        assert_eq!(p.next_wake(999), Some(1000));
        assert_eq!(ids(&p.due(1000)), ["m1"]);
        assert_eq!(ids(&p.due(2000)), ["m2"]);
    }

    #[test]
    fn long_texts_spend_their_segments() {
        let mut p = Pacer::new();
        p.push("n1", 1, text("long", "c1", 3));
        p.push("n1", 1, text("short", "c2", 1));
        assert_eq!(ids(&p.due(0)), ["long"]);
        assert_eq!(p.next_wake(0), Some(3000));
        assert_eq!(ids(&p.due(2999)), Vec::<&str>::new());
        assert_eq!(ids(&p.due(3000)), ["short"]);
    }

    #[test]
    fn lanes_are_paced_apart() {
        let mut p = Pacer::new();
        p.push("slow", 1, text("s1", "c1", 1));
        p.push("slow", 1, text("s2", "c2", 1));
        for i in 0..10 {
            p.push("fast", 10, text(&format!("f{i}"), &format!("d{i}"), 1));
        }
        let mut first = ids(&p.due(0))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        first.sort();
        assert_eq!(first, ["f0", "s1"]);
        let mut later = Vec::new();
        let mut now = 0;
        while now < 500 {
            now = p.next_wake(now).unwrap();
            later.extend(p.due(now));
        }
        assert_eq!(now, 500);
        assert_eq!(later.len(), 5, "fast lane: 10/s, so 5 more by 500 ms");
        assert!(later.iter().all(|s| s.lane == "fast"));
    }

    #[test]
    fn an_idle_lane_saves_up_no_burst() {
        let mut p = Pacer::new();
        p.push("n1", 1, text("a", "a", 1));
        assert_eq!(p.due(0).len(), 1);
        p.finish("a");
        for i in 0..3 {
            p.push("n1", 1, text(&format!("b{i}"), &format!("b{i}"), 1));
        }
        assert_eq!(
            p.due(60_000).len(),
            1,
            "a minute idle is no credit for three at once"
        );
        assert_eq!(p.next_wake(60_000), Some(61_000));
    }

    #[test]
    fn a_conversation_never_has_two_in_flight_nor_overtakes() {
        let mut p = Pacer::new();
        p.push("n1", 100, text("a1", "a", 1));
        p.push("n1", 100, text("a2", "a", 1));
        p.push("n1", 100, text("b1", "b", 1));
        assert_eq!(ids(&p.due(0)), ["a1"]);
        assert_eq!(ids(&p.due(10)), ["b1"], "a2 waits for a1; b1 goes ahead");
        assert_eq!(
            ids(&p.due(100)),
            Vec::<&str>::new(),
            "a2 still waits for a1"
        );
        p.finish("a1");
        assert_eq!(ids(&p.due(100)), ["a2"]);
    }

    #[test]
    fn a_retry_holds_its_conversation_but_not_others() {
        let mut p = Pacer::new();
        p.push("n1", 100, text("a1", "a", 1));
        p.push("n1", 100, text("a2", "a", 1));
        p.push("n1", 100, text("b1", "b", 1));
        assert_eq!(ids(&p.due(0)), ["a1"]);
        assert_eq!(ids(&p.due(10)), ["b1"]);
        p.retry("a1", 5_000);
        assert_eq!(
            ids(&p.due(1_000)),
            Vec::<&str>::new(),
            "a2 never overtakes a1"
        );
        assert_eq!(p.next_wake(1_000), Some(5_000));
        assert_eq!(ids(&p.due(5_000)), ["a1"]);
        p.finish("a1");
        assert_eq!(ids(&p.due(5_010)), ["a2"]);
    }

    #[test]
    fn nothing_to_wake_for_while_everything_is_in_flight() {
        let mut p = Pacer::new();
        p.push("n1", 1, text("a1", "a", 1));
        p.push("n1", 1, text("a2", "a", 1));
        p.due(0);
        assert_eq!(p.next_wake(10_000), None);
        p.finish("a1");
        assert_eq!(p.next_wake(10_000), Some(10_000));
        p.finish("a2");
        assert!(p.is_empty());
    }

    #[test]
    fn a_lane_keeps_its_pace_when_it_runs_empty() {
        let mut p = Pacer::new();
        p.push("n1", 1, text("long", "a", 6));
        assert_eq!(ids(&p.due(0)), ["long"]);
        p.finish("long");
        p.push("n1", 1, text("next", "a", 1));
        assert_eq!(
            ids(&p.due(10)),
            Vec::<&str>::new(),
            "six segments spent: six seconds"
        );
        assert_eq!(p.next_wake(10), Some(6000));
        assert_eq!(ids(&p.due(6000)), ["next"]);
    }

    #[test]
    fn pushing_a_known_text_again_changes_nothing() {
        let mut p = Pacer::new();
        p.push("n1", 1, text("a1", "a", 1));
        p.push("n1", 1, text("a1", "a", 1));
        assert_eq!(p.len(), 1);
    }

    proptest! {
        /// Whatever the texts, rates, failures and timing: every text starts, a conversation's
        /// texts start in the order they were pushed and never two at once, and no lane starts
        /// more segments by time t than its rate allows (one text's worth of burst).
        #[test]
        fn order_pacing_and_completeness(
            texts in prop::collection::vec((0u8..3, 0u8..4, 1u32..4), 1..40),
            rates in prop::collection::vec(1u32..5, 3),
            fail_every in 2usize..7,
        ) {
            let mut p = Pacer::new();
            for (i, (lane, conversation, segments)) in texts.iter().enumerate() {
                let lane_name = format!("n{lane}");
                p.push(&lane_name, rates[*lane as usize], text(&format!("m{i}"), &format!("{lane}-{conversation}"), *segments));
            }
            let mut now = 0;
            let mut started: Vec<(Millis, usize)> = Vec::new();
            let mut in_flight: Vec<String> = Vec::new();
            let mut done = HashSet::new();
            let mut attempts = 0usize;
            for _ in 0..100_000 {
                for id in in_flight.drain(..) {
                    attempts += 1;
                    if attempts.is_multiple_of(fail_every) {
                        p.retry(&id, now + 700);
                    } else {
                        p.finish(&id);
                        done.insert(id);
                    }
                }
                for start in p.due(now) {
                    let i: usize = start.message_id[1..].parse().unwrap();
                    started.push((now, i));
                    in_flight.push(start.message_id);
                }
                if p.is_empty() {
                    break;
                }
                now = p.next_wake(now).unwrap_or(now).max(now + 1);
            }
            prop_assert_eq!(done.len(), texts.len(), "every text leaves");
            // Per conversation: first starts in push order.
            let mut last_done_index: HashMap<String, usize> = HashMap::new();
            for (_, i) in &started {
                let (lane, conversation, _) = texts[*i];
                let key = format!("{lane}-{conversation}");
                if let Some(prev) = last_done_index.get(&key) {
                    prop_assert!(*i >= *prev, "conversation {} went {} after {}", key, i, prev);
                }
                last_done_index.insert(key, *i);
            }
            // Pacing: by time t a lane started at most rate*t/1000 segments plus one text.
            for lane in 0u8..3 {
                let rate = rates[lane as usize] as i64;
                let mut spent = 0i64;
                for (at, i) in &started {
                    if texts[*i].0 != lane { continue; }
                    spent += texts[*i].2 as i64 * 1000;
                    prop_assert!(spent <= rate * at + 3 * 1000 + rate * 1000, "lane {} over its rate at {}", lane, at);
                }
            }
        }
    }
}
