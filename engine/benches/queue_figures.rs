//! The beacon's reading of a queue (`Engine::queue_snapshot`: waiting, per campaign, oldest,
//! agents ready, today's offers) as the line grows: it runs every 250 ms for every queue with
//! changes, so it must not cost more with 100,000 waiting than with 1,000. Run with
//! `cargo bench -p switchboard-engine --bench queue_figures`; numbers go into BENCHMARKS.md.

use std::time::Instant;

use engine::catalog::Catalog;
use engine::domain::PhoneNumber;
use engine::runtime::{Clock, Engine, EngineConfig, InboundMessage};

mod common;

fn main() {
    common::run_on_actix(run());
}

async fn run() {
    // `BENCH_REDIS=1` runs against a private redis-server instead of memory.
    let (_redis, store) = common::store();
    let catalog = Catalog::new(store.clone());
    let (_, queue) = common::team_and_queue(&catalog).await;
    for (n, campaign) in [("n1", "Spring"), ("n2", "Fall")] {
        let phone = format!("+1555010000{}", &n[1..]);
        common::number(&catalog, n, &phone, campaign, &queue).await;
    }
    let engine = Engine::start(store, Clock::system(), EngineConfig::default());
    let mut waiting = 0usize;
    for target in [common::scale(1_000, 10), common::scale(100_000, 100)] {
        while waiting < target {
            let to = if waiting.is_multiple_of(2) {
                "+15550100001"
            } else {
                "+15550100002"
            };
            engine
                .inbound(InboundMessage {
                    from: PhoneNumber::parse("from", &format!("+1555{waiting:07}")).unwrap(),
                    to: PhoneNumber::parse("to", to).unwrap(),
                    body: "hello".into(),
                    media_urls: Vec::new(),
                    provider_message_id: Some(format!("SM{waiting}")),
                    priority: None,
                })
                .await
                .unwrap();
            waiting += 1;
        }
        // The last texts' campaigns reach the queue just after their acknowledgement.
        loop {
            let view = engine.queue_snapshot(&queue).await.unwrap();
            if view.waiting >= target && view.waiting_by_campaign.values().sum::<usize>() >= target
            {
                break;
            }
            tokio::task::yield_now().await;
        }
        let rounds = 200;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(engine.queue_snapshot(&queue).await.unwrap());
        }
        let per = started.elapsed() / rounds;
        println!(
            "queue snapshot with {target:>7} waiting: {:>9.1} µs",
            per.as_nanos() as f64 / 1000.0
        );
    }
}
