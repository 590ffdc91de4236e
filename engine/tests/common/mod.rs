//! Configuration shared by the engine's integration tests: one team, one queue `q1` fed by
//! the business number +15550100000, agents, and the disposition code `resolved`.

#![allow(dead_code)] // each test binary uses its own part of this

use engine::catalog::Catalog;
use engine::domain::{
    Agent, AgentId, AgentRole, Capacity, Disposition, DispositionId, Name, Number, NumberId,
    OfferTimeoutSecs, PhoneNumber, Priority, PublicMinutes, Queue, QueueAlerts, QueueId,
    RoutingStrategy, Slug, Team, TeamId,
};
use engine::runtime::InboundMessage;
use engine::store::AnyStore;

/// The business number customers text.
pub const BUSINESS: &str = "+15550100000";

/// The queue.
pub fn queue_id() -> QueueId {
    QueueId::parse("q1").unwrap()
}

/// An agent id.
pub fn agent(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}

/// What to configure.
pub struct Setup<'a> {
    /// Agents and their capacities.
    pub agents: &'a [(&'a str, i64)],
    /// Seconds to answer an offer.
    pub offer_timeout_secs: i64,
    /// Whether completing needs a disposition.
    pub disposition_required: bool,
}

/// Writes the configuration into `store`.
pub async fn configure(store: &AnyStore, setup: Setup<'_>) {
    let catalog = Catalog::new(store.clone());
    let team = TeamId::parse("t1").unwrap();
    catalog
        .create(Team {
            id: team.clone(),
            name: Name::parse("name", "Support").unwrap(),
            away_reasons: engine::domain::default_away_reasons(),
        })
        .await
        .unwrap();
    catalog
        .create(Queue {
            id: queue_id(),
            name: Name::parse("name", "Inbound").unwrap(),
            team_id: team.clone(),
            strategy: RoutingStrategy::LongestIdle,
            offer_timeout_secs: OfferTimeoutSecs::new(setup.offer_timeout_secs).unwrap(),
            public_minutes: PublicMinutes::default(),
            alerts: QueueAlerts::default(),
            disposition_required: setup.disposition_required,
            priority: Priority::default(),
            missed_offers_before_away: engine::domain::MissedOffers::default(),
            required_skills: Vec::new(),
            keyword_skills: Vec::new(),
            escalation: Vec::new(),
        })
        .await
        .unwrap();
    catalog
        .create(Number {
            id: NumberId::parse("n1").unwrap(),
            phone: PhoneNumber::parse("phone", BUSINESS).unwrap(),
            campaign: Name::parse("campaign", "Spring").unwrap(),
            queue_id: queue_id(),
            provider_account_id: None,
            sends_per_second: engine::domain::DEFAULT_SENDS_PER_SECOND,
            help_text: None,
            opt_out_footer: None,
            required_skills: Vec::new(),
        })
        .await
        .unwrap();
    for (name, capacity) in setup.agents {
        catalog
            .create(Agent {
                id: agent(name),
                name: Name::parse("name", name).unwrap(),
                role: AgentRole::Agent,
                team_ids: vec![team.clone()],
                capacity: Capacity::new(*capacity).unwrap(),
                default_campaign: None,
                skills: Default::default(),
            })
            .await
            .unwrap();
    }
    catalog
        .create(Disposition {
            id: DispositionId::parse("d1").unwrap(),
            code: Slug::parse("code", "resolved").unwrap(),
            label: Name::parse("label", "Resolved").unwrap(),
            active: true,
        })
        .await
        .unwrap();
}

/// A customer's text to the business number.
pub fn text(from: &str, provider_id: Option<&str>) -> InboundMessage {
    InboundMessage {
        from: PhoneNumber::parse("from", from).unwrap(),
        to: PhoneNumber::parse("to", BUSINESS).unwrap(),
        body: "hello".into(),
        media_urls: Vec::new(),
        provider_message_id: provider_id.map(str::to_owned),
        priority: None,
    }
}

/// Lets every message in flight be handled (paused time: nothing else moves).
pub async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Logs `name` into `queue` and makes it available, then lets the news land.
pub async fn ready_in(engine: &engine::runtime::Engine, name: &str, queue: &QueueId) {
    engine
        .set_logins(
            &agent(name),
            std::collections::BTreeSet::from([queue.clone()]),
        )
        .await
        .unwrap();
    engine
        .set_presence(&agent(name), engine::domain::Presence::Available, None)
        .await
        .unwrap();
    settle().await;
}
