//! The agents of one queue who could take an offer now (logged in, available, with a free
//! slot), indexed for each routing strategy so that picking one is O(log n).

use std::collections::{BTreeSet, HashMap};

use super::Millis;
use crate::domain::AgentId;

/// What a queue knows of one agent who could take an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// The agent.
    pub agent: AgentId,
    /// Offered plus owned conversations now.
    pub load: u16,
    /// Conversations the agent may hold at once.
    pub capacity: u16,
    /// When the agent's last offer or assignment ended (or the agent became available).
    pub idle_since: Millis,
}

impl RosterEntry {
    /// Load per ten thousand of capacity, the least-busy measure.
    fn busyness(&self) -> u32 {
        u32::from(self.load) * 10_000 / u32::from(self.capacity.max(1))
    }
}

/// The eligible agents of one queue.
#[derive(Debug, Clone, Default)]
pub struct AgentRoster {
    entries: HashMap<AgentId, (RosterEntry, u64)>,
    by_idle: BTreeSet<(Millis, AgentId)>,
    by_busyness: BTreeSet<(u32, Millis, AgentId)>,
    /// Round robin: agents by the turn they last had an offer from this queue.
    by_turn: BTreeSet<(u64, AgentId)>,
    next_turn: u64,
}

impl AgentRoster {
    /// An empty roster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or updates an agent. An agent without a free slot is removed instead: the roster
    /// holds only agents who could take an offer now.
    pub fn upsert(&mut self, entry: RosterEntry) {
        let turn = self.remove_indexes(&entry.agent).unwrap_or(0);
        if entry.load >= entry.capacity {
            self.entries.remove(&entry.agent);
            return;
        }
        self.by_idle.insert((entry.idle_since, entry.agent.clone()));
        self.by_busyness
            .insert((entry.busyness(), entry.idle_since, entry.agent.clone()));
        self.by_turn.insert((turn, entry.agent.clone()));
        self.entries.insert(entry.agent.clone(), (entry, turn));
    }

    /// Removes an agent (logged out, away, offline, or full).
    pub fn remove(&mut self, agent: &AgentId) {
        self.remove_indexes(agent);
        self.entries.remove(agent);
    }

    fn remove_indexes(&mut self, agent: &AgentId) -> Option<u64> {
        let (entry, turn) = self.entries.get(agent)?;
        self.by_idle.remove(&(entry.idle_since, agent.clone()));
        self.by_busyness
            .remove(&(entry.busyness(), entry.idle_since, agent.clone()));
        self.by_turn.remove(&(*turn, agent.clone()));
        Some(*turn)
    }

    /// Records that `agent` was just offered a conversation: round robin moves it to the end
    /// of the turn order.
    pub fn note_offered(&mut self, agent: &AgentId) {
        self.next_turn += 1;
        let turn = self.next_turn;
        if let Some((_, old)) = self.entries.get_mut(agent) {
            let previous = std::mem::replace(old, turn);
            self.by_turn.remove(&(previous, agent.clone()));
            self.by_turn.insert((turn, agent.clone()));
        }
    }

    /// An agent's entry.
    pub fn get(&self, agent: &AgentId) -> Option<&RosterEntry> {
        self.entries.get(agent).map(|(entry, _)| entry)
    }

    /// How many agents could take an offer now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody could take an offer.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Agents, longest idle first.
    pub fn longest_idle(&self) -> impl Iterator<Item = &AgentId> {
        self.by_idle.iter().map(|(_, agent)| agent)
    }

    /// Agents, least busy (load relative to capacity) first; ties to the longest idle.
    pub fn least_busy(&self) -> impl Iterator<Item = &AgentId> {
        self.by_busyness.iter().map(|(_, _, agent)| agent)
    }

    /// Agents in round-robin turn: the one whose last offer from this queue is oldest first.
    pub fn in_turn(&self) -> impl Iterator<Item = &AgentId> {
        self.by_turn.iter().map(|(_, agent)| agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ag(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }

    fn entry(name: &str, load: u16, capacity: u16, idle_since: Millis) -> RosterEntry {
        RosterEntry {
            agent: ag(name),
            load,
            capacity,
            idle_since,
        }
    }

    #[test]
    fn roster_orders_by_idle_time() {
        let mut roster = AgentRoster::new();
        roster.upsert(entry("a", 0, 3, 300));
        roster.upsert(entry("b", 0, 3, 100));
        roster.upsert(entry("c", 0, 3, 200));
        assert_eq!(
            roster.longest_idle().cloned().collect::<Vec<_>>(),
            vec![ag("b"), ag("c"), ag("a")]
        );
    }

    #[test]
    fn roster_orders_by_relative_load() {
        let mut roster = AgentRoster::new();
        roster.upsert(entry("a", 1, 2, 100)); // 50 %
        roster.upsert(entry("b", 1, 5, 300)); // 20 %
        roster.upsert(entry("c", 1, 5, 200)); // 20 %, idle longer than b
        assert_eq!(
            roster.least_busy().cloned().collect::<Vec<_>>(),
            vec![ag("c"), ag("b"), ag("a")]
        );
    }

    #[test]
    fn full_agents_leave_the_roster() {
        let mut roster = AgentRoster::new();
        roster.upsert(entry("a", 2, 3, 100));
        roster.upsert(entry("a", 3, 3, 100));
        assert!(roster.is_empty());
        assert_eq!(roster.longest_idle().count(), 0);
    }

    #[test]
    fn updating_an_agent_reindexes_it() {
        let mut roster = AgentRoster::new();
        roster.upsert(entry("a", 0, 3, 100));
        roster.upsert(entry("b", 0, 3, 200));
        roster.upsert(entry("a", 1, 3, 300));
        assert_eq!(
            roster.longest_idle().cloned().collect::<Vec<_>>(),
            vec![ag("b"), ag("a")]
        );
        assert_eq!(roster.len(), 2);
    }

    #[test]
    fn round_robin_moves_the_offered_agent_to_the_end() {
        let mut roster = AgentRoster::new();
        for name in ["a", "b", "c"] {
            roster.upsert(entry(name, 0, 3, 0));
        }
        roster.note_offered(&ag("a"));
        assert_eq!(
            roster.in_turn().cloned().collect::<Vec<_>>(),
            vec![ag("b"), ag("c"), ag("a")]
        );
        roster.note_offered(&ag("b"));
        // An update (load changed) keeps the agent's turn.
        roster.upsert(entry("b", 1, 3, 0));
        assert_eq!(
            roster.in_turn().cloned().collect::<Vec<_>>(),
            vec![ag("c"), ag("a"), ag("b")]
        );
    }
}
