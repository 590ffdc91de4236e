//! What the in-process benchmarks share: the store they run on and a team with one queue.

use std::time::Duration;

use engine::catalog::Catalog;
use engine::domain::{
    Name, OfferTimeoutSecs, Priority, PublicMinutes, Queue, QueueAlerts, QueueId, RoutingStrategy,
    Team, TeamId,
};
use engine::store::{AnyStore, MemoryStore, RedisStore, RedisStoreConfig};

/// `full` under `cargo bench`; `full / smaller` under `cargo test --all-targets`, which runs
/// every benchmark once as a smoke test.
pub fn scale(full: usize, smaller: usize) -> usize {
    if std::env::args().any(|a| a == "--bench") {
        full
    } else {
        full / smaller
    }
}

/// Runs a benchmark's body on an actix system (the engine's actors need one).
pub fn run_on_actix(body: impl std::future::Future<Output = ()>) {
    actix::System::new().block_on(body);
}

/// The memory store, or with `BENCH_REDIS=1` a private redis-server (unix socket, AOF
/// everysec), which lives as long as the returned handle.
pub fn store() -> (Option<testkit::RedisServer>, AnyStore) {
    let redis = std::env::var("BENCH_REDIS")
        .is_ok()
        .then(testkit::RedisServer::start);
    let store = match &redis {
        Some(server) => AnyStore::Redis(
            RedisStore::open(&RedisStoreConfig {
                url: server.url(),
                key_prefix: "bench".into(),
                timeout: Duration::from_secs(5),
            })
            .unwrap(),
        ),
        None => AnyStore::Memory(MemoryStore::new()),
    };
    (redis, store)
}

/// Team `t` with queue `q` (longest idle, offers that never time out, no public minutes).
pub async fn team_and_queue(catalog: &Catalog<AnyStore>) -> (TeamId, QueueId) {
    let team = TeamId::parse("t").unwrap();
    let queue = QueueId::parse("q").unwrap();
    catalog
        .create(Team {
            id: team.clone(),
            name: Name::parse("name", "T").unwrap(),
            away_reasons: engine::domain::default_away_reasons(),
        })
        .await
        .unwrap();
    catalog
        .create(Queue {
            id: queue.clone(),
            name: Name::parse("name", "Q").unwrap(),
            team_id: team.clone(),
            strategy: RoutingStrategy::LongestIdle,
            offer_timeout_secs: OfferTimeoutSecs::new(3600).unwrap(),
            public_minutes: PublicMinutes::new(0).unwrap(),
            alerts: QueueAlerts::default(),
            disposition_required: false,
            priority: Priority::default(),
            missed_offers_before_away: engine::domain::MissedOffers::default(),
            required_skills: Vec::new(),
            keyword_skills: Vec::new(),
            escalation: Vec::new(),
        })
        .await
        .unwrap();
    (team, queue)
}

/// A business number `id` with `phone`, under `campaign`, feeding `queue` (simulator, default
/// send rate, default compliance texts).
#[allow(dead_code)] // not every bench has numbers
pub async fn number(
    catalog: &Catalog<AnyStore>,
    id: &str,
    phone: &str,
    campaign: &str,
    queue: &QueueId,
) {
    catalog
        .create(engine::domain::Number {
            id: engine::domain::NumberId::parse(id).unwrap(),
            phone: engine::domain::PhoneNumber::parse("phone", phone).unwrap(),
            campaign: Name::parse("campaign", campaign).unwrap(),
            queue_id: queue.clone(),
            provider_account_id: None,
            sends_per_second: engine::domain::DEFAULT_SENDS_PER_SECOND,
            help_text: None,
            opt_out_footer: None,
            required_skills: Vec::new(),
        })
        .await
        .unwrap();
}
