//! The outbox in process, on the memory store and paused tokio time, with the default
//! simulator (a number without a provider account): texts leave one segment a second per
//! number, in order, are reported delivered after the simulator's delay, and a STOP fails the
//! ones still waiting.

use std::collections::BTreeSet;
use std::time::Duration;

use engine::domain::{ConversationId, PhoneNumber, Presence};
use engine::routing::protocol::Answer;
use engine::runtime::{Clock, Engine, EngineConfig};
use engine::store::{AnyStore, MemoryStore};
use protocol::thread::{OutboundMessage, ThreadEntry};
use protocol::vocabulary::DeliveryStatus;

mod common;
use common::{Setup, agent, configure, queue_id};

const START: i64 = 1_800_000_000_000;
const CUSTOMER: &str = "+15550001111";

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// Lets `ms` of paused time pass: the runtime jumps from timer to timer, running everything
/// each one wakes before the next.
async fn advance(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    settle().await;
}

/// An engine where Ann owns a conversation with the customer.
async fn floor() -> (Engine, ConversationId) {
    tokio::time::pause();
    let store = AnyStore::Memory(MemoryStore::new());
    configure(
        &store,
        Setup {
            agents: &[("ann", 2)],
            offer_timeout_secs: 30,
            disposition_required: false,
        },
    )
    .await;
    let engine = Engine::start(store, Clock::starting_at(START), EngineConfig::default());
    let ann = agent("ann");
    engine
        .set_logins(&ann, BTreeSet::from([queue_id()]))
        .await
        .unwrap();
    engine
        .set_presence(&ann, Presence::Available, None)
        .await
        .unwrap();
    engine
        .inbound(common::text(CUSTOMER, Some("SM1")))
        .await
        .unwrap();
    settle().await;
    let view = engine.queue_snapshot(&queue_id()).await.unwrap();
    let (offer, conversation, _) = view.offers.into_iter().next().expect("an offer");
    engine
        .answer_offer(&ann, &offer.to_string(), Answer::Accept)
        .await
        .unwrap();
    settle().await;
    (engine, conversation)
}

/// The conversation's outbound texts, in thread order.
async fn outbound(engine: &Engine, conversation: &ConversationId) -> Vec<OutboundMessage> {
    engine
        .thread(conversation, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|entry| match entry {
            ThreadEntry::Outbound(message) => Some(message),
            _ => None,
        })
        .collect()
}

/// The statuses of the conversation's outbound texts, in thread order.
async fn statuses(engine: &Engine, conversation: &ConversationId) -> Vec<&'static str> {
    outbound(engine, conversation)
        .await
        .into_iter()
        .map(|m| m.status.as_str())
        .collect()
}

#[actix_rt::test]
async fn texts_leave_one_a_second_in_order_and_are_delivered() {
    let (engine, conversation) = floor().await;
    for body in ["one", "two", "three"] {
        engine
            .reply(&agent("ann"), &conversation, body)
            .await
            .unwrap();
    }
    settle().await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["queued", "outbox", "outbox"]
    );
    advance(600).await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["sent", "outbox", "outbox"],
        "the simulator says sent halfway through its one-second delay"
    );
    advance(450).await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["delivered", "queued", "outbox"]
    );
    advance(1000).await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["delivered", "delivered", "queued"]
    );
    advance(1000).await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["delivered", "delivered", "delivered"]
    );
    let sent = outbound(&engine, &conversation).await;
    assert_eq!(sent[0].body, "one\nReply STOP to unsubscribe.");
    assert_eq!(sent[0].provider.as_deref(), Some("simulator"));
}

#[actix_rt::test]
async fn an_opt_out_fails_the_texts_still_waiting() {
    let (engine, conversation) = floor().await;
    for body in ["one", "two", "three"] {
        engine
            .reply(&agent("ann"), &conversation, body)
            .await
            .unwrap();
    }
    settle().await;
    let customer = PhoneNumber::parse("to", CUSTOMER).unwrap();
    // The number has no provider account: its opt-outs are kept under its own id.
    let scope = "n1";
    engine
        .contacts()
        .set_opt_out(&customer, scope, Some(START))
        .await
        .unwrap();
    engine.outbox().opted_out(scope.to_owned(), customer);
    settle().await;
    assert_eq!(
        statuses(&engine, &conversation).await,
        ["queued", "failed", "failed"]
    );
    advance(3000).await;
    let sent = outbound(&engine, &conversation).await;
    let failed: Vec<_> = sent
        .iter()
        .filter(|m| m.status == DeliveryStatus::Failed)
        .map(|m| m.error_code.as_deref().unwrap())
        .collect();
    assert_eq!(failed, ["recipient_opted_out", "recipient_opted_out"]);
}
