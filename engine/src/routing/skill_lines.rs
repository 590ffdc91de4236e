//! A queue's waiting conversations split by what they need of an agent, each split with the
//! ready agents who meet it — so that routing by skill stays O(log n).
//!
//! Conversations needing the same skills (after their escalation step relaxed them) form a
//! *class*: one line in serving order and one roster of the ready agents who qualify. The
//! next offer is the head of whichever class serves first among those with a ready agent;
//! a class nobody can serve never blocks the others. The number of classes is the number of
//! distinct requirements in line (a handful: they come from configuration), so a decision
//! costs O(classes + log n), and an agent's news O(classes × log n).
//!
//! Escalation is kept here too: each conversation's next step is indexed by the time it is
//! due, so moving the conversations whose step came costs O(log n) each.

use std::collections::BTreeSet;

use super::skills::{Needs, Requirement, Skills, StepInForce};
use super::{AgentRoster, Millis, RosterEntry, WaitKey};
use crate::domain::{AgentId, ConversationId};
use crate::fast_hash::FastMap;

/// How many classes with nobody in line are kept (their rosters cost an update per agent
/// news); past that, a class is dropped when its line empties and rebuilt when needed.
const IDLE_CLASSES_KEPT: usize = 32;

/// One class: the conversations needing one requirement, and the ready agents meeting it.
#[derive(Debug, Clone, Default)]
struct Class {
    line: BTreeSet<WaitKey>,
    roster: AgentRoster,
}

/// Where a conversation in line is placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// What it brings of its own (its number's skills, its keywords', an agent's choice;
    /// the queues it overflowed from).
    pub own: Needs,
    /// What it needs before any relaxation (the queue's and its own).
    pub need: Requirement,
    /// What it needs now: the class it waits in.
    pub class: Requirement,
    /// Its escalation step.
    pub step: StepInForce,
}

/// The classes of one queue, and its ready agents with their skills.
#[derive(Debug, Clone, Default)]
pub struct SkillLines {
    classes: FastMap<Requirement, Class>,
    placed: FastMap<ConversationId, (WaitKey, Placement)>,
    /// Conversations in line whose next escalation step is still to come, by when.
    due: BTreeSet<(Millis, ConversationId)>,
    /// Every ready agent (logged in, available, with a free slot) and its skills.
    agents: FastMap<AgentId, (RosterEntry, Skills)>,
}

impl SkillLines {
    /// No conversations, no agents.
    pub fn new() -> Self {
        let mut lines = Self::default();
        lines.classes.insert(Requirement::none(), Class::default());
        lines
    }

    /// Puts a conversation in the line of its class (`placement.class`).
    pub fn insert(&mut self, key: WaitKey, placement: Placement) {
        self.remove(&key.conversation);
        if let Some(at) = placement.step.next_at {
            self.due.insert((at, key.conversation.clone()));
        }
        self.class_mut(&placement.class).line.insert(key.clone());
        self.placed
            .insert(key.conversation.clone(), (key, placement));
    }

    /// Takes a conversation out of line; returns where it was.
    pub fn remove(&mut self, conversation: &ConversationId) -> Option<(WaitKey, Placement)> {
        let (key, placement) = self.placed.remove(conversation)?;
        if let Some(at) = placement.step.next_at {
            self.due.remove(&(at, conversation.clone()));
        }
        let empty = match self.classes.get_mut(&placement.class) {
            Some(class) => {
                class.line.remove(&key);
                class.line.is_empty()
            }
            None => false,
        };
        if empty && !placement.class.is_empty() && self.classes.len() > IDLE_CLASSES_KEPT {
            self.classes.remove(&placement.class);
        }
        Some((key, placement))
    }

    /// Where a conversation in line is placed.
    pub fn placement(&self, conversation: &ConversationId) -> Option<&Placement> {
        self.placed.get(conversation).map(|(_, p)| p)
    }

    /// When the earliest escalation step is due.
    pub fn next_due(&self) -> Option<Millis> {
        self.due.first().map(|(at, _)| *at)
    }

    /// The conversations whose next escalation step is due at `now`, in order.
    pub fn due_at(&self, now: Millis) -> Vec<ConversationId> {
        self.due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, conversation)| conversation.clone())
            .collect()
    }

    /// The class serving first among those with a ready agent: its requirement and its
    /// head. `None` when no waiting conversation has an agent who could take it.
    pub fn servable(&self) -> Option<(&Requirement, &WaitKey)> {
        self.classes
            .iter()
            .filter(|(_, class)| !class.roster.is_empty())
            .filter_map(|(need, class)| class.line.first().map(|head| (need, head)))
            .min_by(|a, b| a.1.cmp(b.1))
    }

    /// The ready agents who meet `class` (an empty roster for a class not in line).
    pub fn roster(&self, class: &Requirement) -> Option<&AgentRoster> {
        self.classes.get(class).map(|c| &c.roster)
    }

    /// Every ready agent, whatever its skills.
    pub fn ready(&self) -> &AgentRoster {
        &self.classes[&Requirement::none()].roster
    }

    /// A ready agent's skills.
    pub fn skills_of(&self, agent: &AgentId) -> Option<&Skills> {
        self.agents.get(agent).map(|(_, skills)| skills)
    }

    /// The first conversation in serving order that an agent with `skills` could take and
    /// `eligible` accepts (it has not declined it): the head of each class it qualifies for,
    /// compared.
    pub fn oldest_for(
        &self,
        skills: &Skills,
        mut eligible: impl FnMut(&WaitKey) -> bool,
    ) -> Option<&WaitKey> {
        self.classes
            .iter()
            .filter(|(need, _)| need.met_by(skills))
            .filter_map(|(_, class)| class.line.iter().find(|key| eligible(key)))
            .min()
    }

    /// Adds or updates a ready agent (one at capacity leaves every roster).
    pub fn upsert_agent(&mut self, entry: RosterEntry, skills: Skills) {
        if entry.load >= entry.capacity {
            self.remove_agent(&entry.agent);
            return;
        }
        for (need, class) in self.classes.iter_mut() {
            if need.met_by(&skills) {
                class.roster.upsert(entry.clone());
            } else {
                class.roster.remove(&entry.agent);
            }
        }
        self.agents.insert(entry.agent.clone(), (entry, skills));
    }

    /// Removes an agent who can take nothing now.
    pub fn remove_agent(&mut self, agent: &AgentId) {
        if self.agents.remove(agent).is_some() {
            for class in self.classes.values_mut() {
                class.roster.remove(agent);
            }
        }
    }

    /// Round robin: the agent just had an offer, in every class it serves.
    pub fn note_offered(&mut self, agent: &AgentId) {
        for class in self.classes.values_mut() {
            class.roster.note_offered(agent);
        }
    }

    /// Whether nobody waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// A class's state, made (with the ready agents who meet it) when first needed.
    fn class_mut(&mut self, need: &Requirement) -> &mut Class {
        if !self.classes.contains_key(need) {
            let mut class = Class::default();
            for (entry, skills) in self.agents.values() {
                if need.met_by(skills) {
                    class.roster.upsert(entry.clone());
                }
            }
            self.classes.insert(need.clone(), class);
        }
        self.classes.get_mut(need).expect("inserted above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::skills::Relax;

    fn cv(n: u32) -> ConversationId {
        ConversationId::parse(format!("cv{n}")).unwrap()
    }

    fn ag(name: &str) -> AgentId {
        AgentId::parse(name).unwrap()
    }

    fn key(n: u32, since: Millis) -> WaitKey {
        WaitKey {
            priority: 0,
            waiting_since: since,
            conversation: cv(n),
        }
    }

    fn placed(need: &Requirement) -> Placement {
        Placement {
            own: Needs::skills(need.clone()),
            need: need.clone(),
            class: need.clone(),
            step: StepInForce {
                reached: 0,
                relax: Relax::Nothing,
                overflow: None,
                next_at: None,
            },
        }
    }

    fn agent(lines: &mut SkillLines, name: &str, skills: &[(&str, u8)]) {
        lines.upsert_agent(
            RosterEntry {
                agent: ag(name),
                load: 0,
                capacity: 1,
                idle_since: 0,
            },
            Skills::new(skills.iter().copied()),
        );
    }

    #[test]
    fn a_conversation_nobody_can_serve_does_not_block_the_line() {
        let mut lines = SkillLines::new();
        let spanish = Requirement::new([("spanish", 3)]);
        lines.insert(key(1, 100), placed(&spanish));
        lines.insert(key(2, 200), placed(&Requirement::none()));
        assert_eq!(lines.servable(), None);
        agent(&mut lines, "ann", &[("french", 5)]);
        let (class, head) = lines.servable().unwrap();
        assert_eq!((class, &head.conversation), (&Requirement::none(), &cv(2)));
        agent(&mut lines, "bob", &[("spanish", 4)]);
        let (class, head) = lines.servable().unwrap();
        assert_eq!((class, &head.conversation), (&spanish, &cv(1)));
        assert_eq!(lines.roster(&spanish).unwrap().len(), 1);
        assert_eq!(lines.ready().len(), 2);
    }

    #[test]
    fn an_agent_pulls_the_oldest_it_qualifies_for() {
        let mut lines = SkillLines::new();
        let spanish = Requirement::new([("spanish", 1)]);
        lines.insert(key(1, 100), placed(&spanish));
        lines.insert(key(2, 200), placed(&Requirement::none()));
        let oldest = |skills: &[(&str, u8)]| {
            lines
                .oldest_for(&Skills::new(skills.iter().copied()), |_| true)
                .map(|k| k.conversation.clone())
        };
        assert_eq!(oldest(&[]), Some(cv(2)));
        assert_eq!(oldest(&[("spanish", 1)]), Some(cv(1)));
    }

    #[test]
    fn a_class_made_late_finds_the_agents_already_ready() {
        let mut lines = SkillLines::new();
        agent(&mut lines, "ann", &[("billing", 2)]);
        agent(&mut lines, "bob", &[]);
        let billing = Requirement::new([("billing", 2)]);
        lines.insert(key(1, 100), placed(&billing));
        assert_eq!(
            lines
                .roster(&billing)
                .unwrap()
                .longest_idle()
                .collect::<Vec<_>>(),
            vec![&ag("ann")]
        );
        lines.remove_agent(&ag("ann"));
        assert!(lines.roster(&billing).unwrap().is_empty());
        assert_eq!(lines.servable(), None);
    }

    #[test]
    fn escalation_due_times_are_indexed_and_forgotten_with_the_conversation() {
        let mut lines = SkillLines::new();
        let mut p = placed(&Requirement::new([("x", 2)]));
        p.step.next_at = Some(500);
        lines.insert(key(1, 100), p);
        assert_eq!(lines.next_due(), Some(500));
        assert!(lines.due_at(499).is_empty());
        assert_eq!(lines.due_at(500), vec![cv(1)]);
        lines.remove(&cv(1));
        assert_eq!(lines.next_due(), None);
        assert!(lines.is_empty());
    }
}
