//! A conversation's routing history as `GET /v1/conversations/{id}/routing` answers it: one
//! [`RoutingDecision`] per offer, saying why it went to its agent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::event::RequiredSkill;
use crate::time::Time;

/// Why one offer went to its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingDecision {
    /// The offer.
    pub offer_id: String,
    /// The queue that made it.
    pub queue_id: String,
    /// The agent offered it.
    pub agent_id: String,
    /// When it was decided.
    #[schema(value_type = String, format = DateTime)]
    pub at: Time,
    /// How the agent was chosen: the queue's strategy (`longest_idle`, `least_busy`,
    /// `round_robin`, `broadcast`), `preferred` (a waking conversation's owner first),
    /// `pulled` (the agent freed a slot and took the oldest conversation it could take
    /// across its queues) or `direct` (a transfer straight to the agent).
    pub selection: String,
    /// The same decision in one line, as `offer.created` carries it.
    pub reason: String,
    /// What the conversation needed: its queue's skills and its own.
    pub needed_skills: Vec<RequiredSkill>,
    /// What it needed at the escalation step in force (relaxed from `needed_skills`).
    pub required_skills: Vec<RequiredSkill>,
    /// How many of its queue's escalation steps it had reached (0: none).
    pub escalation_step: u32,
    /// The relaxation in force: `none`, `any_level` or `any_skill`.
    pub relaxed: String,
    /// How long the customer had waited, in seconds.
    pub waited_secs: u64,
    /// Agents who could take an offer from the queue then (logged in, available, with a free
    /// slot), whatever their skills.
    pub ready_agents: u32,
    /// Of those, agents with the skills required.
    pub qualified_agents: u32,
    /// Every agent offered the conversation by this decision (several when broadcasting).
    pub chosen: Vec<String>,
    /// Other agents the queue knew of, each with the rule that excluded it; at most ten per
    /// rule (`excluded_counts` has them all).
    pub excluded: Vec<ExcludedAgent>,
    /// How many agents each rule excluded.
    pub excluded_counts: BTreeMap<String, u32>,
}

/// An agent kept from an offer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExcludedAgent {
    /// The agent.
    pub agent_id: String,
    /// The rule: `not_logged_in`, `away`, `offline`, `at_capacity`, `choosing` (picking
    /// from its queues for a slot that just freed), `missing_skill`, `declined_before`
    /// (rejected it or let an offer expire) or `ranked_lower` (the strategy put it after
    /// the chosen agent).
    pub rule: String,
    /// For `missing_skill`: the skill lacking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// For `missing_skill`: the level required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_level: Option<u8>,
    /// For `missing_skill`: the agent's level (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
}
