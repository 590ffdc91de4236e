//! Why an offer went where it went: the routing trace a queue writes with every offer, for
//! the supervisor's first question ("why did this conversation go to that agent?").
//!
//! A trace names how the agent was chosen, what the conversation needed and the escalation
//! step in force, the agents chosen, and the rule that excluded each other agent the queue
//! knows of. Counts are exact; the agents listed per rule are capped at
//! [`LISTED_PER_RULE`], so that a trace stays small in a queue of thousands of agents.

use std::collections::BTreeMap;

use super::Millis;
use super::skills::{MissingSkill, Relax, Requirement};
use crate::domain::{AgentId, RoutingStrategy};

/// How many agents a trace names per exclusion rule.
pub const LISTED_PER_RULE: usize = 10;

/// Why an agent could not take an offer from a queue at all just then, as the agent last
/// reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unready {
    /// Not logged into the queue.
    NotLoggedIn,
    /// Presence `away`.
    Away,
    /// Presence `offline`.
    Offline,
    /// Every slot taken (offered plus owned).
    AtCapacity,
    /// Choosing among its queues for a slot that just freed (it pulls the oldest itself).
    Choosing,
}

impl Unready {
    /// The reason as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotLoggedIn => "not_logged_in",
            Self::Away => "away",
            Self::Offline => "offline",
            Self::AtCapacity => "at_capacity",
            Self::Choosing => "choosing",
        }
    }
}

/// The rule that kept an agent from an offer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Exclusion {
    /// The agent could take nothing from the queue.
    Unready(Unready),
    /// Ready, but without a skill the conversation needed.
    MissingSkill(MissingSkill),
    /// Ready and skilled, but it declined this conversation before (rejected or let an offer
    /// expire) and someone else could take it.
    DeclinedBefore,
    /// Ready and skilled; the strategy ranked it after the chosen agent.
    RankedLower,
}

impl Exclusion {
    /// The rule as the API names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unready(reason) => reason.as_str(),
            Self::MissingSkill(_) => "missing_skill",
            Self::DeclinedBefore => "declined_before",
            Self::RankedLower => "ranked_lower",
        }
    }
}

/// How the agent of an offer was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selection {
    /// By the queue's strategy.
    Strategy(RoutingStrategy),
    /// The conversation's preferred agent (a snoozed conversation waking goes to its owner
    /// first; a transfer to a queue via an agent).
    Preferred,
    /// The agent freed a slot and pulled the oldest conversation it could take across its
    /// queues.
    Pulled,
    /// A transfer straight to the agent.
    Direct,
}

impl Selection {
    /// The selection as the API names it: the strategy's name, or `preferred`, `pulled`,
    /// `direct`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strategy(RoutingStrategy::LongestIdle) => "longest_idle",
            Self::Strategy(RoutingStrategy::LeastBusy) => "least_busy",
            Self::Strategy(RoutingStrategy::RoundRobin) => "round_robin",
            Self::Strategy(RoutingStrategy::Broadcast) => "broadcast",
            Self::Preferred => "preferred",
            Self::Pulled => "pulled",
            Self::Direct => "direct",
        }
    }
}

/// One routing decision, as recorded with its offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTrace {
    /// When it was decided.
    pub at: Millis,
    /// How the agent was chosen.
    pub selection: Selection,
    /// What the conversation needed (the queue's and its own skills).
    pub need: Requirement,
    /// What it needed at the step in force (the class it waited in).
    pub required: Requirement,
    /// How many escalation steps had been reached.
    pub step: usize,
    /// The relaxation in force.
    pub relax: Relax,
    /// How long the customer had waited.
    pub waited: Millis,
    /// Agents who could take an offer from the queue (whatever their skills).
    pub ready: usize,
    /// Of those, agents with the skills required.
    pub qualified: usize,
    /// The agents offered it (several when broadcasting).
    pub chosen: Vec<AgentId>,
    /// Other agents, each with the rule that excluded it; at most [`LISTED_PER_RULE`] per
    /// rule.
    pub excluded: Vec<(AgentId, Exclusion)>,
    /// How many agents each rule excluded (all of them, listed or not).
    pub excluded_counts: BTreeMap<&'static str, usize>,
}

impl RoutingTrace {
    /// The one-line reason `offer.created` carries, such as
    /// `longest_idle among 3 of 12 ready agents with spanish>=1 (step 1: any_level)`.
    pub fn summary(&self) -> String {
        let mut out = String::from(self.selection.as_str());
        match self.selection {
            Selection::Direct => out.push_str(": transferred to the agent"),
            _ if self.required.is_empty() => {
                out.push_str(&format!(" among {} ready agents", self.qualified));
            }
            _ => out.push_str(&format!(
                " among {} of {} ready agents with {}",
                self.qualified, self.ready, self.required
            )),
        }
        if self.step > 0 {
            out.push_str(&format!(" (step {}: {})", self.step, self.relax.as_str()));
        }
        out
    }

    /// Counts `n` more agents excluded by `rule` without naming them.
    pub fn count_unlisted(&mut self, rule: &'static str, n: usize) {
        if n > 0 {
            *self.excluded_counts.entry(rule).or_default() += n;
        }
    }

    /// Counts one more agent excluded by `rule`, listing it while the rule has room.
    pub fn exclude(&mut self, agent: AgentId, rule: Exclusion) {
        let count = self.excluded_counts.entry(rule.as_str()).or_default();
        *count += 1;
        if *count <= LISTED_PER_RULE {
            self.excluded.push((agent, rule));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(selection: Selection, required: Requirement, step: usize) -> RoutingTrace {
        RoutingTrace {
            at: 0,
            selection,
            need: required.clone(),
            required,
            step,
            relax: if step > 0 {
                Relax::AnyLevel
            } else {
                Relax::Nothing
            },
            waited: 0,
            ready: 12,
            qualified: 3,
            chosen: Vec::new(),
            excluded: Vec::new(),
            excluded_counts: BTreeMap::new(),
        }
    }

    #[test]
    fn the_summary_says_strategy_pool_and_step() {
        let spanish = Requirement::new([("spanish", 1)]);
        assert_eq!(
            trace(
                Selection::Strategy(RoutingStrategy::LongestIdle),
                spanish,
                1
            )
            .summary(),
            "longest_idle among 3 of 12 ready agents with spanish>=1 (step 1: any_level)"
        );
        assert_eq!(
            trace(Selection::Pulled, Requirement::none(), 0).summary(),
            "pulled among 3 ready agents"
        );
        assert_eq!(
            trace(Selection::Direct, Requirement::none(), 0).summary(),
            "direct: transferred to the agent"
        );
    }

    #[test]
    fn exclusions_are_counted_in_full_and_listed_up_to_the_cap() {
        let mut t = trace(Selection::Pulled, Requirement::none(), 0);
        for i in 0..(LISTED_PER_RULE + 5) {
            t.exclude(
                AgentId::parse(format!("a{i}")).unwrap(),
                Exclusion::Unready(Unready::Away),
            );
        }
        t.exclude(AgentId::parse("b").unwrap(), Exclusion::DeclinedBefore);
        assert_eq!(t.excluded_counts["away"], LISTED_PER_RULE + 5);
        assert_eq!(t.excluded_counts["declined_before"], 1);
        assert_eq!(t.excluded.len(), LISTED_PER_RULE + 1);
    }
}
