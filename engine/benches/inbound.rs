//! In-process inbound-to-offer with the memory store: how fast the engine turns customer
//! texts into durable conversations and offers. Run with
//! `cargo bench -p switchboard-engine --bench inbound` (memory store), or with
//! `BENCH_REDIS=1` in front (a private redis-server, unix socket, AOF everysec). Inbound calls
//! are made one after another, so the figure is latency-bound, not the engine's ceiling.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use engine::catalog::Catalog;
use engine::domain::{Agent, AgentId, AgentRole, Capacity, Name, PhoneNumber, Presence};
use engine::runtime::{Clock, Engine, EngineConfig, InboundMessage};

mod common;

fn scale(full: usize) -> usize {
    common::scale(full, 50)
}

fn main() {
    common::run_on_actix(run());
}

async fn run() {
    let (messages, agents) = (scale(20_000), scale(500).max(2));
    // `BENCH_REDIS=1` runs against a private redis-server (AOF everysec) instead of memory.
    let (redis, store) = common::store();
    let catalog = Catalog::new(store.clone());
    let (team, queue) = common::team_and_queue(&catalog).await;
    common::number(&catalog, "n", "+15550100000", "C", &queue).await;
    let engine = Engine::start(store, Clock::system(), EngineConfig::default());
    // Enough capacity for every conversation to be offered at once.
    let capacity = (messages / agents + 1).min(100) as i64;
    for i in 0..agents {
        let id = AgentId::parse(format!("a{i}")).unwrap();
        catalog
            .create(Agent {
                id: id.clone(),
                name: Name::parse("name", "A").unwrap(),
                role: AgentRole::Agent,
                team_ids: vec![team.clone()],
                capacity: Capacity::new(capacity).unwrap(),
                default_campaign: None,
                skills: Default::default(),
            })
            .await
            .unwrap();
        engine
            .set_logins(&id, BTreeSet::from([queue.clone()]))
            .await
            .unwrap();
        engine
            .set_presence(&id, Presence::Available, None)
            .await
            .unwrap();
    }
    let offered_target = messages.min(agents * capacity as usize);

    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..messages {
        let sent = Instant::now();
        engine
            .inbound(InboundMessage {
                from: PhoneNumber::parse("from", &format!("+1555{i:07}")).unwrap(),
                to: PhoneNumber::parse("to", "+15550100000").unwrap(),
                body: "hello".into(),
                media_urls: Vec::new(),
                provider_message_id: Some(format!("SM{i}")),
                priority: None,
            })
            .await
            .unwrap();
        slowest = slowest.max(sent.elapsed());
    }
    let acked = started.elapsed();
    loop {
        let view = engine.queue_snapshot(&queue).await.unwrap();
        if view.offers.len() >= offered_target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let offered = started.elapsed();
    let reference = reference_micros();
    let each = acked.as_secs_f64() * 1e6 / messages as f64;
    // For scripts/bench-check: the machine's speed of the moment divided out.
    println!(
        "bench-check: inbound {each:.2} µs, reference {reference:.2} µs, ratio {:.3}",
        each / reference
    );
    println!(
        "{} store, {messages} inbound texts, {agents} agents: acknowledged in {:.0} ms ({:.0}/s, {:.1} µs each, slowest {} µs); all {offered_target} offered after {:.0} ms",
        if redis.is_some() { "redis" } else { "memory" },
        acked.as_secs_f64() * 1000.0,
        messages as f64 / acked.as_secs_f64(),
        acked.as_secs_f64() * 1e6 / messages as f64,
        slowest.as_micros(),
        offered.as_secs_f64() * 1000.0,
    );
}

/// A same-run reference for `scripts/bench-check`: a fixed piece of CPU work of the kind an
/// inbound text does (a conversation-sized JSON document written and read back), so that the
/// ratio of the two moves with the engine's code, not with the machine's load.
fn reference_micros() -> f64 {
    let document = serde_json::json!({
        "id": "cv_01jd8x4k6m2n9p8q7r", "customer": "+15550001111", "number_id": "num_spring",
        "campaign": "Spring", "queue_id": "inbound", "priority": 0, "status": "queued",
        "owner": null, "subscribers": [], "public": false, "waiting_since": 1795456831000i64,
        "alerts": [], "dispositions": [], "created_at": 1795456831000i64,
        "last_message": {"direction": "inbound", "preview": "Where is my order?", "at": 1795456831000i64}
    });
    let rounds = 20_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let text = serde_json::to_string(std::hint::black_box(&document)).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        std::hint::black_box(back);
    }
    started.elapsed().as_secs_f64() * 1e6 / rounds as f64
}
