//! The routing engine end to end, in process, on the memory store and paused tokio time:
//! inbound texts become queued conversations, offers go out by strategy, reject and timeout
//! re-offer, accept assigns, complete frees the slot. Time only moves when the test says.

use std::collections::BTreeSet;
use std::time::Duration;

use engine::domain::{AgentId, ConversationId, PhoneNumber, Presence, Slug};
use engine::routing::protocol::Answer;
use engine::runtime::{Clock, Engine, EngineConfig, EngineError, InboundMessage};
use engine::store::{AnyStore, MemoryStore, Store};

mod common;
use common::{Setup, agent, configure, queue_id, settle};

const START: i64 = 1_800_000_000_000;

async fn configured_store() -> AnyStore {
    configured_store_with(false).await
}

async fn configured_store_with(disposition_required: bool) -> AnyStore {
    let store = AnyStore::Memory(MemoryStore::new());
    let agents = [("ann", 2), ("bob", 2)];
    configure(
        &store,
        Setup {
            agents: &agents,
            offer_timeout_secs: 30,
            disposition_required,
        },
    )
    .await;
    store
}

fn text(from: &str, provider_id: &str) -> InboundMessage {
    common::text(from, Some(provider_id))
}

/// A paused-time engine on a freshly configured memory store.
async fn paused_engine() -> (AnyStore, Engine) {
    tokio::time::pause();
    let store = configured_store().await;
    let engine = Engine::start(
        store.clone(),
        Clock::starting_at(START),
        EngineConfig::default(),
    );
    (store, engine)
}

/// Ann logs in, a customer texts, Ann accepts: returns the conversation she owns.
async fn owned_by_ann(engine: &Engine) -> ConversationId {
    ready(engine, "ann").await;
    engine.inbound(text("+15550001111", "SM1")).await.unwrap();
    settle().await;
    accept_next(engine, "ann").await
}

async fn ready(engine: &Engine, name: &str) {
    common::ready_in(engine, name, &queue_id()).await;
}

async fn offers(engine: &Engine) -> Vec<(String, ConversationId, AgentId)> {
    let view = engine.queue_snapshot(&queue_id()).await.unwrap();
    view.offers
        .into_iter()
        .map(|(o, c, a)| (o.to_string(), c, a))
        .collect()
}

async fn kinds(store: &AnyStore) -> Vec<String> {
    store
        .events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[actix_rt::test]
async fn inbound_offer_reject_timeout_accept_complete() {
    let (store, engine) = paused_engine().await;

    // Two customers text before anyone is logged in: both wait, oldest first.
    let first = engine.inbound(text("+15550001111", "SM1")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = engine.inbound(text("+15550002222", "SM2")).await.unwrap();
    assert!(!first.duplicate && first.conversation_id != second.conversation_id);
    settle().await;
    let view = engine.queue_snapshot(&queue_id()).await.unwrap();
    assert_eq!((view.waiting, view.oldest_waiting_since), (2, Some(START)));
    assert_eq!(
        view.waiting_by_campaign,
        std::collections::BTreeMap::from([("Spring".to_owned(), 2)])
    );
    assert_eq!(view.agents_ready, 0);

    // A provider retry is acknowledged and dropped.
    let retry = engine.inbound(text("+15550001111", "SM1")).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.conversation_id, first.conversation_id);

    // Ann comes in: she is offered the longest-waiting conversation, then the next.
    ready(&engine, "ann").await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made.iter().all(|(_, _, a)| *a == agent("ann")));
    let first_offer = made
        .iter()
        .find(|(_, c, _)| *c == first.conversation_id)
        .unwrap()
        .0
        .clone();

    // Bob arrives (nothing left to offer him); Ann rejects the first, and it goes to Bob,
    // not back to her.
    ready(&engine, "bob").await;
    assert!(
        offers(&engine)
            .await
            .iter()
            .all(|(_, _, a)| *a == agent("ann"))
    );
    engine
        .answer_offer(&agent("ann"), &first_offer, Answer::Reject)
        .await
        .unwrap();
    assert_eq!(
        engine
            .answer_offer(&agent("ann"), &first_offer, Answer::Accept)
            .await,
        Err(EngineError::StaleOffer(
            first_offer.clone(),
            engine::routing::protocol::StaleReason::Rejected
        )),
        "a rejected offer cannot be accepted"
    );
    settle().await;
    let made = offers(&engine).await;
    let (bob_offer, conv, _) = made
        .iter()
        .find(|(_, _, a)| *a == agent("bob"))
        .unwrap()
        .clone();
    assert_eq!(conv, first.conversation_id);
    assert_eq!(
        engine
            .answer_offer(&agent("ann"), &bob_offer, Answer::Accept)
            .await,
        Err(EngineError::NotYourOffer(bob_offer.clone()))
    );

    // Bob accepts the first: he owns it.
    engine
        .answer_offer(&agent("bob"), &bob_offer, Answer::Accept)
        .await
        .unwrap();
    settle().await;
    let conversation = engine.conversation(&first.conversation_id).await.unwrap();
    assert_eq!(conversation.owner().clone(), Some(agent("bob")));
    assert_eq!(
        conversation.waiting_since(),
        Some(START),
        "waiting_since survived reject and re-offer"
    );
    assert_eq!(
        engine.agent_snapshot(&agent("bob")).await.unwrap().owned,
        vec![first.conversation_id.clone()]
    );

    // Ann lets the second time out: after 30 s it is offered again, to Bob.
    tokio::time::sleep(Duration::from_secs(31)).await;
    settle().await;
    let made = offers(&engine).await;
    assert!(
        made.iter()
            .any(|(_, c, a)| *c == second.conversation_id && *a == agent("bob")),
        "{made:?}"
    );

    // He completes it: the slot frees, and the customer's next text opens a new conversation.
    engine
        .complete(&agent("ann"), &first.conversation_id)
        .await
        .unwrap_err();
    engine
        .complete(&agent("bob"), &first.conversation_id)
        .await
        .unwrap();
    settle().await;
    assert!(
        engine
            .agent_snapshot(&agent("bob"))
            .await
            .unwrap()
            .owned
            .is_empty()
    );
    let again = engine.inbound(text("+15550001111", "SM3")).await.unwrap();
    assert_ne!(again.conversation_id, first.conversation_id);

    let stats = engine.queue_snapshot(&queue_id()).await.unwrap();
    assert_eq!(stats.offers_by_outcome.get("rejected"), Some(&1));
    assert_eq!(stats.offers_by_outcome.get("expired"), Some(&1));
    assert!(
        stats
            .offers_by_outcome
            .get("accepted")
            .is_some_and(|n| *n >= 1)
    );
    let journal = kinds(&store).await;
    for kind in [
        "conversation.created",
        "message.received",
        "offer.created",
        "offer.rejected",
        "offer.expired",
        "conversation.assigned",
        "conversation.closed",
    ] {
        assert!(
            journal.iter().any(|k| k == kind),
            "{kind} missing from {journal:?}"
        );
    }
}

#[actix_rt::test]
async fn unknown_business_number_is_refused_and_nothing_is_stored() {
    let (store, engine) = paused_engine().await;
    let mut message = text("+15550001111", "SM9");
    message.to = PhoneNumber::parse("to", "+15559999999").unwrap();
    assert_eq!(
        engine.inbound(message).await,
        Err(EngineError::UnknownNumber("+15559999999".into()))
    );
    assert!(store.events_after(0, 10).await.unwrap().is_empty());
}

#[actix_rt::test]
async fn three_missed_offers_in_a_row_set_the_agent_away() {
    let (_, engine) = paused_engine().await;
    engine.inbound(text("+15550001111", "SM1")).await.unwrap();
    ready(&engine, "ann").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(31)).await;
        settle().await;
    }
    assert_eq!(
        engine.agent_snapshot(&agent("ann")).await.unwrap().presence,
        Presence::Away
    );
    assert!(
        offers(&engine).await.is_empty(),
        "nobody is left to offer to"
    );
    assert_eq!(engine.queue_snapshot(&queue_id()).await.unwrap().waiting, 1);
}

/// Offers the oldest waiting conversation to `name`, who accepts it; returns it.
async fn accept_next(engine: &Engine, name: &str) -> ConversationId {
    let made = offers(engine).await;
    let (offer, conversation, _) = made
        .iter()
        .find(|(_, _, a)| *a == agent(name))
        .expect("an offer")
        .clone();
    engine
        .answer_offer(&agent(name), &offer, Answer::Accept)
        .await
        .unwrap();
    settle().await;
    conversation
}

#[actix_rt::test]
async fn unanswered_customer_goes_public_after_twenty_minutes_and_a_colleague_takes_it() {
    let (_, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    let since = engine
        .conversation(&conversation)
        .await
        .unwrap()
        .waiting_since();
    assert!(since.is_some());
    ready(&engine, "bob").await;
    assert!(offers(&engine).await.is_empty());

    // 19 minutes: still private. 20 minutes (and the sweeper's round): public, offered to Bob,
    // never back to Ann, who keeps it meanwhile.
    tokio::time::sleep(Duration::from_secs(19 * 60)).await;
    settle().await;
    assert!(!engine.conversation(&conversation).await.unwrap().public());
    tokio::time::sleep(Duration::from_secs(62)).await;
    settle().await;
    let public = engine.conversation(&conversation).await.unwrap();
    assert!(public.public());
    assert_eq!(public.owner().clone(), Some(agent("ann")));
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].2, agent("bob"));

    // Bob takes it: he owns it, Ann becomes a subscriber and gets her slot back.
    accept_next(&engine, "bob").await;
    let taken = engine.conversation(&conversation).await.unwrap();
    assert_eq!(taken.owner().clone(), Some(agent("bob")));
    assert!(taken.subscribers().contains(&agent("ann")) && !taken.public());
    assert_eq!(taken.waiting_since(), since, "it kept its place");
    assert_eq!(engine.agent_snapshot(&agent("ann")).await.unwrap().load, 0);
}

#[actix_rt::test]
async fn a_reply_before_public_minutes_keeps_the_conversation_private() {
    let (_, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    assert!(
        engine
            .reply(&agent("bob"), &conversation, "hi")
            .await
            .is_err(),
        "only watchers reply"
    );
    engine
        .reply(&agent("ann"), &conversation, "On it!")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    settle().await;
    let c = engine.conversation(&conversation).await.unwrap();
    assert!(!c.public() && c.waiting_since().is_none());
}

#[actix_rt::test]
async fn saved_for_later_wakes_on_time_and_goes_to_the_same_agent_first() {
    let (_, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    engine
        .reply(&agent("ann"), &conversation, "I'll check and text you back")
        .await
        .unwrap();
    let until = engine.now() + 10 * 60_000;
    assert!(
        engine
            .snooze(&agent("bob"), &conversation, until)
            .await
            .is_err(),
        "only the owner snoozes"
    );
    engine
        .snooze(&agent("ann"), &conversation, until)
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        engine.agent_snapshot(&agent("ann")).await.unwrap().load,
        0,
        "a snoozed conversation holds no slot"
    );
    // Bob has been idle longer than Ann by the time it wakes; it still goes to Ann first.
    ready(&engine, "bob").await;
    tokio::time::sleep(Duration::from_secs(10 * 60 + 2)).await;
    settle().await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        (made[0].1.clone(), made[0].2.clone()),
        (conversation.clone(), agent("ann"))
    );
}

#[actix_rt::test]
async fn a_customer_text_wakes_a_snoozed_conversation_early() {
    let (_, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    engine
        .snooze(&agent("ann"), &conversation, engine.now() + 3_600_000)
        .await
        .unwrap();
    settle().await;
    let again = engine.inbound(text("+15550001111", "SM2")).await.unwrap();
    assert_eq!(again.conversation_id, conversation);
    settle().await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].2, agent("ann"));
}

#[actix_rt::test]
async fn the_first_claim_wins_and_the_loser_keeps_its_slot() {
    let (_, engine) = paused_engine().await;
    // Logged in but away: nothing is offered, so the conversation waits to be claimed.
    for name in ["ann", "bob"] {
        engine
            .set_logins(&agent(name), BTreeSet::from([queue_id()]))
            .await
            .unwrap();
    }
    let conversation = engine
        .inbound(text("+15550001111", "SM1"))
        .await
        .unwrap()
        .conversation_id;
    settle().await;
    let (ann, bob) = (agent("ann"), agent("bob"));
    let (a, b) = tokio::join!(
        engine.claim(&ann, &conversation),
        engine.claim(&bob, &conversation)
    );
    assert!(a.is_ok() ^ b.is_ok(), "exactly one claim wins: {a:?} {b:?}");
    settle().await;
    let winner = if a.is_ok() { "ann" } else { "bob" };
    let loser = if a.is_ok() { "bob" } else { "ann" };
    assert_eq!(
        engine
            .conversation(&conversation)
            .await
            .unwrap()
            .owner()
            .clone(),
        Some(agent(winner))
    );
    assert_eq!(engine.agent_snapshot(&agent(winner)).await.unwrap().load, 1);
    assert_eq!(engine.agent_snapshot(&agent(loser)).await.unwrap().load, 0);
    assert_eq!(engine.queue_snapshot(&queue_id()).await.unwrap().waiting, 0);
}

#[actix_rt::test]
async fn completion_needs_a_disposition_where_the_queue_requires_one() {
    tokio::time::pause();
    let store = configured_store_with(true).await;
    let engine = Engine::start(
        store.clone(),
        Clock::starting_at(START),
        EngineConfig::default(),
    );
    let conversation = owned_by_ann(&engine).await;
    let refused = engine.complete(&agent("ann"), &conversation).await;
    assert!(
        matches!(
            refused,
            Err(EngineError::Conversation(
                engine::conversation::ConversationError::DispositionRequired
            ))
        ),
        "{refused:?}"
    );
    let unknown = engine
        .add_disposition(
            &agent("ann"),
            &conversation,
            Slug::parse("code", "nope").unwrap(),
            None,
        )
        .await;
    assert!(matches!(unknown, Err(EngineError::NotFound { .. })));
    engine
        .add_disposition(
            &agent("ann"),
            &conversation,
            Slug::parse("code", "resolved").unwrap(),
            Some("done".into()),
        )
        .await
        .unwrap();
    engine.complete(&agent("ann"), &conversation).await.unwrap();
}

#[actix_rt::test]
async fn cold_transfer_offers_the_target_first_and_falls_back_to_the_queue() {
    let (_, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    ready(&engine, "bob").await;
    engine
        .transfer(
            &agent("ann"),
            &conversation,
            engine::runtime::TransferTarget::Agent(agent("bob")),
            false,
            Some("VIP".into()),
        )
        .await
        .unwrap();
    settle().await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].2, agent("bob"), "the target is offered it first");
    assert_eq!(engine.agent_snapshot(&agent("ann")).await.unwrap().load, 0);
    // Bob declines: it goes back to the queue, which offers it to Ann (the only other agent).
    engine
        .answer_offer(&agent("bob"), &made[0].0, Answer::Reject)
        .await
        .unwrap();
    settle().await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].2, agent("ann"));
    let c = engine.conversation(&conversation).await.unwrap();
    assert_eq!(c.status(), engine::conversation::ConversationStatus::Queued);
    assert!(c.subscribers().contains(&agent("ann")));
    // Only the owner transfers.
    let refused = engine
        .transfer(
            &agent("bob"),
            &conversation,
            engine::runtime::TransferTarget::Agent(agent("ann")),
            false,
            None,
        )
        .await;
    assert!(refused.is_err());
}

#[actix_rt::test]
async fn alerts_are_raised_when_due_and_cleared_when_they_no_longer_apply() {
    let (store, engine) = paused_engine().await;
    let conversation = engine
        .inbound(text("+15550001111", "SM1"))
        .await
        .unwrap()
        .conversation_id;
    tokio::time::sleep(Duration::from_secs(299)).await;
    settle().await;
    assert!(
        !kinds(&store).await.contains(&"alert.raised".to_owned()),
        "not before five minutes"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    settle().await;
    assert_eq!(
        engine
            .conversation(&conversation)
            .await
            .unwrap()
            .alerts()
            .len(),
        1
    );
    assert_eq!(
        kinds(&store)
            .await
            .iter()
            .filter(|k| *k == "alert.raised")
            .count(),
        1
    );

    // Ann takes it: the unclaimed alert clears; the customer has waited over five minutes
    // for a reply, so the reply alert is raised on the sweeper's next round.
    ready(&engine, "ann").await;
    accept_next(&engine, "ann").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    settle().await;
    let journal = kinds(&store).await;
    assert_eq!(
        journal.iter().filter(|k| *k == "alert.cleared").count(),
        1,
        "{journal:?}"
    );
    assert_eq!(
        journal.iter().filter(|k| *k == "alert.raised").count(),
        2,
        "{journal:?}"
    );
    engine
        .reply(&agent("ann"), &conversation, "Sorry for the wait")
        .await
        .unwrap();
    settle().await;
    assert!(
        engine
            .conversation(&conversation)
            .await
            .unwrap()
            .alerts()
            .is_empty()
    );
    assert_eq!(
        kinds(&store)
            .await
            .iter()
            .filter(|k| *k == "alert.cleared")
            .count(),
        2
    );
}

#[actix_rt::test]
async fn idle_conversations_leave_memory_and_come_back_from_the_store() {
    tokio::time::pause();
    let store = configured_store().await;
    let config = EngineConfig {
        passivate_after: Duration::from_secs(60),
        ..EngineConfig::default()
    };
    let engine = Engine::start(store.clone(), Clock::starting_at(START), config);
    ready(&engine, "ann").await;
    let done = engine
        .inbound(text("+15550001111", "SM1"))
        .await
        .unwrap()
        .conversation_id;
    settle().await;
    accept_next(&engine, "ann").await;
    engine.complete(&agent("ann"), &done).await.unwrap();
    let later = engine
        .inbound(text("+15550002222", "SM2"))
        .await
        .unwrap()
        .conversation_id;
    settle().await;
    accept_next(&engine, "ann").await;
    engine
        .reply(&agent("ann"), &later, "Back in ten")
        .await
        .unwrap();
    engine
        .snooze(&agent("ann"), &later, engine.now() + 10 * 60_000)
        .await
        .unwrap();
    assert_eq!(engine.live_conversations(), 2);

    // Idle for two minutes: both leave memory (closed, and snoozed).
    tokio::time::sleep(Duration::from_secs(120)).await;
    settle().await;
    assert_eq!(engine.live_conversations(), 0);
    // Their state is still there, loaded on demand...
    assert_eq!(
        engine.conversation(&done).await.unwrap().status(),
        engine::conversation::ConversationStatus::Closed
    );
    // ...and the snoozed one still wakes on time, for Ann.
    tokio::time::sleep(Duration::from_secs(9 * 60)).await;
    settle().await;
    let made = offers(&engine).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        (made[0].1.clone(), made[0].2.clone()),
        (later, agent("ann"))
    );
}

#[actix_rt::test]
async fn the_thread_keeps_messages_replies_and_internal_notes_in_order() {
    let (store, engine) = paused_engine().await;
    ready(&engine, "ann").await;
    let conversation = engine
        .inbound(text("+15550001111", "SM1"))
        .await
        .unwrap()
        .conversation_id;
    settle().await;
    accept_next(&engine, "ann").await;
    engine
        .add_note(
            &agent("ann"),
            &conversation,
            "VIP, check the last order".into(),
        )
        .await
        .unwrap();
    engine
        .reply(&agent("ann"), &conversation, "Hi! Looking now.")
        .await
        .unwrap();
    let thread = engine.thread(&conversation, 0, 10).await.unwrap();
    let thread = serde_json::to_value(&thread).unwrap();
    let directions: Vec<&str> = thread
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, vec!["inbound", "note", "outbound"]);
    assert_eq!(thread[1]["body"], "VIP, check the last order");
    assert!(kinds(&store).await.contains(&"note.added".to_owned()));
}

#[actix_rt::test]
async fn warm_transfer_keeps_the_owner_until_the_target_accepts() {
    let (store, engine) = paused_engine().await;
    let conversation = owned_by_ann(&engine).await;
    ready(&engine, "bob").await;
    let warm = |target: &str| engine::runtime::TransferTarget::Agent(agent(target));

    // Bob is asked; Ann keeps it meanwhile and can still reply. Bob declines: nothing changes.
    engine
        .transfer(
            &agent("ann"),
            &conversation,
            warm("bob"),
            true,
            Some("Billing question".into()),
        )
        .await
        .unwrap();
    settle().await;
    let made = offers(&engine).await;
    assert_eq!((made.len(), made[0].2.clone()), (1, agent("bob")));
    assert_eq!(
        engine
            .conversation(&conversation)
            .await
            .unwrap()
            .owner()
            .clone(),
        Some(agent("ann"))
    );
    engine
        .reply(
            &agent("ann"),
            &conversation,
            "One moment, I'm bringing in a colleague",
        )
        .await
        .unwrap();
    engine
        .answer_offer(&agent("bob"), &made[0].0, Answer::Reject)
        .await
        .unwrap();
    settle().await;
    assert!(
        offers(&engine).await.is_empty(),
        "a declined warm transfer is not offered to anyone else"
    );
    let c = engine.conversation(&conversation).await.unwrap();
    assert_eq!(
        (c.owner().clone(), c.pending_transfer().clone()),
        (Some(agent("ann")), None)
    );
    assert!(
        kinds(&store)
            .await
            .contains(&"transfer.declined".to_owned())
    );

    // Again, and Bob accepts: he owns it, Ann is a subscriber with her slot back.
    engine
        .transfer(&agent("ann"), &conversation, warm("bob"), true, None)
        .await
        .unwrap();
    settle().await;
    accept_next(&engine, "bob").await;
    let c = engine.conversation(&conversation).await.unwrap();
    assert_eq!(c.owner().clone(), Some(agent("bob")));
    assert!(c.subscribers().contains(&agent("ann")));
    assert_eq!(engine.agent_snapshot(&agent("ann")).await.unwrap().load, 0);
    assert_eq!(engine.agent_snapshot(&agent("bob")).await.unwrap().load, 1);
}
