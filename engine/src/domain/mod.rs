//! The domain model: parsed values and configuration resources, free of actix and redis.
//!
//! Everything here is validated in its constructor (or its serde `try_from`), so that a value
//! that exists is a valid one: handlers and the store never re-check what the type promises.

mod bounded;
pub mod campaign;
mod error;
mod ids;
mod name;
mod phone;
mod resources;
pub mod skills;
mod template;

pub use bounded::{
    AlertSecs, Capacity, EscalationSecs, MissedOffers, OfferTimeoutSecs, Priority, PublicMinutes,
    SkillLevel,
};
pub use error::ValidationError;
pub use ids::{
    AgentId, CampaignId, ConversationId, DispositionId, NumberId, ProviderAccountId, QueueId,
    TeamId, TemplateId, TokenId,
};
pub use name::{Name, Slug};
pub use phone::{PhoneNumber, country_codes, e164_pattern, phone_region, set_default_region};
pub use resources::{
    Agent, AgentRole, DEFAULT_OPT_OUT_FOOTER, DEFAULT_SENDS_PER_SECOND, Disposition,
    MAX_AWAY_REASONS, MAX_COMPLIANCE_TEXT, MAX_SENDS_PER_SECOND, MISSED_OFFERS_REASON, Number,
    Presence, ProviderAccount, ProviderKind, Queue, QueueAlerts, RoutingStrategy,
    SimulatorSettings, Team, Template, TemplateScope, Token, default_away_reasons,
};
pub use template::TemplateBody;
