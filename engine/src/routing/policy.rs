//! The two routing decisions: which agents get a conversation's next offer, and which of an
//! agent's queues serves it when a slot frees up.

use std::collections::HashSet;

use super::{AgentRoster, WaitKey};
use crate::domain::{AgentId, QueueId, RoutingStrategy};

/// The agents to offer a conversation to next, by the queue's strategy: one agent, or every
/// eligible agent for `broadcast`. Agents in `declined` (who rejected or let this
/// conversation time out) are skipped while any other agent is eligible; when every eligible
/// agent has declined, they are asked again rather than leaving the customer waiting.
/// Empty when nobody could take an offer.
pub fn pick_agents(
    strategy: RoutingStrategy,
    roster: &AgentRoster,
    declined: &HashSet<AgentId>,
) -> Vec<AgentId> {
    let fresh = |agent: &&AgentId| !declined.contains(*agent);
    let pick_one = |mut order: Box<dyn Iterator<Item = &AgentId> + '_>| -> Vec<AgentId> {
        // Walks past decliners only; there are few of them, so this stays near O(log n).
        let mut first = None;
        for agent in order.by_ref() {
            if fresh(&agent) {
                return vec![agent.clone()];
            }
            first.get_or_insert(agent);
        }
        first.into_iter().cloned().collect()
    };
    match strategy {
        RoutingStrategy::LongestIdle => pick_one(Box::new(roster.longest_idle())),
        RoutingStrategy::LeastBusy => pick_one(Box::new(roster.least_busy())),
        RoutingStrategy::RoundRobin => pick_one(Box::new(roster.in_turn())),
        RoutingStrategy::Broadcast => {
            let fresh_agents: Vec<AgentId> = roster.longest_idle().filter(fresh).cloned().collect();
            if fresh_agents.is_empty() {
                roster.longest_idle().cloned().collect()
            } else {
                fresh_agents
            }
        }
    }
}

/// The agents of `roster` in the order `strategy` ranks them (broadcast: longest idle).
pub fn strategy_order(
    strategy: RoutingStrategy,
    roster: &AgentRoster,
) -> Box<dyn Iterator<Item = &AgentId> + '_> {
    match strategy {
        RoutingStrategy::LongestIdle | RoutingStrategy::Broadcast => {
            Box::new(roster.longest_idle())
        }
        RoutingStrategy::LeastBusy => Box::new(roster.least_busy()),
        RoutingStrategy::RoundRobin => Box::new(roster.in_turn()),
    }
}

/// Of the oldest eligible conversation of each of an agent's queues, the queue whose
/// conversation is served first (priority, then longest waiting). This is what keeps
/// longest-wait-first true across queues when a slot frees up.
pub fn oldest_across_queues<'a>(
    heads: impl IntoIterator<Item = (&'a QueueId, &'a WaitKey)>,
) -> Option<&'a QueueId> {
    heads
        .into_iter()
        .min_by(|a, b| a.1.cmp(b.1))
        .map(|(queue, _)| queue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConversationId;
    use crate::routing::RosterEntry;
    use proptest::prelude::*;

    fn ag(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }

    fn roster(agents: &[(&str, u16, u16, i64)]) -> AgentRoster {
        let mut roster = AgentRoster::new();
        for (name, load, capacity, idle_since) in agents {
            roster.upsert(RosterEntry {
                agent: ag(name),
                load: *load,
                capacity: *capacity,
                idle_since: *idle_since,
            });
        }
        roster
    }

    fn declined(names: &[&str]) -> HashSet<AgentId> {
        names.iter().map(|n| ag(n)).collect()
    }

    #[test]
    fn longest_idle_agent_gets_the_offer() {
        let r = roster(&[("a", 0, 3, 300), ("b", 0, 3, 100), ("c", 2, 3, 50)]);
        assert_eq!(
            pick_agents(RoutingStrategy::LongestIdle, &r, &declined(&[])),
            vec![ag("c")]
        );
    }

    #[test]
    fn rejected_offer_goes_to_next_longest_idle_agent() {
        let r = roster(&[("a", 0, 3, 300), ("b", 0, 3, 100), ("c", 0, 3, 200)]);
        assert_eq!(
            pick_agents(RoutingStrategy::LongestIdle, &r, &declined(&["b"])),
            vec![ag("c")]
        );
        assert_eq!(
            pick_agents(RoutingStrategy::LongestIdle, &r, &declined(&["b", "c"])),
            vec![ag("a")]
        );
    }

    #[test]
    fn when_everyone_declined_the_longest_idle_is_asked_again() {
        let r = roster(&[("a", 0, 3, 300), ("b", 0, 3, 100)]);
        assert_eq!(
            pick_agents(RoutingStrategy::LongestIdle, &r, &declined(&["a", "b"])),
            vec![ag("b")]
        );
    }

    #[test]
    fn least_busy_agent_gets_the_offer() {
        let r = roster(&[("a", 2, 3, 100), ("b", 1, 3, 300), ("c", 1, 3, 200)]);
        assert_eq!(
            pick_agents(RoutingStrategy::LeastBusy, &r, &declined(&[])),
            vec![ag("c")]
        );
        assert_eq!(
            pick_agents(RoutingStrategy::LeastBusy, &r, &declined(&["c"])),
            vec![ag("b")]
        );
    }

    #[test]
    fn round_robin_takes_turns() {
        let mut r = roster(&[("a", 0, 3, 0), ("b", 0, 3, 0), ("c", 0, 3, 0)]);
        let mut order = Vec::new();
        for _ in 0..4 {
            let agent = pick_agents(RoutingStrategy::RoundRobin, &r, &declined(&[])).remove(0);
            r.note_offered(&agent);
            order.push(agent);
        }
        assert_eq!(order, vec![ag("a"), ag("b"), ag("c"), ag("a")]);
    }

    #[test]
    fn broadcast_offers_every_agent_who_has_not_declined() {
        let r = roster(&[("a", 0, 3, 300), ("b", 0, 3, 100), ("c", 0, 3, 200)]);
        assert_eq!(
            pick_agents(RoutingStrategy::Broadcast, &r, &declined(&["c"])),
            vec![ag("b"), ag("a")]
        );
        assert_eq!(
            pick_agents(RoutingStrategy::Broadcast, &r, &declined(&["a", "b", "c"])).len(),
            3
        );
    }

    #[test]
    fn nobody_eligible_means_no_offer() {
        let r = roster(&[("a", 3, 3, 0)]);
        for strategy in [
            RoutingStrategy::LongestIdle,
            RoutingStrategy::LeastBusy,
            RoutingStrategy::RoundRobin,
            RoutingStrategy::Broadcast,
        ] {
            assert!(pick_agents(strategy, &r, &declined(&[])).is_empty());
        }
    }

    #[test]
    fn freed_slot_serves_the_longest_waiting_across_queues() {
        let key = |p: u16, since: i64, id: &str| WaitKey {
            priority: p,
            waiting_since: since,
            conversation: ConversationId::parse(id).unwrap(),
        };
        let (q1, q2, q3) = (
            QueueId::parse("q1").unwrap(),
            QueueId::parse("q2").unwrap(),
            QueueId::parse("q3").unwrap(),
        );
        let (k1, k2, k3) = (key(0, 500, "c1"), key(0, 200, "c2"), key(0, 300, "c3"));
        assert_eq!(
            oldest_across_queues([(&q1, &k1), (&q2, &k2), (&q3, &k3)]),
            Some(&q2)
        );
        let urgent = key(1, 900, "c4");
        assert_eq!(
            oldest_across_queues([(&q1, &k1), (&q3, &urgent)]),
            Some(&q3)
        );
        assert_eq!(oldest_across_queues(std::iter::empty()), None);
    }

    proptest! {
        /// Any strategy picks only agents with a free slot, never a decliner while a
        /// non-decliner is eligible, and exactly one agent unless broadcasting.
        #[test]
        fn picks_respect_capacity_and_declines(
            agents in proptest::collection::vec((0u16..4, 1u16..4, 0i64..100, any::<bool>()), 0..12),
            strategy in prop_oneof![Just(RoutingStrategy::LongestIdle), Just(RoutingStrategy::LeastBusy), Just(RoutingStrategy::RoundRobin), Just(RoutingStrategy::Broadcast)],
        ) {
            let mut r = AgentRoster::new();
            let mut refused = HashSet::new();
            for (i, (load, capacity, idle, has_declined)) in agents.iter().enumerate() {
                let agent = ag(&format!("a{i}"));
                r.upsert(RosterEntry { agent: agent.clone(), load: *load, capacity: *capacity, idle_since: *idle });
                if *has_declined { refused.insert(agent); }
            }
            let eligible: Vec<AgentId> = (0..agents.len()).map(|i| ag(&format!("a{i}"))).filter(|a| r.get(a).is_some()).collect();
            let picked = pick_agents(strategy, &r, &refused);
            prop_assert_eq!(picked.is_empty(), eligible.is_empty());
            for agent in &picked {
                let entry = r.get(agent).unwrap();
                prop_assert!(entry.load < entry.capacity);
            }
            let any_fresh = eligible.iter().any(|a| !refused.contains(a));
            if any_fresh {
                prop_assert!(picked.iter().all(|a| !refused.contains(a)));
            }
            if strategy != RoutingStrategy::Broadcast {
                prop_assert!(picked.len() <= 1);
            }
        }
    }
}
