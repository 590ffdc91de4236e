//! The configuration resources an admin manages: teams, queues, agents, business numbers,
//! disposition codes, templates, and the API tokens issued to agents.
//!
//! Every field is a validated type, so a resource that exists is a valid one; the few rules
//! that span fields live in each resource's `validate`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::skills::{
    AgentSkills, EscalationStep, KeywordSkill, SkillRequirement, validate_agent_skills,
    validate_escalation, validate_keywords, validate_requirements,
};
use super::{
    AgentId, AlertSecs, Capacity, DispositionId, MissedOffers, Name, NumberId, OfferTimeoutSecs,
    PhoneNumber, Priority, ProviderAccountId, PublicMinutes, QueueId, Slug, TeamId, TemplateBody,
    TemplateId, TokenId, ValidationError,
};

/// The most teams one agent may belong to: visibility checks walk this list.
pub const MAX_TEAMS_PER_AGENT: usize = 50;

/// A group of agents; agents see only conversations of their teams' queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    /// The team's id.
    pub id: TeamId,
    /// Unique among teams.
    pub name: Name,
    /// The reasons its agents may give for being `away` (break, lunch, ...), reported in
    /// statistics and metrics; `missed_offers` is the engine's own and always allowed.
    #[serde(default = "default_away_reasons")]
    #[schema(value_type = Vec<String>, example = json!(["break", "lunch", "training", "meeting"]))]
    pub away_reasons: Vec<Slug>,
}

/// The most away reasons a team may have: each is a metrics label, so they stay few.
pub const MAX_AWAY_REASONS: usize = 20;

/// The away reason the engine gives when it sets an agent away after missed offers.
pub const MISSED_OFFERS_REASON: &str = "missed_offers";

/// The away reasons a team starts with (teams stored before reasons existed get them too).
pub fn default_away_reasons() -> Vec<Slug> {
    ["break", "lunch", "training", "meeting"]
        .into_iter()
        .map(|code| Slug::parse("away_reasons", code).expect("valid slugs"))
        .collect()
}

impl Team {
    /// Checks the away reasons: at most [`MAX_AWAY_REASONS`], none twice, not the engine's own.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.away_reasons.len() > MAX_AWAY_REASONS {
            return Err(ValidationError::invalid(
                "away_reasons",
                format!("must list at most {MAX_AWAY_REASONS} reasons"),
            ));
        }
        for (i, reason) in self.away_reasons.iter().enumerate() {
            if self.away_reasons[..i].contains(reason) {
                return Err(ValidationError::invalid(
                    format!("away_reasons[{i}]"),
                    format!("lists {reason} twice"),
                ));
            }
            if reason.as_str() == MISSED_OFFERS_REASON {
                return Err(ValidationError::invalid(
                    format!("away_reasons[{i}]"),
                    "missed_offers is set by the engine only",
                ));
            }
        }
        Ok(())
    }
}

/// How a queue picks the agent for its next offer, among the agents who could take it now
/// (logged into the queue, `available`, with a free slot), skipping those who declined this
/// conversation while anyone else could take it:
/// `longest_idle` (default) — the agent idle longest, where an agent's idle time restarts
/// when it becomes available, when it is offered a conversation, and when an offer or a
/// conversation of its ends; so free agents take turns (A, B, C, A), whatever their load.
/// `least_busy` — the lowest load relative to capacity, ties to the longest idle.
/// `round_robin` — in turn: the agent whose last offer from this queue is oldest.
/// `broadcast` — every such agent at once; the first accept wins and the other offers are
/// rescinded (`reason: taken`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// The agent idle longest (idle restarts on becoming available, on each offer, and when
    /// an offer or conversation ends).
    #[default]
    LongestIdle,
    /// The agent with the lowest load relative to capacity.
    LeastBusy,
    /// Agents in turn, in a stable order.
    RoundRobin,
    /// Every eligible agent at once; the first accept wins, the other offers are rescinded.
    Broadcast,
}

/// When a queue raises its two alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueAlerts {
    /// Seconds a conversation may wait unclaimed before `alert.raised` (0: never).
    pub unclaimed_secs: AlertSecs,
    /// Seconds an owned conversation's customer may wait for a reply before `alert.raised`
    /// (0: never).
    pub awaiting_reply_secs: AlertSecs,
}

/// A waiting line of conversations and the agents logged into it; belongs to a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Queue {
    /// The queue's id.
    pub id: QueueId,
    /// Unique among queues.
    pub name: Name,
    /// The team whose agents work this queue.
    pub team_id: TeamId,
    /// How the next agent is picked.
    pub strategy: RoutingStrategy,
    /// Seconds an agent has to answer an offer.
    pub offer_timeout_secs: OfferTimeoutSecs,
    /// Minutes before an owned conversation whose customer waits becomes public (0: never).
    pub public_minutes: PublicMinutes,
    /// Alert thresholds.
    pub alerts: QueueAlerts,
    /// Whether completing a conversation requires at least one disposition.
    pub disposition_required: bool,
    /// Higher is served first by agents logged into several queues.
    pub priority: Priority,
    /// Offers an agent may let time out in a row before it is set away (0: never).
    #[serde(default)]
    pub missed_offers_before_away: MissedOffers,
    /// Skills every conversation of the queue needs of the agent offered it (besides what
    /// the conversation needs itself).
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
    /// Words in a customer's first text that make the conversation need a skill.
    #[serde(default)]
    pub keyword_skills: Vec<KeywordSkill>,
    /// How the skills needed relax as the customer waits, and when a conversation
    /// overflows to another queue; in order of time waited.
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
}

impl Queue {
    /// Checks the skills, keywords and escalation steps.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_requirements("required_skills", &self.required_skills)?;
        validate_keywords(&self.keyword_skills)?;
        validate_escalation(&self.id, &self.escalation)
    }

    /// The queue an overflow step sends conversations to, if any.
    pub fn overflow_to(&self) -> Option<&QueueId> {
        self.escalation
            .iter()
            .find_map(|step| step.overflow_to.as_ref())
    }
}

pub use ::protocol::vocabulary::AgentRole;

pub use ::protocol::vocabulary::Presence;

/// A person who works conversations (or supervises those who do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    /// The agent's id.
    pub id: AgentId,
    /// Display name, shown to customers through `{{agent.name}}`.
    pub name: Name,
    /// Agent or supervisor.
    pub role: AgentRole,
    /// The teams whose queues the agent may work; no duplicates.
    pub team_ids: Vec<TeamId>,
    /// Conversations the agent may hold at once (offered plus owned).
    pub capacity: Capacity,
    /// The campaign the agent's outbound texts come from when a start names neither a
    /// number nor a campaign.
    #[serde(default)]
    pub default_campaign: Option<Name>,
    /// The agent's skills, each with a level from 1 to 5 (`{"spanish": 3}`): queues offer a
    /// conversation only to agents with the skills it needs.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, u8>, example = json!({"spanish": 3, "billing": 1}))]
    pub skills: AgentSkills,
}

impl Agent {
    /// Checks the rules that span fields: at most 50 teams, none twice; at most 50 skills.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_agent_skills(&self.skills)?;
        if self.team_ids.len() > MAX_TEAMS_PER_AGENT {
            return Err(ValidationError::invalid(
                "team_ids",
                format!("must list at most {MAX_TEAMS_PER_AGENT} teams"),
            ));
        }
        for (i, team) in self.team_ids.iter().enumerate() {
            if self.team_ids[..i].contains(team) {
                return Err(ValidationError::invalid(
                    format!("team_ids[{i}]"),
                    format!("lists team {team} twice"),
                ));
            }
        }
        Ok(())
    }
}

/// A business phone number customers text; feeds one queue under one campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Number {
    /// The number resource's id.
    pub id: NumberId,
    /// The number in E.164; unique among numbers.
    pub phone: PhoneNumber,
    /// Why customers text this number; shown on every conversation it opens.
    pub campaign: Name,
    /// The queue its conversations wait in.
    pub queue_id: QueueId,
    /// The SMS provider account that sends and receives for it; without one its texts go
    /// through the built-in simulator.
    pub provider_account_id: Option<String>,
    /// Segments it may send per second (carriers allow a long code about 1; toll-free and
    /// short codes more).
    #[serde(default = "default_sends_per_second")]
    pub sends_per_second: u32,
    /// What a customer texting HELP or INFO gets back (a default naming the campaign when
    /// unset).
    #[serde(default)]
    pub help_text: Option<String>,
    /// Added to the first text Switchboard sends a customer from this number (a default when
    /// unset; empty for none).
    #[serde(default)]
    pub opt_out_footer: Option<String>,
    /// Skills every conversation this number opens needs (a Spanish-language line, say).
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
}

fn default_sends_per_second() -> u32 {
    DEFAULT_SENDS_PER_SECOND
}

/// A long code's send rate: one segment per second.
pub const DEFAULT_SENDS_PER_SECOND: u32 = 1;
/// The fastest send rate a number may have (a short code's).
pub const MAX_SENDS_PER_SECOND: u32 = 1000;
/// The footer of a first text when the number sets none.
pub const DEFAULT_OPT_OUT_FOOTER: &str = "Reply STOP to unsubscribe.";
/// The longest help text or footer (two GSM-7 segments).
pub const MAX_COMPLIANCE_TEXT: usize = 306;

impl Number {
    /// The help text a HELP or INFO keyword gets.
    pub fn help_answer(&self) -> String {
        match &self.help_text {
            Some(text) => text.clone(),
            None => format!(
                "{}: you are texting our support team; reply here and an agent will answer. Reply STOP to unsubscribe.",
                self.campaign
            ),
        }
    }

    /// The footer of the first text to a customer (`None`: switched off).
    pub fn footer(&self) -> Option<&str> {
        match self.opt_out_footer.as_deref() {
            None => Some(DEFAULT_OPT_OUT_FOOTER),
            Some("") => None,
            Some(footer) => Some(footer),
        }
    }

    /// Whose texts an opt-out covers: the number's provider account (carriers keep opt-outs
    /// per sender account), or the number itself when it has none.
    pub fn opt_out_scope(&self) -> String {
        self.provider_account_id
            .clone()
            .unwrap_or_else(|| self.id.to_string())
    }

    /// Checks the provider account id's form (the account itself is configured with the SMS
    /// channel), the send rate and the compliance texts.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_requirements("required_skills", &self.required_skills)?;
        if !(1..=MAX_SENDS_PER_SECOND).contains(&self.sends_per_second) {
            return Err(ValidationError::invalid(
                "sends_per_second",
                format!("must be 1 to {MAX_SENDS_PER_SECOND}"),
            ));
        }
        for (field, text) in [
            ("help_text", &self.help_text),
            ("opt_out_footer", &self.opt_out_footer),
        ] {
            if let Some(text) = text
                && (text.chars().count() > MAX_COMPLIANCE_TEXT
                    || (field == "help_text" && text.trim().is_empty()))
            {
                return Err(ValidationError::invalid(
                    field,
                    format!("must be 1 to {MAX_COMPLIANCE_TEXT} characters"),
                ));
            }
        }
        if let Some(account) = &self.provider_account_id {
            let ok = !account.is_empty()
                && account.len() <= 64
                && account
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !ok {
                return Err(ValidationError::invalid(
                    "provider_account_id",
                    "must be 1 to 64 letters, digits, '_', '-' or '.'",
                ));
            }
        }
        Ok(())
    }
}

/// Which SMS provider an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Twilio, or a service speaking its REST API and webhooks.
    Twilio,
    /// The in-process simulator for demos and load tests.
    Simulator,
}

/// An SMS provider account: the credentials that receive (webhook signatures) and send for
/// the numbers that name it. The auth token is a secret: stored, never answered or logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderAccount {
    /// The account's id.
    pub id: ProviderAccountId,
    /// Unique among provider accounts.
    pub name: Name,
    /// Which provider.
    pub provider: ProviderKind,
    /// Twilio's `AccountSid` (`AC…`).
    pub account_sid: Option<String>,
    /// Twilio's auth token: signs webhooks and authenticates sends. Write-only.
    pub auth_token: Option<String>,
    /// The provider's REST base URL (default `https://api.twilio.com`).
    pub base_url: Option<String>,
    /// How a simulator account behaves (its defaults when unset).
    #[serde(default)]
    pub simulator: Option<SimulatorSettings>,
}

/// How the simulator behaves: when it reports delivery, how often it fails, and how its
/// customers answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    /// From hand-off to `delivered` (`sent` comes halfway), milliseconds; at most 600000.
    #[serde(default = "default_delivery_delay_ms")]
    #[schema(maximum = 600000)]
    pub delivery_delay_ms: u32,
    /// Share of texts reported `undelivered` (error 30003), percent.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub failure_percent: u8,
    /// Share of delivered texts the customer answers, percent.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub reply_percent: u8,
    /// From delivery to the customer's answer, milliseconds; at most 600000.
    #[serde(default = "default_reply_delay_ms")]
    #[schema(maximum = 600000)]
    pub reply_delay_ms: u32,
    /// Share of the customers' answers that are `STOP` (an opt-out), percent.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub opt_out_percent: u8,
}

fn default_delivery_delay_ms() -> u32 {
    1000
}

fn default_reply_delay_ms() -> u32 {
    3000
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            delivery_delay_ms: default_delivery_delay_ms(),
            failure_percent: 0,
            reply_percent: 0,
            reply_delay_ms: default_reply_delay_ms(),
            opt_out_percent: 0,
        }
    }
}

impl SimulatorSettings {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.delivery_delay_ms > 600_000 || self.reply_delay_ms > 600_000 {
            return Err(ValidationError::invalid(
                "simulator",
                "delays must be at most 600000 ms",
            ));
        }
        if self.failure_percent > 100 || self.reply_percent > 100 || self.opt_out_percent > 100 {
            return Err(ValidationError::invalid(
                "simulator",
                "percentages must be 0 to 100",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for ProviderAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderAccount")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "[secret]"))
            .finish_non_exhaustive()
    }
}

impl ProviderAccount {
    /// Checks the fields' forms: a Twilio account needs its SID and token.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(sid) = &self.account_sid {
            let ok = sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                return Err(ValidationError::invalid(
                    "account_sid",
                    "must be AC followed by 32 hexadecimal digits",
                ));
            }
        }
        if let Some(token) = &self.auth_token
            && (token.len() < 8
                || token.len() > 128
                || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ValidationError::invalid(
                "auth_token",
                "must be 8 to 128 visible ASCII characters",
            ));
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ValidationError::invalid(
                "base_url",
                "must be an http:// or https:// URL",
            ));
        }
        if let Some(settings) = &self.simulator {
            if self.provider != ProviderKind::Simulator {
                return Err(ValidationError::NotApplicable {
                    field: "simulator".into(),
                    message: "only a simulator account takes simulator settings".into(),
                });
            }
            settings.validate()?;
        }
        if self.provider == ProviderKind::Twilio
            && (self.account_sid.is_none() || self.auth_token.is_none())
        {
            return Err(ValidationError::invalid(
                "auth_token",
                "a twilio account needs account_sid and auth_token",
            ));
        }
        Ok(())
    }
}

/// An outcome code an agent records on a conversation before completing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Disposition {
    /// The disposition's id.
    pub id: DispositionId,
    /// The machine code reports key on, unique among dispositions, e.g. `resolved`.
    pub code: Slug,
    /// What agents see, e.g. `Resolved`.
    pub label: Name,
    /// Retired codes stay for history but are no longer offered to agents.
    pub active: bool,
}

/// Where a template applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TemplateScope {
    /// Everywhere.
    Global,
    /// Conversations of this team's queues.
    Team {
        /// The team.
        team_id: TeamId,
    },
    /// Conversations of this queue.
    Queue {
        /// The queue.
        queue_id: QueueId,
    },
    /// Conversations of this campaign.
    Campaign {
        /// The campaign's name, as on its numbers.
        campaign: Name,
    },
}

/// A quick reply: a body with `{{placeholders}}` that agents fill and edit before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    /// The template's id.
    pub id: TemplateId,
    /// Unique within its scope.
    pub name: Name,
    /// The text with placeholders.
    pub body: TemplateBody,
    /// Where it applies.
    pub scope: TemplateScope,
}

/// An API token issued to an agent. Only the SHA-256 of the secret is kept: the secret is
/// shown once, when issued. Tokens are 256 random bits, so a plain hash is as strong as a
/// slow one and keeps authentication to one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The token's id (not secret; used to list and revoke).
    pub id: TokenId,
    /// The agent the token acts as; its role is the agent's role at the time of use.
    pub agent_id: AgentId,
    /// A note telling tokens apart, e.g. `desktop laptop`.
    pub label: Option<Name>,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
}
