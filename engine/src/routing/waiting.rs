//! A queue's waiting line: conversations in serving order — higher priority first, then the
//! longest waiting — with O(log n) insert, remove and head; and how many wait per tag (the
//! conversation's campaign, for the beacon), kept as conversations come and go so that the
//! figure costs nothing however long the line.

use std::collections::BTreeSet;
#[cfg(test)]
use std::collections::HashMap;

use crate::fast_hash::FastMap;
use std::sync::Arc;

use super::{LinePriority, Millis};
use crate::domain::ConversationId;

/// A conversation's place in line. Ordered so that the first key is served first: higher
/// priority, then earlier `waiting_since`, then id (a stable tie-break).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WaitKey {
    /// Higher is served first (see [`LinePriority`]).
    pub priority: LinePriority,
    /// When the customer's oldest unanswered message arrived.
    pub waiting_since: Millis,
    /// The conversation.
    pub conversation: ConversationId,
}

impl Ord for WaitKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then(self.waiting_since.cmp(&other.waiting_since))
            .then_with(|| self.conversation.cmp(&other.conversation))
    }
}

impl PartialOrd for WaitKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl WaitKey {
    /// Whether `self` is served before `other`.
    pub fn serves_before(&self, other: &WaitKey) -> bool {
        self < other
    }
}

/// The waiting conversations of one queue.
#[derive(Debug, Clone, Default)]
pub struct WaitingLine {
    order: BTreeSet<WaitKey>,
    keys: FastMap<ConversationId, WaitKey>,
    /// Each conversation's tag, kept while the queue holds it (in line or offered).
    tags: FastMap<ConversationId, Arc<str>>,
    /// How many conversations in line carry each tag (no zero entries).
    waiting_by_tag: FastMap<Arc<str>, usize>,
}

impl WaitingLine {
    /// An empty line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a conversation in line. A conversation already in line keeps the earlier of its
    /// two `waiting_since` (so a re-queue never loses its place) and takes the new priority.
    pub fn insert(
        &mut self,
        conversation: ConversationId,
        priority: LinePriority,
        waiting_since: Millis,
    ) {
        let waiting_since = match self.keys.get(&conversation) {
            Some(old) => {
                let since = old.waiting_since.min(waiting_since);
                self.order.remove(old);
                since
            }
            None => {
                if let Some(tag) = self.tags.get(&conversation) {
                    *self.waiting_by_tag.entry(tag.clone()).or_default() += 1;
                }
                waiting_since
            }
        };
        let key = WaitKey {
            priority,
            waiting_since,
            conversation: conversation.clone(),
        };
        self.order.insert(key.clone());
        self.keys.insert(conversation, key);
    }

    /// Takes a conversation out of line, returning its key if it was in.
    pub fn remove(&mut self, conversation: &ConversationId) -> Option<WaitKey> {
        let key = self.keys.remove(conversation)?;
        self.order.remove(&key);
        if let Some(tag) = self.tags.get(conversation) {
            self.count_out(&tag.clone());
        }
        Some(key)
    }

    /// Tags a conversation (its campaign); the tag holds until [`WaitingLine::untag`], in
    /// line or out of it.
    pub fn tag(&mut self, conversation: ConversationId, tag: &str) {
        let tag: Arc<str> = match self.waiting_by_tag.get_key_value(tag) {
            Some((shared, _)) => shared.clone(),
            None => Arc::from(tag),
        };
        let waiting = self.keys.contains_key(&conversation);
        if let Some(old) = self.tags.insert(conversation, tag.clone())
            && waiting
        {
            self.count_out(&old);
        }
        if waiting {
            *self.waiting_by_tag.entry(tag).or_default() += 1;
        }
    }

    /// Forgets a conversation's tag (the queue no longer holds it).
    pub fn untag(&mut self, conversation: &ConversationId) {
        if let Some(tag) = self.tags.remove(conversation)
            && self.keys.contains_key(conversation)
        {
            self.count_out(&tag);
        }
    }

    fn count_out(&mut self, tag: &Arc<str>) {
        if let Some(count) = self.waiting_by_tag.get_mut(tag) {
            *count -= 1;
            if *count == 0 {
                self.waiting_by_tag.remove(tag);
            }
        }
    }

    /// How many conversations in line carry each tag; those without one count under `""`.
    pub fn waiting_by_tag(&self) -> impl Iterator<Item = (&str, usize)> {
        let tagged: usize = self.waiting_by_tag.values().sum();
        let untagged = self.keys.len() - tagged;
        self.waiting_by_tag
            .iter()
            .map(|(tag, count)| (&**tag, *count))
            .chain((untagged > 0).then_some(("", untagged)))
    }

    /// The conversation served next.
    pub fn head(&self) -> Option<&WaitKey> {
        self.order.first()
    }

    /// The first conversation in serving order that `eligible` accepts.
    pub fn first_where(&self, mut eligible: impl FnMut(&WaitKey) -> bool) -> Option<&WaitKey> {
        self.order.iter().find(|key| eligible(key))
    }

    /// A conversation's key, if it is in line.
    pub fn get(&self, conversation: &ConversationId) -> Option<&WaitKey> {
        self.keys.get(conversation)
    }

    /// Whether the conversation is in line.
    pub fn contains(&self, conversation: &ConversationId) -> bool {
        self.keys.contains_key(conversation)
    }

    /// How many conversations wait.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every waiting conversation, in serving order.
    pub fn iter(&self) -> impl Iterator<Item = &WaitKey> {
        self.order.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cv(n: u32) -> ConversationId {
        ConversationId::parse(format!("cv{n:05}")).unwrap()
    }

    #[test]
    fn waiting_line_serves_longest_waiting_first() {
        let mut line = WaitingLine::new();
        line.insert(cv(1), 0, 300);
        line.insert(cv(2), 0, 100);
        line.insert(cv(3), 0, 200);
        let order: Vec<_> = line.iter().map(|k| k.conversation.clone()).collect();
        assert_eq!(order, vec![cv(2), cv(3), cv(1)]);
    }

    #[test]
    fn waiting_line_serves_higher_priority_before_older() {
        let mut line = WaitingLine::new();
        line.insert(cv(1), 0, 100);
        line.insert(cv(2), 5, 900);
        assert_eq!(line.head().unwrap().conversation, cv(2));
    }

    #[test]
    fn requeued_conversation_keeps_its_original_waiting_since() {
        let mut line = WaitingLine::new();
        line.insert(cv(1), 0, 100);
        line.insert(cv(2), 0, 200);
        // Offered (out of line), then rejected: back in with the waiting_since it had.
        let key = line.remove(&cv(1)).unwrap();
        line.insert(cv(1), 0, key.waiting_since);
        assert_eq!(line.head().unwrap().conversation, cv(1));
        // Inserting again while in line never moves it back.
        line.insert(cv(1), 0, 900);
        assert_eq!(line.head().unwrap().waiting_since, 100);
        assert_eq!(line.len(), 2);
    }

    #[test]
    fn removing_an_absent_conversation_is_harmless() {
        let mut line = WaitingLine::new();
        assert_eq!(line.remove(&cv(9)), None);
        assert!(line.is_empty());
    }

    proptest! {
        /// Whatever the operations, the line lists each conversation once, in order, and its
        /// index agrees with its order.
        #[test]
        fn waiting_line_stays_ordered_and_consistent(ops in proptest::collection::vec((0u32..20, 0u16..3, 0i64..1000, any::<bool>()), 1..200)) {
            let mut line = WaitingLine::new();
            let mut model: HashMap<ConversationId, (u16, i64)> = HashMap::new();
            for (n, priority, since, insert) in ops {
                if insert {
                    line.insert(cv(n), priority, since);
                    let entry = model.entry(cv(n)).or_insert((priority, since));
                    *entry = (priority, entry.1.min(since));
                } else {
                    prop_assert_eq!(line.remove(&cv(n)).is_some(), model.remove(&cv(n)).is_some());
                }
            }
            prop_assert_eq!(line.len(), model.len());
            let listed: Vec<&WaitKey> = line.iter().collect();
            for pair in listed.windows(2) {
                prop_assert!(pair[0].serves_before(pair[1]));
                prop_assert!(pair[0].priority > pair[1].priority
                    || (pair[0].priority == pair[1].priority && pair[0].waiting_since <= pair[1].waiting_since));
            }
            for key in listed {
                prop_assert_eq!(model[&key.conversation], (key.priority, key.waiting_since));
            }
        }

        /// The per-tag counts always equal a count of the line, whatever the order of
        /// tagging, queueing, offering (out of line) and forgetting.
        #[test]
        fn waiting_by_tag_always_matches_a_recount(ops in proptest::collection::vec((0u32..12, 0u8..4, 0u8..3), 1..300)) {
            let mut line = WaitingLine::new();
            let mut tags: HashMap<ConversationId, String> = HashMap::new();
            for (n, op, tag) in ops {
                let tag = ["Spring", "Fall", "Winter"][tag as usize];
                match op {
                    0 => line.insert(cv(n), 0, i64::from(n)),
                    1 => { line.remove(&cv(n)); }
                    2 => { line.tag(cv(n), tag); tags.insert(cv(n), tag.to_owned()); }
                    _ => { line.untag(&cv(n)); tags.remove(&cv(n)); }
                }
                let mut recount: HashMap<String, usize> = HashMap::new();
                for key in line.iter() {
                    *recount.entry(tags.get(&key.conversation).cloned().unwrap_or_default()).or_default() += 1;
                }
                let kept: HashMap<String, usize> = line.waiting_by_tag().map(|(t, c)| (t.to_owned(), c)).collect();
                prop_assert_eq!(kept, recount);
            }
        }
    }
}
