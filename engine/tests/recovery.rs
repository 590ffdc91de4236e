//! Crash recovery against a real Redis: build waiting, offered, owned, public-free and snoozed
//! conversations; stop the engine (its thread and actors gone); start a new one on the same
//! Redis; the observable state is the same and routing goes on.
//!
//! Real Redis means real time, so this test waits on state with deadlines instead of pausing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use engine::domain::{ConversationId, Presence};
use engine::routing::protocol::Answer;
use engine::runtime::{Engine, EngineConfig, QueueSnapshot};
use engine::store::{AnyStore, RedisStore, RedisStoreConfig, Store};

mod common;
use common::{Setup, agent, configure, queue_id};

fn store(url: &str, prefix: &str) -> AnyStore {
    AnyStore::Redis(
        RedisStore::open(&RedisStoreConfig {
            url: url.to_owned(),
            key_prefix: prefix.to_owned(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    )
}

/// Polls the queue until `ready` holds, for up to five seconds.
async fn queue_until(engine: &Engine, ready: impl Fn(&QueueSnapshot) -> bool) -> QueueSnapshot {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let view = engine.queue_snapshot(&queue_id()).await.unwrap();
        if ready(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "queue never reached the expected state: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn a_restarted_engine_comes_back_in_the_same_state_and_routing_goes_on() {
    let redis = testkit::RedisServer::start();
    let prefix = testkit::unique_prefix("recovery");
    let first_store = store(&redis.url(), &prefix);
    configure(
        &first_store,
        Setup {
            agents: &[("ann", 2), ("bob", 1)],
            offer_timeout_secs: 600,
            disposition_required: false,
        },
    )
    .await;
    let (first, first_system) = Engine::spawn(&first_store, EngineConfig::default())
        .await
        .unwrap();

    // Five customers, a few milliseconds apart so their order is unambiguous.
    let mut conversations: Vec<ConversationId> = Vec::new();
    for n in 1..=5 {
        conversations.push(
            first
                .inbound(common::text(&format!("+1555000000{n}"), None))
                .await
                .unwrap()
                .conversation_id,
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Ann (capacity 2) gets the two oldest; she accepts the first, and snoozes it after a reply;
    // then accepts the next. Bob stays offline.
    first
        .set_logins(&agent("ann"), BTreeSet::from([queue_id()]))
        .await
        .unwrap();
    first
        .set_presence(&agent("ann"), Presence::Available, None)
        .await
        .unwrap();
    let view = queue_until(&first, |v| v.offers.len() == 2).await;
    let offer_of = |view: &QueueSnapshot, c: &ConversationId| {
        view.offers
            .iter()
            .find(|(_, oc, _)| oc == c)
            .map(|(o, _, _)| o.to_string())
    };
    let o1 = offer_of(&view, &conversations[0]).unwrap();
    first
        .answer_offer(&agent("ann"), &o1, Answer::Accept)
        .await
        .unwrap();
    first
        .reply(&agent("ann"), &conversations[0], "Checking")
        .await
        .unwrap();
    first
        .snooze(&agent("ann"), &conversations[0], first.now() + 3_600_000)
        .await
        .unwrap();
    // Her freed slot pulls the oldest waiting one (the third); she accepts the second.
    let view = queue_until(&first, |v| v.offers.len() == 2).await;
    let o2 = offer_of(&view, &conversations[1]).unwrap();
    first
        .answer_offer(&agent("ann"), &o2, Answer::Accept)
        .await
        .unwrap();
    let before = queue_until(&first, |v| v.offers.len() == 1).await;
    assert_eq!(
        before.offers[0].1, conversations[2],
        "the third is on offer to Ann"
    );
    let waiting_before: Vec<ConversationId> = before.line.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(
        waiting_before,
        vec![conversations[3].clone(), conversations[4].clone()]
    );

    // Crash: the engine's thread and actors are gone; only Redis remains.
    first_system.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The owned one had gone public (its customer waited past public minutes) just before the
    // crash: written straight into the store, since waiting 20 real minutes is no test.
    let raw = store(&redis.url(), &prefix);
    let doc = raw
        .conversation_get(conversations[1].as_str())
        .await
        .unwrap()
        .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(&doc.body).unwrap();
    body["public"] = true.into();
    let public: engine::conversation::Conversation = serde_json::from_value(body).unwrap();
    raw.conversation_commit(engine::store::ConversationCommit {
        id: doc.id.clone(),
        number_id: public.number_id().to_string(),
        customer: public.customer().to_string(),
        body: Some(serde_json::to_string(&public).unwrap()),
        closed: false,
        message: None,
        routing: None,
        provider_message_id: None,
        events: Vec::new(),
        timers: Vec::new(),
        outbox: None,
        counters: None,
        guard: Default::default(),
    })
    .await
    .unwrap();

    let (second, second_system) =
        Engine::spawn(&store(&redis.url(), &prefix), EngineConfig::default())
            .await
            .unwrap();
    // Fewer conversations than one page: the directory is whole before recovery returns.
    assert!(second.directory().is_complete());
    assert_eq!(second.directory().len(), conversations.len());
    // Owned and snoozed conversations are back as they were.
    let owned = second.conversation(&conversations[1]).await.unwrap();
    assert_eq!(owned.owner().clone(), Some(agent("ann")));
    assert!(owned.public());
    let snoozed = second.conversation(&conversations[0]).await.unwrap();
    assert_eq!(
        snoozed.status(),
        engine::conversation::ConversationStatus::Snoozed
    );
    let ann = second.agent_snapshot(&agent("ann")).await.unwrap();
    assert_eq!(ann.presence, Presence::Available);
    assert_eq!(ann.owned, vec![conversations[1].clone()]);
    // The offer pending at the crash is re-made (to Ann, the only one available), and the
    // rest wait in the same order — the public one back in line at its original place,
    // ahead of the others, but not for Ann, who owns it.
    let after = queue_until(&second, |v| v.offers.len() == 1 && v.waiting == 3).await;
    assert_eq!(
        (after.offers[0].1.clone(), after.offers[0].2.clone()),
        (conversations[2].clone(), agent("ann"))
    );
    // The journal ends the old offer (its process is gone) before the new one is made, so a
    // desktop or board that saw `offer.created` never sees two open offers of one
    // conversation.
    let old_offer = before.offers[0].0.to_string();
    let new_offer = after.offers[0].0.to_string();
    let journal = raw.events_after(0, 10_000).await.unwrap();
    // The last of each: offer ids are unique per process, and both engines of this test
    // share one process (and so one key for the ids' tags).
    let position = |kind: &str, offer: &str| {
        journal
            .iter()
            .rposition(|e| e.kind == kind && e.data.contains(&format!("\"offer_id\":\"{offer}\"")))
    };
    let rescinded = position("offer.rescinded", &old_offer).expect("the old offer is ended");
    assert!(journal[rescinded].data.contains("\"reason\":\"restarted\""));
    assert!(rescinded < position("offer.created", &new_offer).expect("the new offer"));
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.kind.starts_with("offer.") && e.kind != "offer.created")
            .filter(|e| e.data.contains(&format!("\"offer_id\":\"{old_offer}\"")))
            .filter(|e| e
                .data
                .contains(&format!("\"conversation_id\":\"{}\"", conversations[2])))
            .count(),
        1,
        "ended once"
    );
    let waiting_after: Vec<ConversationId> = after.line.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(
        waiting_after,
        [vec![conversations[1].clone()], waiting_before].concat()
    );
    assert_eq!(
        &after.line[1..],
        &before.line[..],
        "same waiting_since after the restart"
    );

    // Routing goes on: Bob comes in and gets the longest-waiting one, the public conversation.
    second
        .set_logins(&agent("bob"), BTreeSet::from([queue_id()]))
        .await
        .unwrap();
    second
        .set_presence(&agent("bob"), Presence::Available, None)
        .await
        .unwrap();
    let last = queue_until(&second, |v| v.offers.len() == 2).await;
    assert!(
        last.offers
            .iter()
            .any(|(_, c, a)| *c == conversations[1] && *a == agent("bob")),
        "{last:?}"
    );
    second_system.stop();
}
