//! Explaining a routing decision: from what a queue knows when it offers (its skill classes
//! and ready agents, the agents not ready and why, who declined the conversation), the
//! [`RoutingTrace`] written with the offer. Every count is exact; the agents named per rule
//! come from bounded walks, so a trace costs little in a queue of thousands of agents.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::skill_lines::{Placement, SkillLines};
use super::skills::Requirement;
use super::trace::{Exclusion, LISTED_PER_RULE, RoutingTrace, Selection, Unready};
use super::{Millis, WaitKey, strategy_order};
use crate::domain::{AgentId, RoutingStrategy};

/// What a queue knows as it offers a conversation still in line.
pub(super) struct Decision<'a> {
    pub(super) classes: &'a SkillLines,
    pub(super) unready: &'a BTreeMap<Unready, BTreeSet<AgentId>>,
    pub(super) declined: Option<&'a HashSet<AgentId>>,
    pub(super) strategy: RoutingStrategy,
    pub(super) key: Option<&'a WaitKey>,
    pub(super) placement: Option<&'a Placement>,
    pub(super) selection: Selection,
    pub(super) chosen: &'a [AgentId],
    pub(super) now: Millis,
}

/// Why `chosen` got the conversation: what it needed at its step, and the rule that excluded
/// each other agent the queue knows of.
pub(super) fn decision(d: &Decision<'_>) -> RoutingTrace {
    let required = d.placement.map(|p| p.class.clone()).unwrap_or_default();
    let ready = d.classes.ready();
    let qualified = d.classes.roster(&required).unwrap_or(ready);
    let mut trace = RoutingTrace {
        at: d.now,
        selection: d.selection,
        need: d.placement.map(|p| p.need.clone()).unwrap_or_default(),
        required: required.clone(),
        step: d.placement.map_or(0, |p| p.step.reached),
        relax: d.placement.map(|p| p.step.relax).unwrap_or_default(),
        waited: d.key.map_or(0, |k| (d.now - k.waiting_since).max(0)),
        ready: ready.len(),
        qualified: qualified.len(),
        chosen: d.chosen.to_vec(),
        excluded: Vec::new(),
        excluded_counts: Default::default(),
    };
    for (reason, agents) in d.unready {
        for agent in agents.iter().take(LISTED_PER_RULE) {
            trace.exclude(agent.clone(), Exclusion::Unready(*reason));
        }
        trace.count_unlisted(
            reason.as_str(),
            agents.len().saturating_sub(LISTED_PER_RULE),
        );
    }
    // Ready but unskilled: named from a bounded walk, counted exactly.
    let unskilled = ready.len() - qualified.len();
    let mut listed = 0;
    for agent in ready.longest_idle().take(20 * LISTED_PER_RULE) {
        if listed == unskilled.min(LISTED_PER_RULE) {
            break;
        }
        if qualified.get(agent).is_none()
            && let Some(missing) = d
                .classes
                .skills_of(agent)
                .and_then(|skills| required.missing(skills))
        {
            trace.exclude(agent.clone(), Exclusion::MissingSkill(missing));
            listed += 1;
        }
    }
    trace.count_unlisted("missing_skill", unskilled.saturating_sub(listed));
    let mut declined_ready = 0;
    for agent in d.declined.into_iter().flatten() {
        if qualified.get(agent).is_some() && !d.chosen.contains(agent) {
            trace.exclude(agent.clone(), Exclusion::DeclinedBefore);
            declined_ready += 1;
        }
    }
    let ranked_lower = qualified
        .len()
        .saturating_sub(declined_ready)
        .saturating_sub(
            d.chosen
                .iter()
                .filter(|a| qualified.get(a).is_some())
                .count(),
        );
    let mut listed = 0;
    for agent in strategy_order(d.strategy, qualified) {
        if listed == ranked_lower.min(LISTED_PER_RULE) {
            break;
        }
        if !d.chosen.contains(agent) && !d.declined.is_some_and(|set| set.contains(agent)) {
            trace.exclude(agent.clone(), Exclusion::RankedLower);
            listed += 1;
        }
    }
    trace.count_unlisted("ranked_lower", ranked_lower.saturating_sub(listed));
    trace
}

/// The trace of a transfer straight to `agent`: the sender chose, nothing was excluded.
pub(super) fn direct(
    classes: &SkillLines,
    key: &WaitKey,
    need: &Requirement,
    agent: &AgentId,
    now: Millis,
) -> RoutingTrace {
    RoutingTrace {
        at: now,
        selection: Selection::Direct,
        need: need.clone(),
        required: Requirement::none(),
        step: 0,
        relax: Default::default(),
        waited: (now - key.waiting_since).max(0),
        ready: classes.ready().len(),
        qualified: classes.ready().len(),
        chosen: vec![agent.clone()],
        excluded: Vec::new(),
        excluded_counts: Default::default(),
    }
}
