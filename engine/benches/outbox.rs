//! The outbox's own ceiling: 2,000 outbound conversations started in process, their texts
//! handed to simulator accounts (no delivery delay) on ten numbers allowed 1,000 segments a
//! second each, so pacing is not what limits. Measures how long until every text is handed
//! off and until every one is reported delivered (four record writes per text: the `sending`
//! mark, `queued`, `sent`, `delivered`). Run with
//! `cargo bench -p switchboard-engine --bench outbox`, or with `BENCH_REDIS=1` in front.

use std::time::{Duration, Instant};

use engine::catalog::Catalog;
use engine::domain::{
    Agent, AgentId, AgentRole, Capacity, Name, Number, NumberId, PhoneNumber, ProviderAccount,
    ProviderAccountId, ProviderKind, SimulatorSettings,
};
use engine::runtime::{Clock, Engine, EngineConfig, OutgoingText};
use engine::store::Store;

mod common;

fn scale(full: usize) -> usize {
    common::scale(full, 20)
}

fn main() {
    common::run_on_actix(run());
}

async fn run() {
    let (texts, numbers) = (scale(2_000), 10);
    let agents = texts.div_ceil(100);
    let (redis, store) = common::store();
    let catalog = Catalog::new(store.clone());
    let (team, queue) = common::team_and_queue(&catalog).await;
    catalog
        .create(ProviderAccount {
            id: ProviderAccountId::parse("sim").unwrap(),
            name: Name::parse("name", "Sim").unwrap(),
            provider: ProviderKind::Simulator,
            account_sid: None,
            auth_token: None,
            base_url: None,
            simulator: Some(SimulatorSettings {
                delivery_delay_ms: 0,
                ..SimulatorSettings::default()
            }),
        })
        .await
        .unwrap();
    let mut business = Vec::new();
    for n in 0..numbers {
        let number = Number {
            id: NumberId::parse(format!("n{n}")).unwrap(),
            phone: PhoneNumber::parse("phone", &format!("+1555010{n:04}")).unwrap(),
            campaign: Name::parse("campaign", "C").unwrap(),
            queue_id: queue.clone(),
            provider_account_id: Some("sim".into()),
            sends_per_second: 1000,
            help_text: None,
            opt_out_footer: Some(String::new()),
            required_skills: Vec::new(),
        };
        catalog.create(number.clone()).await.unwrap();
        business.push(number);
    }
    let mut agent_ids = Vec::new();
    for a in 0..agents {
        let id = AgentId::parse(format!("a{a}")).unwrap();
        catalog
            .create(Agent {
                id: id.clone(),
                name: Name::parse("name", "A").unwrap(),
                role: AgentRole::Agent,
                team_ids: vec![team.clone()],
                capacity: Capacity::new(100).unwrap(),
                default_campaign: None,
                skills: Default::default(),
            })
            .await
            .unwrap();
        agent_ids.push(id);
    }
    let engine = Engine::start(store.clone(), Clock::system(), EngineConfig::default());

    let started = Instant::now();
    let mut message_ids = Vec::with_capacity(texts);
    for i in 0..texts {
        let out = engine
            .start_outbound(
                &agent_ids[i / 100],
                business[i % numbers].clone(),
                &PhoneNumber::parse("to", &format!("+1555{:07}", 2_000_000 + i)).unwrap(),
                OutgoingText::from("Your order has shipped."),
            )
            .await
            .unwrap();
        message_ids.push(out.message.id);
    }
    let acknowledged = started.elapsed();
    while !store.outbox_pending().await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let handed_off = started.elapsed();
    loop {
        let records = store.deliveries(&message_ids).await.unwrap();
        let delivered = records
            .iter()
            .flatten()
            .filter(|r| r.contains("\"status\":\"delivered\""))
            .count();
        if delivered == texts {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = started.elapsed();
    println!(
        "{} store, {texts} outbound starts on {numbers} numbers: acknowledged after {:.0} ms, all handed off after {:.0} ms, all delivered after {:.0} ms ({:.0} texts/s end to end)",
        if redis.is_some() { "redis" } else { "memory" },
        acknowledged.as_secs_f64() * 1000.0,
        handed_off.as_secs_f64() * 1000.0,
        delivered.as_secs_f64() * 1000.0,
        texts as f64 / delivered.as_secs_f64(),
    );
}
