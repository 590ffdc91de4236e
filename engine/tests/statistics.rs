//! Window statistics against hand-computed figures: a scripted day on paused time, with
//! texts, accepts, replies, an opt-out and a completion at known offsets; the figures are
//! read back from the stored conversations and the durable offer counters.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use engine::domain::{ConversationId, Presence, Slug};
use engine::routing::protocol::Answer;
use engine::runtime::{Clock, Engine, EngineConfig, InboundMessage};
use engine::stats::{Subject, Window};
use engine::store::{AnyStore, MemoryStore};

mod common;
use common::{Setup, agent, configure, queue_id, settle};

const START: i64 = 1_800_000_000_000;
const S: i64 = 1000;

/// `actual` is `expected` seconds, to the hundredth.
#[track_caller]
fn near(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a figure");
    assert!(
        (actual - expected).abs() < 0.01,
        "{actual} is not {expected}"
    );
}

/// Moves the clock to `offset` milliseconds after the start.
async fn at(engine: &Engine, offset: i64) {
    let now = engine.now();
    assert!(START + offset >= now, "the script runs forward");
    tokio::time::sleep(Duration::from_millis((START + offset - now) as u64)).await;
    settle().await;
    // Tokio's timer rounds each sleep up to its millisecond tick, so a step may run a
    // millisecond or two late: figures are compared to the hundredth of a second.
    assert!(engine.now() - (START + offset) < 10);
}

fn text(from: &str, body: &str, id: &str) -> InboundMessage {
    let mut message = common::text(from, Some(id));
    message.body = body.into();
    message
}

async fn accept(engine: &Engine, conversation: &ConversationId) {
    let view = engine.queue_snapshot(&queue_id()).await.unwrap();
    let (offer, _, _) = view
        .offers
        .iter()
        .find(|(_, c, _)| c == conversation)
        .expect("an offer for it")
        .clone();
    engine
        .answer_offer(&agent("ann"), &offer.to_string(), Answer::Accept)
        .await
        .unwrap();
    settle().await;
}

#[actix_rt::test]
async fn window_figures_match_the_hand_computed_ones() {
    tokio::time::pause();
    let store = AnyStore::Memory(MemoryStore::new());
    configure(
        &store,
        Setup {
            agents: &[("ann", 2)],
            offer_timeout_secs: 3600,
            disposition_required: false,
        },
    )
    .await;
    let engine = Engine::start(store, Clock::starting_at(START), EngineConfig::default());
    settle().await;

    // 0 s: A texts; 10 s: B texts; nobody is in.
    let a = engine
        .inbound(text("+15550001111", "hi", "SM1"))
        .await
        .unwrap()
        .conversation_id;
    at(&engine, 10 * S).await;
    let b = engine
        .inbound(text("+15550002222", "hello", "SM2"))
        .await
        .unwrap()
        .conversation_id;
    // 20 s: Ann comes in and is offered both; she takes A at 25 s (waited 25 s) and B at
    // 40 s (waited 30 s).
    at(&engine, 20 * S).await;
    engine
        .set_logins(&agent("ann"), BTreeSet::from([queue_id()]))
        .await
        .unwrap();
    engine
        .set_presence(&agent("ann"), Presence::Available, None)
        .await
        .unwrap();
    at(&engine, 25 * S).await;
    accept(&engine, &a).await;
    at(&engine, 40 * S).await;
    accept(&engine, &b).await;
    // 55 s: her first reply to A (first response 55 s); 100 s: to B (90 s after B's text).
    at(&engine, 55 * S).await;
    engine.reply(&agent("ann"), &a, "On it").await.unwrap();
    at(&engine, 100 * S).await;
    engine.reply(&agent("ann"), &b, "Hello!").await.unwrap();
    // 110 s: C texts; Ann is full (capacity 2); at 150 s C opts out: abandoned after 40 s.
    at(&engine, 110 * S).await;
    engine
        .inbound(text("+15550003333", "help me", "SM3"))
        .await
        .unwrap();
    at(&engine, 150 * S).await;
    engine
        .inbound(text("+15550003333", "STOP", "SM4"))
        .await
        .unwrap();
    // 190 s: A disposed; 200 s: completed (handled 175 s, since 25 s).
    at(&engine, 190 * S).await;
    engine
        .add_disposition(
            &agent("ann"),
            &a,
            Slug::parse("code", "resolved").unwrap(),
            None,
        )
        .await
        .unwrap();
    at(&engine, 200 * S).await;
    engine.complete(&agent("ann"), &a).await.unwrap();
    at(&engine, 300 * S).await;

    let queue = Subject::Queues(HashSet::from([queue_id()]));
    let whole = Window {
        from: START,
        to: START + 300 * S,
    };
    let f = engine
        .window_figures(&queue, whole, &[30, 60])
        .await
        .unwrap();
    let c = &f.conversations;
    assert_eq!(
        (c.opened, c.answered, c.closed, c.abandoned, c.handled),
        (3, 2, 2, 1, 1)
    );
    let soa = &f.speed_of_answer;
    assert_eq!(soa.count, 2);
    near(soa.average_seconds, 27.5);
    near(soa.min_seconds, 25.0);
    near(soa.max_seconds, 30.0);
    near(soa.p50_seconds, 25.0);
    near(soa.p90_seconds, 30.0);
    assert_eq!(f.first_response.count, 2);
    near(f.first_response.average_seconds, 72.5);
    assert_eq!(f.handle.count, 1);
    near(f.handle.average_seconds, 175.0);
    // A's one response (55 s) counts when A closes; B is still open.
    assert_eq!(f.response.count, 1);
    near(f.response.average_seconds, 55.0);
    // Both answered within 30 s; C gave up after 40 s: past 30, within 60.
    let sl: Vec<_> = f
        .service_level
        .iter()
        .map(|s| {
            (
                s.threshold_seconds,
                s.answered_within,
                s.answered_after,
                s.abandoned_within,
                s.abandoned_after,
                s.ratio,
            )
        })
        .collect();
    assert_eq!(
        sl,
        [(30, 2, 0, 0, 1, Some(1.0)), (60, 2, 0, 1, 0, Some(1.0))]
    );
    assert_eq!(f.abandonment_ratio, Some(1.0 / 3.0));
    assert_eq!(f.dispositions, BTreeMap::from([("resolved".to_owned(), 1)]));
    assert_eq!(f.offers["created"], 2);
    assert_eq!(f.offers["accepted"], 2);
    assert_eq!(f.offers["rejected"], 0);

    // A later window sees only what happened in it: B's answer at 40 s, C's opening, A's
    // close; A's answer at 25 s and both openings before 30 s are outside.
    let later = Window {
        from: START + 30 * S,
        to: START + 300 * S,
    };
    let f = engine.window_figures(&queue, later, &[30]).await.unwrap();
    let c = &f.conversations;
    assert_eq!((c.opened, c.answered, c.closed, c.abandoned), (1, 1, 2, 1));
    near(f.speed_of_answer.average_seconds, 30.0);
    assert_eq!(
        f.first_response.count, 2,
        "both first responses came after 30 s"
    );

    // Ann's own figures: two answered, one handled in five minutes (12 an hour).
    let ann = Subject::Agent(agent("ann"));
    let f = engine.window_figures(&ann, whole, &[30]).await.unwrap();
    let c = &f.conversations;
    assert_eq!((c.opened, c.answered, c.handled, c.abandoned), (0, 2, 1, 0));
    near(f.handle.average_seconds, 175.0);
    near(f.handled_per_hour, 12.0);
    assert_eq!(f.dispositions["resolved"], 1);
}
