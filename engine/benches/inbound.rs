//! In-process inbound-to-offer with the memory store: how fast the engine turns customer
//! texts into durable conversations and offers. Run with
//! `cargo bench -p switchboard-engine --bench inbound` (memory store), or with
//! `BENCH_REDIS=1` in front (a private redis-server, unix socket, AOF everysec). Inbound calls
//! are made one after another, so the figure is latency-bound, not the engine's ceiling.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use engine::catalog::Catalog;
use engine::domain::{
    Agent, AgentId, AgentRole, Capacity, Name, Number, NumberId, PhoneNumber, Presence,
};
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
    catalog
        .create(Number {
            id: NumberId::parse("n").unwrap(),
            phone: PhoneNumber::parse("phone", "+15550100000").unwrap(),
            campaign: Name::parse("campaign", "C").unwrap(),
            queue_id: queue.clone(),
            provider_account_id: None,
            sends_per_second: engine::domain::DEFAULT_SENDS_PER_SECOND,
            help_text: None,
            opt_out_footer: None,
        })
        .await
        .unwrap();
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
            })
            .await
            .unwrap();
        engine
            .set_logins(&id, BTreeSet::from([queue.clone()]))
            .await
            .unwrap();
        engine.set_presence(&id, Presence::Available).await.unwrap();
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
