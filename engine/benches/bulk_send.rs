//! A campaign's bulk send of 100,000 recipients made: every row checked (its number parsed,
//! duplicates, the customers' opt-outs read from their cards, the template filled), the rows
//! stored and the send started. Reports the time to make it and the memory it took. Run with
//! `cargo bench -p switchboard-engine --bench bulk_send` (memory store), or with
//! `BENCH_REDIS=1` in front (a private redis-server, unix socket, AOF everysec).
//!
//! Beside it, the same machine's reference: parsing and serialising the same rows as JSON,
//! the floor any check of them pays.

use std::time::Instant;

use engine::campaign_sends::recipients::RecipientInput;
use engine::domain::TemplateBody;
use engine::domain::campaign::Campaign;
use engine::runtime::{Clock, Engine, EngineConfig, SendCommand, SendTemplate};
use engine::store::Store;

mod common;

/// Resident and peak resident memory of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn main() {
    common::run_on_actix(run());
}

async fn run() {
    let recipients = common::scale(100_000, 100);
    let (redis, store) = common::store();
    let catalog = engine::catalog::Catalog::new(store.clone());
    let (_team, queue) = common::team_and_queue(&catalog).await;
    common::number(&catalog, "n", "+15550100000", "Renewals", &queue).await;
    let engine = Engine::start(store.clone(), Clock::system(), EngineConfig::default());
    engine.recover().await.unwrap();
    let campaign = catalog.list::<Campaign>(None, 10).await.unwrap().items[0]
        .resource
        .id
        .clone();
    // One customer in a hundred has a card that opted out of the number.
    for i in (0..recipients).step_by(100) {
        store
            .runtime_put(
                "contact",
                &format!("+1555{i:07}"),
                r#"{"opted_out":{"n":1}}"#,
                Vec::new(),
            )
            .await
            .unwrap();
    }
    let rows: Vec<RecipientInput> = (0..recipients)
        .map(|i| RecipientInput {
            to: format!("+1555{i:07}"),
            fields: [("first_name".to_owned(), format!("Customer {i}"))].into(),
        })
        .collect();

    // The reference: the rows through JSON and back.
    let started = Instant::now();
    let json = serde_json::to_vec(&rows).unwrap();
    let back: Vec<RecipientInput> = serde_json::from_slice(&json).unwrap();
    let reference = started.elapsed();
    assert_eq!(back.len(), rows.len());

    let (rss_before, _) = memory();
    let started = Instant::now();
    let (job, _) = engine
        .create_send(
            &campaign,
            SendTemplate::Body(
                TemplateBody::parse(
                    "body",
                    "Hi {{first_name}}, your {{campaign}} plan renews next month. Reply here with questions.",
                )
                .unwrap(),
            ),
            rows,
        )
        .await
        .unwrap();
    let made = started.elapsed();
    engine
        .command_send(&job.id, SendCommand::Pause)
        .await
        .unwrap();
    let (rss_after, peak) = memory();
    println!(
        "bulk send made: {} recipients ({} accepted, {} refused) in {:.0} ms ({:.1} µs/row); \
         reference (rows through JSON) {:.0} ms; resident {:.0} -> {:.0} MiB, peak {:.0} MiB; store {}",
        job.total,
        job.accepted,
        job.refused,
        made.as_secs_f64() * 1000.0,
        made.as_secs_f64() * 1e6 / job.total as f64,
        reference.as_secs_f64() * 1000.0,
        rss_before,
        rss_after,
        peak,
        if redis.is_some() {
            "redis (AOF everysec)"
        } else {
            "memory"
        },
    );
    assert_eq!(job.refused as usize, recipients.div_ceil(100));
    drop(redis);
}
