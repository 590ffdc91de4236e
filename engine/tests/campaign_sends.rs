//! Bulk sends end to end in process, on paused tokio time: rows wait for their recipient's
//! quiet hours (the contact card's zone, else the campaign's), go out at the campaign's
//! rate, a STOP during the send stops that customer's row, pause holds everything, resume
//! goes on, cancel marks the rest; a reply to a campaign text is queued in the campaign's
//! queue and offered like any inbound text.

use std::time::Duration;

use engine::campaign_sends::SendState;
use engine::campaign_sends::recipients::RecipientInput;
use engine::domain::campaign::{Campaign, ClockTime};
use engine::domain::{CampaignId, TemplateBody};
use engine::runtime::{Clock, Engine, EngineConfig, SendCommand, SendTemplate};
use engine::store::{AnyStore, MemoryStore, Store};

mod common;
use common::{Setup, configure, queue_id, settle};

/// 2027-01-15 08:00 UTC: 03:00 in New York, 17:00 in Tokyo.
const START: i64 = 1_800_000_000_000;

async fn started() -> (AnyStore, Engine, CampaignId) {
    tokio::time::pause();
    let store = AnyStore::Memory(MemoryStore::new());
    configure(
        &store,
        Setup {
            agents: &[("ann", 3)],
            offer_timeout_secs: 600,
            disposition_required: false,
        },
    )
    .await;
    let engine = Engine::start(
        store.clone(),
        Clock::starting_at(START),
        EngineConfig::default(),
    );
    engine.recover().await.unwrap();
    // The number's label "Spring" became a campaign at start.
    let campaign = engine
        .catalog()
        .list::<Campaign>(None, 10)
        .await
        .unwrap()
        .items
        .remove(0)
        .resource;
    (store, engine, campaign.id)
}

fn rows(numbers: &[&str]) -> Vec<RecipientInput> {
    numbers
        .iter()
        .map(|to| RecipientInput {
            to: (*to).to_owned(),
            fields: [("first_name".to_owned(), "Pat".to_owned())].into(),
        })
        .collect()
}

fn body() -> SendTemplate {
    SendTemplate::Body(
        TemplateBody::parse("body", "Hi {{first_name}}, {{campaign}} renewals are open.").unwrap(),
    )
}

async fn sent(store: &AnyStore) -> usize {
    store
        .events_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "message.sent")
        .count()
}

async fn set_campaign(
    engine: &Engine,
    id: &CampaignId,
    change: impl Fn(&mut Campaign) + Send + Sync,
) {
    engine
        .catalog()
        .update::<Campaign>(id.as_str(), |mut c| {
            change(&mut c);
            Ok(c)
        })
        .await
        .unwrap();
}

/// The campaign may text at any hour (all but the day's last minute).
async fn around_the_clock(engine: &Engine, campaign: &CampaignId) {
    set_campaign(engine, campaign, |c| {
        c.quiet_hours.start = ClockTime::parse("start", "00:00").unwrap();
        c.quiet_hours.end = ClockTime::parse("end", "23:59").unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn rows_wait_for_their_recipients_quiet_hours_and_go_at_the_campaigns_rate() {
    let (store, engine, campaign) = started().await;
    set_campaign(&engine, &campaign, |c| c.sends_per_second = 2).await;
    // A customer in Tokyo (17:00 there) is inside the window; New York (03:00) is not.
    store
        .runtime_put(
            "contact",
            "+15550004444",
            r#"{"time_zone":"Asia/Tokyo"}"#,
            Vec::new(),
        )
        .await
        .unwrap();
    let (job, stored) = engine
        .create_send(
            &campaign,
            body(),
            rows(&[
                "+15550001111",
                "+15550002222",
                "+15550003333",
                "+15550004444",
            ]),
        )
        .await
        .unwrap();
    assert_eq!((job.accepted, job.refused), (4, 0));
    assert_eq!(stored.accepted[0].body, "Hi Pat, Spring renewals are open.");
    settle().await;
    assert_eq!(sent(&store).await, 1, "only Tokyo is inside its window");
    let waiting = engine.send_job(&job.id).await.unwrap();
    // 08:00 in New York is 13:00 UTC, five hours on.
    assert_eq!(waiting.next_at, Some(START + 5 * 3_600_000));
    assert_eq!(waiting.state, SendState::Running);

    tokio::time::sleep(Duration::from_secs(5 * 3600 - 1)).await;
    settle().await;
    assert_eq!(sent(&store).await, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(sent(&store).await, 2, "the window opens: one at once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(sent(&store).await, 3, "then one every half second");
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(sent(&store).await, 4);
    settle().await;
    let done = engine.send_job(&job.id).await.unwrap();
    assert_eq!(done.state, SendState::Done);
    assert_eq!((done.progress.sent, done.pending()), (4, 0));
    let rows = engine.send_recipients(&job.id, 1, 10).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.status == "sent" && r.conversation_id.is_some())
    );
}

#[actix_rt::test]
async fn stop_pause_resume_and_cancel_during_a_send() {
    let (store, engine, campaign) = started().await;
    around_the_clock(&engine, &campaign).await;
    let (job, _) = engine
        .create_send(
            &campaign,
            body(),
            rows(&[
                "+15550001111",
                "+15550002222",
                "+15550003333",
                "+15550004444",
            ]),
        )
        .await
        .unwrap();
    settle().await;
    assert_eq!(sent(&store).await, 1);
    // The second customer texts STOP before its turn: its row is not sent.
    let mut stop = common::text("+15550002222", Some("SMstop"));
    stop.body = "STOP".into();
    engine.inbound(stop).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    settle().await;
    assert_eq!(sent(&store).await, 1);
    // Paused: nothing goes out however long it waits.
    let paused = engine
        .command_send(&job.id, SendCommand::Pause)
        .await
        .unwrap();
    assert_eq!(paused.state, SendState::Paused);
    tokio::time::sleep(Duration::from_secs(60)).await;
    settle().await;
    assert_eq!(sent(&store).await, 1);
    // Resumed: the third goes at once.
    let resumed = engine
        .command_send(&job.id, SendCommand::Resume)
        .await
        .unwrap();
    assert_eq!(resumed.state, SendState::Running);
    settle().await;
    assert_eq!(sent(&store).await, 2);
    // Cancelled before the fourth: it never goes.
    let cancelled = engine
        .command_send(&job.id, SendCommand::Cancel)
        .await
        .unwrap();
    assert_eq!(cancelled.state, SendState::Cancelled);
    tokio::time::sleep(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(sent(&store).await, 2);
    let statuses: Vec<&str> = engine
        .send_recipients(&job.id, 1, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec!["sent", "opted_out", "sent", "cancelled"]);
    assert!(matches!(
        engine.command_send(&job.id, SendCommand::Resume).await,
        Err(engine::runtime::EngineError::SendFinished { .. })
    ));
}

#[actix_rt::test]
async fn a_reply_to_a_campaign_text_is_queued_in_the_campaigns_queue_and_offered() {
    let (store, engine, campaign) = started().await;
    around_the_clock(&engine, &campaign).await;
    common::ready_in(&engine, "ann", &queue_id()).await;
    let (job, _) = engine
        .create_send(&campaign, body(), rows(&["+15550001111"]))
        .await
        .unwrap();
    settle().await;
    assert_eq!(sent(&store).await, 1);
    // Nobody waits yet: the conversation is nobody's, and nothing is offered.
    let snapshot = engine.queue_snapshot(&queue_id()).await.unwrap();
    assert!(snapshot.offers.is_empty() && snapshot.line.is_empty());
    let rows = engine.send_recipients(&job.id, 1, 1).await.unwrap();
    let conversation = rows[0].conversation_id.clone().unwrap();
    // The customer answers: the same conversation, offered to Ann.
    let reply = engine
        .inbound(common::text("+15550001111", Some("SMreply")))
        .await
        .unwrap();
    assert_eq!(reply.conversation_id.to_string(), conversation);
    settle().await;
    let offers = engine.queue_snapshot(&queue_id()).await.unwrap().offers;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].1.to_string(), conversation);
}

#[actix_rt::test]
async fn deleting_its_campaign_ends_its_send() {
    let (store, engine, campaign) = started().await;
    // New York at 03:00: every row waits for 08:00.
    let (job, _) = engine
        .create_send(&campaign, body(), rows(&["+15550001111", "+15550002222"]))
        .await
        .unwrap();
    settle().await;
    assert_eq!(sent(&store).await, 0);
    // The number takes another label, so the campaign may be deleted; its send ends.
    engine
        .catalog()
        .update::<engine::domain::Number>("n1", |mut n| {
            n.campaign = engine::domain::Name::parse("campaign", "Autumn").unwrap();
            Ok(n)
        })
        .await
        .unwrap();
    engine.adopt_campaign_labels().await.unwrap();
    engine
        .catalog()
        .delete::<Campaign>(campaign.as_str())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    settle().await;
    let ended = engine.send_job(&job.id).await.unwrap();
    assert_eq!(ended.state, SendState::Cancelled);
    assert_eq!((ended.progress.cancelled, ended.pending()), (2, 0));
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    settle().await;
    assert_eq!(
        sent(&store).await,
        0,
        "nothing went out for a deleted campaign"
    );
}
