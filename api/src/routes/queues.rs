//! `/v1/queues`: waiting lines, with their routing strategy, timers and alert thresholds.

use engine::domain::{
    AlertSecs, MissedOffers, Name, OfferTimeoutSecs, Priority, PublicMinutes, Queue, QueueAlerts,
    QueueId, RoutingStrategy, TeamId, ValidationError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate};
use super::skills_input::{EscalationInput, KeywordInput, RequirementInput};

/// Alert thresholds in seconds; 0 turns an alert off.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsInput {
    /// Seconds unclaimed before an alert (default 300).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<AlertSecs>)]
    pub unclaimed_secs: Option<i64>,
    /// Seconds an owned conversation's customer waits for a reply before an alert (default 300).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<AlertSecs>)]
    pub awaiting_reply_secs: Option<i64>,
}

impl AlertsInput {
    fn apply(&self, mut alerts: QueueAlerts) -> Result<QueueAlerts, ValidationError> {
        if let Some(secs) = self.unclaimed_secs {
            alerts.unclaimed_secs =
                AlertSecs::new(secs).map_err(|e| e.at("alerts.unclaimed_secs"))?;
        }
        if let Some(secs) = self.awaiting_reply_secs {
            alerts.awaiting_reply_secs =
                AlertSecs::new(secs).map_err(|e| e.at("alerts.awaiting_reply_secs"))?;
        }
        Ok(alerts)
    }
}

/// A new queue. Everything but `name` and `team_id` has a default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Billing SMS", "team_id": "billing", "offer_timeout_secs": 30}))]
pub struct CreateQueue {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Unique among queues, ignoring case.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
    /// The team that works it; must exist.
    #[schema(value_type = crate::schema::IdText)]
    pub team_id: String,
    /// Default `longest_idle`.
    pub strategy: Option<RoutingStrategy>,
    /// Seconds to answer an offer, 1 to 3600 (default 30).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<OfferTimeoutSecs>)]
    pub offer_timeout_secs: Option<i64>,
    /// Minutes before an unanswered owned conversation becomes public, 0 (never) to 1440
    /// (default 20).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<PublicMinutes>)]
    pub public_minutes: Option<i64>,
    /// Alert thresholds.
    #[schema(value_type = Option<AlertsInput>)]
    pub alerts: Option<crate::schema::Obj<AlertsInput>>,
    /// Whether completing needs a disposition (default true).
    pub disposition_required: Option<bool>,
    /// 0 to 100, higher served first (default 0).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<i64>,
    /// Offers an agent may let time out in a row before it is set `away` (reason
    /// `missed_offers`), 0 (never) to 100 (default 3).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<MissedOffers>)]
    pub missed_offers_before_away: Option<i64>,
    /// Skills every conversation of the queue needs of the agent offered it.
    pub required_skills: Option<Vec<RequirementInput>>,
    /// Words in a customer's first text that make the conversation need a skill.
    pub keyword_skills: Option<Vec<KeywordInput>>,
    /// Steps relaxing the skills needed as the customer waits, and an overflow to another
    /// queue, by seconds waited.
    pub escalation: Option<Vec<EscalationInput>>,
}

/// Changes to a queue; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchQueue {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
    /// Another team (which must exist).
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub team_id: Option<String>,
    /// Another strategy.
    pub strategy: Option<RoutingStrategy>,
    /// Seconds to answer an offer.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<OfferTimeoutSecs>)]
    pub offer_timeout_secs: Option<i64>,
    /// Public minutes.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<PublicMinutes>)]
    pub public_minutes: Option<i64>,
    /// Alert thresholds; absent ones stay.
    #[schema(value_type = Option<AlertsInput>)]
    pub alerts: Option<crate::schema::Obj<AlertsInput>>,
    /// Whether completing needs a disposition.
    pub disposition_required: Option<bool>,
    /// Priority.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<i64>,
    /// Offers missed in a row before an agent is set away (0: never).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<MissedOffers>)]
    pub missed_offers_before_away: Option<i64>,
    /// Skills every conversation of the queue needs of the agent offered it.
    pub required_skills: Option<Vec<RequirementInput>>,
    /// Words in a customer's first text that make the conversation need a skill.
    pub keyword_skills: Option<Vec<KeywordInput>>,
    /// Steps relaxing the skills needed as the customer waits, and an overflow to another
    /// queue, by seconds waited.
    pub escalation: Option<Vec<EscalationInput>>,
}

fn team_id(raw: &str) -> Result<TeamId, ValidationError> {
    TeamId::parse(raw).map_err(|e| e.at("team_id"))
}

impl ResourceApi for Queue {
    const PATH: &'static str = "/v1/queues";
    const TAG: &'static str = "queues";
    type Create = CreateQueue;
    type Patch = PatchQueue;

    fn create(input: CreateQueue) -> Result<Self, ValidationError> {
        Ok(Queue {
            id: id_or_generate(input.id, QueueId::parse, QueueId::generate)?,
            name: Name::parse("name", &input.name)?,
            team_id: team_id(&input.team_id)?,
            strategy: input.strategy.unwrap_or_default(),
            offer_timeout_secs: input
                .offer_timeout_secs
                .map(OfferTimeoutSecs::new)
                .transpose()?
                .unwrap_or_default(),
            public_minutes: input
                .public_minutes
                .map(PublicMinutes::new)
                .transpose()?
                .unwrap_or_default(),
            alerts: input
                .alerts
                .map(|a| a.0)
                .unwrap_or_default()
                .apply(QueueAlerts::default())?,
            disposition_required: input.disposition_required.unwrap_or(true),
            priority: input
                .priority
                .map(Priority::new)
                .transpose()?
                .unwrap_or_default(),
            missed_offers_before_away: input
                .missed_offers_before_away
                .map(MissedOffers::new)
                .transpose()?
                .unwrap_or_default(),
            required_skills: super::skills_input::requirements(
                "required_skills",
                input.required_skills.as_deref().unwrap_or_default(),
            )?,
            keyword_skills: super::skills_input::keywords(
                input.keyword_skills.as_deref().unwrap_or_default(),
            )?,
            escalation: super::skills_input::escalation(
                input.escalation.as_deref().unwrap_or_default(),
            )?,
        })
    }

    fn patch(mut self, input: &PatchQueue) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        if let Some(team) = &input.team_id {
            self.team_id = team_id(team)?;
        }
        if let Some(strategy) = input.strategy {
            self.strategy = strategy;
        }
        if let Some(secs) = input.offer_timeout_secs {
            self.offer_timeout_secs = OfferTimeoutSecs::new(secs)?;
        }
        if let Some(minutes) = input.public_minutes {
            self.public_minutes = PublicMinutes::new(minutes)?;
        }
        if let Some(alerts) = &input.alerts {
            self.alerts = alerts.apply(self.alerts)?;
        }
        if let Some(required) = input.disposition_required {
            self.disposition_required = required;
        }
        if let Some(priority) = input.priority {
            self.priority = Priority::new(priority)?;
        }
        if let Some(missed) = input.missed_offers_before_away {
            self.missed_offers_before_away = MissedOffers::new(missed)?;
        }
        if let Some(required) = &input.required_skills {
            self.required_skills = super::skills_input::requirements("required_skills", required)?;
        }
        if let Some(rules) = &input.keyword_skills {
            self.keyword_skills = super::skills_input::keywords(rules)?;
        }
        if let Some(steps) = &input.escalation {
            self.escalation = super::skills_input::escalation(steps)?;
        }
        Ok(self)
    }
}
