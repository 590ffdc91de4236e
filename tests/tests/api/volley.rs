//! The Volley flow end to end, through real HTTP and websockets, with two agents: texts
//! arrive, the beacon counts them, agents log in and go available, the longest-waiting
//! conversation is offered, a rejection is re-offered to the other agent, the agent accepts,
//! replies with a rendered template, records a disposition with a note, saves for later,
//! gets it back on wake-up, completes it, gets the next waiting one, and sees when nothing
//! waits.

use std::time::Duration;

use harness::{TestApp, WsClient, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> harness::Answer {
    app.request(method, path, Some(token), body.as_ref()).await
}

use super::conversations::text_saying as text;

async fn go_available(app: &TestApp, token: &str, agent: &str) {
    call(
        app,
        token,
        Method::PUT,
        &format!("/v1/agents/{agent}/queues"),
        Some(json!({"queue_ids": ["inbound"]})),
    )
    .await
    .expect_status(200);
    call(
        app,
        token,
        Method::PUT,
        &format!("/v1/agents/{agent}/presence"),
        Some(json!({"presence": "available"})),
    )
    .await
    .expect_status(200);
}

/// The next `offer.created` for `conversation` on this socket.
async fn offer_of(ws: &mut WsClient, conversation: &str) -> String {
    loop {
        let offer = ws.next_of("offer.created").await;
        if offer["data"]["conversation_id"] == conversation {
            return offer["data"]["offer_id"].as_str().unwrap().to_owned();
        }
    }
}

/// Accepts an offer over the socket and waits for the assignment.
async fn accept(ws: &mut WsClient, offer: &str, conversation: &str) {
    ws.send(json!({"type": "accept", "offer_id": offer, "ref": offer}))
        .await;
    let reply = ws.next_of("reply").await;
    assert_eq!(reply["data"]["outcome"], "accepted", "{reply}");
    loop {
        let assigned = ws.next_of("conversation.assigned").await;
        if assigned["data"]["conversation_id"] == conversation {
            assert_eq!(assigned["data"]["agent_id"], "ann");
            return;
        }
    }
}

/// Waits for a `queue.stats` push with `waiting` conversations.
async fn beacon_shows(ws: &mut WsClient, waiting: u64) -> Value {
    loop {
        let stats = ws.next_of("queue.stats").await;
        if stats["data"]["waiting"] == waiting {
            return stats;
        }
    }
}

#[tokio::test]
async fn the_volley_flow_with_two_agents() {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[("ann", "support", "agent"), ("bob", "support", "agent")])
        .await;
    let [ann, bob] = <[String; 2]>::try_from(tokens).unwrap();
    app.patch("/v1/agents/ann", json!({"capacity": 2}))
        .await
        .expect_status(200);
    app.patch("/v1/agents/bob", json!({"capacity": 1}))
        .await
        .expect_status(200);
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/templates",
        json!({"id": "tp_thanks", "name": "Thanks", "scope": {"type": "campaign", "campaign": "Spring"},
               "body": "Hi {{contact.first_name}}, this is {{agent.name}} from {{campaign}}. Your order ships today."}),
    )
    .await
    .expect_status(201);
    let mut ann_ws = app.ws(&ann).await;
    let mut bob_ws = app.ws(&bob).await;

    // Texts arrive; the beacon counts them.
    let c1 = text(&app, "+15550001111", "Where is my order?").await;
    let c2 = text(&app, "+15550002222", "Do you ship to Canada?").await;
    let stats = beacon_shows(&mut ann_ws, 2).await;
    assert_eq!(stats["data"]["waiting_by_campaign"]["Spring"], 2);

    // Bob logs in and goes available: the longest-waiting conversation is his offer.
    go_available(&app, &bob, "bob").await;
    let bob_offer = offer_of(&mut bob_ws, &c1).await;
    // Ann (two slots) gets the other one.
    go_available(&app, &ann, "ann").await;
    let c2_offer = offer_of(&mut ann_ws, &c2).await;

    // Bob rejects: the conversation is re-offered to Ann, who has a free slot.
    call(
        &app,
        &bob,
        Method::POST,
        &format!("/v1/offers/{bob_offer}/reject"),
        None,
    )
    .await
    .expect_status(204);
    call(
        &app,
        &bob,
        Method::PUT,
        "/v1/agents/bob/presence",
        Some(json!({"presence": "away"})),
    )
    .await
    .expect_status(200);
    let c1_offer = offer_of(&mut ann_ws, &c1).await;
    assert_ne!(c1_offer, bob_offer, "a new offer");
    accept(&mut ann_ws, &c1_offer, &c1).await;
    accept(&mut ann_ws, &c2_offer, &c2).await;

    // Reply with a rendered template.
    call(
        &app,
        &ann,
        Method::PATCH,
        "/v1/contacts/+15550001111",
        Some(json!({"name": "Maria Lopez"})),
    )
    .await
    .expect_status(200);
    let quick = call(
        &app,
        &ann,
        Method::GET,
        &format!("/v1/conversations/{c1}/templates"),
        None,
    )
    .await;
    let rendered = quick.body["items"][0]["rendered"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        rendered,
        "Hi Maria, this is ann from Spring. Your order ships today."
    );
    let sent = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{c1}/messages"),
        Some(json!({"template_id": "tp_thanks"})),
    )
    .await;
    sent.expect_status(201);
    // The first text to Maria from this number carries its opt-out footer.
    let texted = format!("{rendered}\nReply STOP to unsubscribe.");
    assert_eq!(sent.body["body"], texted.as_str());
    let pushed = ann_ws.next_of("message.sent").await;
    assert_eq!(pushed["data"]["message"]["body"], texted.as_str());

    // A disposition with a note.
    let disposed = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{c1}/dispositions"),
        Some(json!({"code": "resolved", "note": "Shipping date confirmed"})),
    )
    .await;
    disposed.expect_status(200);
    assert_eq!(
        disposed.body["dispositions"][0]["note"],
        "Shipping date confirmed"
    );

    // Save for later: it leaves Ann's slots until it wakes, then comes back to her first.
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let snoozed = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{c1}/snooze"),
        Some(json!({"until": until.to_rfc3339()})),
    )
    .await;
    snoozed.expect_status(200);
    assert_eq!(snoozed.body["status"], "snoozed");
    let woken_offer = offer_of(&mut ann_ws, &c1).await;
    assert!(chrono::Utc::now() >= until, "not before its time");
    accept(&mut ann_ws, &woken_offer, &c1).await;

    // A new text waits while Ann is full and Bob away.
    let c3 = text(&app, "+15550003333", "Hello?").await;
    beacon_shows(&mut ann_ws, 1).await;

    // Completing frees a slot: the next waiting conversation is offered at once.
    call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{c1}/complete"),
        None,
    )
    .await
    .expect_status(200);
    let c3_offer = offer_of(&mut ann_ws, &c3).await;
    accept(&mut ann_ws, &c3_offer, &c3).await;
    app.dispose_and_complete(&ann, &c2, "resolved").await;
    app.dispose_and_complete(&ann, &c3, "resolved").await;

    // Nothing waits: the agent's view and the beacon say so.
    beacon_shows(&mut ann_ws, 0).await;
    let view = call(&app, &ann, Method::GET, "/v1/agents/ann", None).await;
    view.expect_status(200);
    assert_eq!(view.body["state"]["presence"], "available");
    assert_eq!(view.body["state"]["offers"], json!([]));
    assert_eq!(view.body["state"]["owned_conversation_ids"], json!([]));
    assert_eq!(view.body["state"]["load"], 0);
    let stats = call(&app, &ann, Method::GET, "/v1/queues/inbound/stats", None).await;
    assert_eq!(stats.body["waiting"], 0);
    let waiting = call(
        &app,
        &ann,
        Method::GET,
        "/v1/conversations?view=waiting",
        None,
    )
    .await;
    assert_eq!(waiting.body["items"], json!([]));
    let closed = call(
        &app,
        &ann,
        Method::GET,
        "/v1/conversations?view=closed",
        None,
    )
    .await;
    assert_eq!(closed.body["items"].as_array().unwrap().len(), 3);
    // Bob saw his own offer and none of Ann's.
    let bob_saw = bob_ws.events_within(Duration::from_millis(300)).await;
    assert!(
        bob_saw
            .iter()
            .all(|e| !(e["type"] == "offer.created" && e["data"]["agent_id"] == "ann"))
    );
}
