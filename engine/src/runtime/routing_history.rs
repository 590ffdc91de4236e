//! A conversation's routing history on the wire: each offer's [`RoutingTrace`] as the
//! [`RoutingDecision`] stored with the offer's commit and answered by
//! `GET /v1/conversations/{id}/routing`.

use ::protocol::event::RequiredSkill;
use ::protocol::routing::{ExcludedAgent, RoutingDecision};
use ::protocol::time::from_millis;

use crate::domain::AgentId;
use crate::routing::protocol::OfferId;
use crate::routing::skills::Requirement;
use crate::routing::trace::{Exclusion, RoutingTrace};

/// The skills of a requirement as the wire lists them.
pub(super) fn required_skills(need: &Requirement) -> Vec<RequiredSkill> {
    need.iter()
        .map(|(skill, min_level)| RequiredSkill {
            skill: skill.to_owned(),
            min_level,
        })
        .collect()
}

/// The decision that made `offer` to `agent`.
pub(super) fn decision(offer: &OfferId, agent: &AgentId, trace: &RoutingTrace) -> RoutingDecision {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    RoutingDecision {
        offer_id: offer.to_string(),
        queue_id: offer.queue.to_string(),
        agent_id: agent.to_string(),
        at: from_millis(trace.at),
        selection: trace.selection.as_str().to_owned(),
        reason: trace.summary(),
        needed_skills: required_skills(&trace.need),
        required_skills: required_skills(&trace.required),
        escalation_step: count(trace.step),
        relaxed: trace.relax.as_str().to_owned(),
        waited_secs: u64::try_from(trace.waited / 1000).unwrap_or(0),
        ready_agents: count(trace.ready),
        qualified_agents: count(trace.qualified),
        chosen: trace.chosen.iter().map(ToString::to_string).collect(),
        excluded: trace
            .excluded
            .iter()
            .map(|(agent, rule)| {
                let missing = match rule {
                    Exclusion::MissingSkill(missing) => Some(missing),
                    _ => None,
                };
                ExcludedAgent {
                    agent_id: agent.to_string(),
                    rule: rule.as_str().to_owned(),
                    skill: missing.map(|m| m.skill.to_string()),
                    required_level: missing.map(|m| m.required),
                    level: missing.map(|m| m.has),
                }
            })
            .collect(),
        excluded_counts: trace
            .excluded_counts
            .iter()
            .map(|(rule, n)| ((*rule).to_owned(), count(*n)))
            .collect(),
    }
}
