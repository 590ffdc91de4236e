//! The websocket, through a real client: events filtered by team and role, offers answered
//! over the socket, resume after a dropped connection, the beacon, bad frames, heartbeats.

use std::time::Duration;

use harness::{TestApp, WsClient, spawn_app, spawn_app_with, test_settings};
use reqwest::Method;
use serde_json::{Value, json};

struct Floor {
    app: TestApp,
    ann: String,
    bob: String,
    eve: String,
    sue: String,
}

/// Team `support` (queue `inbound`, number +15550102000, agents Ann and Bob, supervisor Sue)
/// and team `sales` (queue `deals`, agent Eve).
async fn floor_on(app: TestApp) -> Floor {
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("eve", "sales", "agent"),
            ("sue", "support", "supervisor"),
        ])
        .await;
    let [ann, bob, eve, sue] = <[String; 4]>::try_from(tokens).expect("four tokens");
    Floor {
        app,
        ann,
        bob,
        eve,
        sue,
    }
}

async fn floor() -> Floor {
    floor_on(spawn_app().await).await
}

impl Floor {
    async fn text(&self, from: &str, body: &str) -> String {
        super::conversations::text_saying(&self.app, from, body).await
    }

    async fn go_available(&self, token: &str, agent: &str) {
        self.app
            .request(
                Method::PUT,
                &format!("/v1/agents/{agent}/queues"),
                Some(token),
                Some(&json!({"queue_ids": ["inbound"]})),
            )
            .await
            .expect_status(200);
        self.app
            .request(
                Method::PUT,
                &format!("/v1/agents/{agent}/presence"),
                Some(token),
                Some(&json!({"presence": "available"})),
            )
            .await
            .expect_status(200);
    }
}

fn ids(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn an_offer_reaches_the_agents_socket_and_is_accepted_over_it() {
    let f = floor().await;
    let mut ann = f.app.ws(&f.ann).await;
    assert_eq!(ann.hello["data"]["role"], "agent");
    assert_eq!(ann.hello["data"]["agent_id"], "ann");
    f.go_available(&f.ann, "ann").await;
    let conversation = f.text("+15550001111", "Hello").await;

    let offer = ann.next_of("offer.created").await;
    assert_eq!(offer["data"]["conversation_id"], conversation.as_str());
    assert_eq!(offer["data"]["agent_id"], "ann");
    assert!(offer["id"].as_u64().unwrap() > 0);
    let offer_id = offer["data"]["offer_id"].as_str().unwrap().to_owned();

    ann.send(json!({"type": "accept", "offer_id": offer_id, "ref": "click-1"}))
        .await;
    let reply = ann.next_of("reply").await;
    assert_eq!(reply["ref"], "click-1");
    assert_eq!(reply["data"]["outcome"], "accepted");
    let assigned = ann.next_of("conversation.assigned").await;
    assert_eq!(assigned["data"]["agent_id"], "ann");
    // A double click: the same answer again is a stale offer, changing nothing.
    ann.send(json!({"type": "accept", "offer_id": offer_id, "ref": "click-2"}))
        .await;
    let error = ann.next_of("error").await;
    assert_eq!(error["ref"], "click-2");
    assert_eq!(error["data"]["code"], "stale_offer");
}

#[tokio::test]
async fn events_reach_only_those_who_may_see_them() {
    let f = floor().await;
    let mut bob = f.app.ws(&f.bob).await;
    let mut eve = f.app.ws(&f.eve).await;
    let mut sue = f.app.ws(&f.sue).await;
    let mut admin = f.app.ws(harness::ADMIN_TOKEN).await;
    f.go_available(&f.ann, "ann").await;
    f.text("+15550001111", "Hello").await;

    // The admin sees everything, down to Ann's offer.
    let offer = admin.next_of("offer.created").await;
    assert_eq!(offer["data"]["agent_id"], "ann");
    let last = offer["id"].as_u64().unwrap();
    // Let every session catch up to that event, then compare what each was shown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds = |events: Vec<Value>| -> Vec<String> {
        events
            .into_iter()
            .filter(|e| e["id"].as_u64().unwrap() <= last)
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let bob_saw = kinds(bob.events_within(Duration::from_millis(200)).await);
    let sue_saw = kinds(sue.events_within(Duration::from_millis(200)).await);
    let eve_saw = kinds(eve.events_within(Duration::from_millis(200)).await);
    // A teammate sees the conversation but neither Ann's offer nor her presence.
    assert!(
        bob_saw.contains(&"message.received".to_owned()),
        "{bob_saw:?}"
    );
    assert!(bob_saw.contains(&"conversation.created".to_owned()));
    assert!(
        !bob_saw.iter().any(|k| k.starts_with("offer.")),
        "{bob_saw:?}"
    );
    assert!(
        !bob_saw.contains(&"agent.updated".to_owned()),
        "{bob_saw:?}"
    );
    // The team's supervisor sees those too.
    assert!(sue_saw.contains(&"offer.created".to_owned()), "{sue_saw:?}");
    assert!(sue_saw.contains(&"agent.updated".to_owned()), "{sue_saw:?}");
    // Another team sees nothing at all of it.
    assert!(eve_saw.is_empty(), "{eve_saw:?}");
    // Nor its queue's numbers.
    assert!(
        eve.try_next_frame(Duration::from_millis(600))
            .await
            .is_none(),
        "no queue.stats for another team's queue"
    );
}

#[tokio::test]
async fn a_desktop_following_its_own_work_sees_only_its_conversations() {
    let f = floor().await;
    let mut ann = f.app.ws_following_own(&f.ann).await;
    let mut bob = f.app.ws_following_own(&f.bob).await;
    let mut sue = f.app.ws(&f.sue).await;
    let mut admin = f.app.ws(harness::ADMIN_TOKEN).await;
    assert_eq!(ann.hello["data"]["follow"], "own");
    assert_eq!(sue.hello["data"]["follow"], "team");
    f.go_available(&f.ann, "ann").await;
    let mine = f.text("+15550001111", "Hello").await;
    let offer = ann.next_of("offer.created").await;
    assert_eq!(offer["data"]["conversation_id"], mine.as_str());
    ann.send(json!({"type": "accept", "offer_id": offer["data"]["offer_id"]}))
        .await;
    ann.next_of("conversation.assigned").await;
    // Ann steps away: the next customer waits in the queue, nobody's work yet.
    f.app
        .request(
            Method::PUT,
            "/v1/agents/ann/presence",
            Some(&f.ann),
            Some(&json!({"presence": "away"})),
        )
        .await
        .expect_status(200);
    let waiting = f.text("+15550002222", "Anyone?").await;
    f.text("+15550001111", "Still there?").await;
    let last = admin.next_of("message.received").await;
    let last = loop {
        let event = admin.next_frame().await;
        if event["type"] == "message.received" && event["data"]["conversation_id"] == mine.as_str()
        {
            break event["id"].as_u64().unwrap();
        }
    }
    .max(last["id"].as_u64().unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = |events: Vec<Value>| -> Vec<(String, String)> {
        events
            .into_iter()
            .filter(|e| e["id"].as_u64().unwrap() <= last)
            .map(|e| {
                let about = e["data"]["conversation_id"].as_str().unwrap_or("-");
                (e["type"].as_str().unwrap().to_owned(), about.to_owned())
            })
            .collect()
    };
    let ann_saw = seen(ann.events_within(Duration::from_millis(200)).await);
    let bob_saw = seen(bob.events_within(Duration::from_millis(200)).await);
    let sue_saw = seen(sue.events_within(Duration::from_millis(200)).await);
    // Ann: her own conversation's next text and her presence, nothing of the waiting one.
    assert!(
        ann_saw.contains(&("message.received".into(), mine.clone())),
        "{ann_saw:?}"
    );
    assert!(ann_saw.contains(&("agent.updated".into(), "-".into())));
    assert!(
        ann_saw.iter().all(|(_, about)| about != &waiting),
        "{ann_saw:?}"
    );
    // Bob owns nothing and is named by nothing: nothing at all.
    assert!(bob_saw.is_empty(), "{bob_saw:?}");
    // Sue follows the team: both conversations.
    assert!(sue_saw.contains(&("conversation.created".into(), waiting.clone())));
    assert!(sue_saw.contains(&("message.received".into(), mine.clone())));

    // Bob subscribes to Ann's conversation: from then on he follows it too.
    f.app
        .request(
            Method::POST,
            &format!("/v1/conversations/{mine}/subscribe"),
            Some(&f.bob),
            None,
        )
        .await
        .expect_status(200);
    let subscribed = bob.next_of("conversation.updated").await;
    assert_eq!(subscribed["data"]["agent_id"], "bob");
    f.text("+15550001111", "Thanks both").await;
    let text = bob.next_of("message.received").await;
    assert_eq!(text["data"]["conversation_id"], mine.as_str());
}

#[tokio::test]
async fn a_dropped_session_resumes_with_every_missed_event_once_and_in_order() {
    let f = floor().await;
    // Ann's second tab stays connected throughout: what it sees is what the first must get.
    let mut witness = f.app.ws(&f.ann).await;
    let mut tab = f.app.ws(&f.ann).await;
    f.go_available(&f.ann, "ann").await;
    let conversation = f.text("+15550001111", "first").await;
    let offer = tab.next_of("offer.created").await;
    let last_seen = offer["id"].as_u64().unwrap();
    // Mid-flow, the tab dies with the offer on screen.
    tab.kill();

    // While it is gone: the offer is accepted elsewhere, the customer and others write, a
    // teammate replies nothing, Ann replies.
    let offer_id = offer["data"]["offer_id"].as_str().unwrap();
    f.app
        .request(
            Method::POST,
            &format!("/v1/offers/{offer_id}/accept"),
            Some(&f.ann),
            None,
        )
        .await
        .expect_status(204);
    for (i, from) in ["+15550001111", "+15550002222", "+15550003333"]
        .into_iter()
        .enumerate()
    {
        f.text(from, &format!("missed {i}")).await;
    }
    let reply = loop {
        let answer = f
            .app
            .request(
                Method::POST,
                &format!("/v1/conversations/{conversation}/messages"),
                Some(&f.ann),
                Some(&json!({"body": "On it"})),
            )
            .await;
        if answer.status == 201 {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(reply.body["body"], "On it\nReply STOP to unsubscribe.");
    let witnessed = witness.events_within(Duration::from_millis(1500)).await;
    let expected: Vec<u64> = ids(&witnessed)
        .into_iter()
        .filter(|id| *id > last_seen)
        .collect();
    let kinds: Vec<&str> = witnessed
        .iter()
        .filter(|e| e["id"].as_u64().unwrap() > last_seen)
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in ["conversation.assigned", "message.received", "message.sent"] {
        assert!(
            kinds.contains(&kind),
            "{kind} happened meanwhile: {kinds:?}"
        );
    }

    // Reconnect and say `resume` first.
    let mut back = WsClient::connect(&f.app.address, &f.ann, None).await;
    back.send(json!({"type": "resume", "after": last_seen}))
        .await;
    let mut replayed = Vec::new();
    loop {
        let frame = back.next_frame().await;
        match frame["type"].as_str().unwrap() {
            "resumed" => break,
            "resume.gap" => panic!("nothing was dropped from the journal: {frame}"),
            _ if frame.get("id").is_some() => replayed.push(frame),
            _ => {}
        }
    }
    assert_eq!(
        ids(&replayed),
        expected,
        "every missed event, once, in order"
    );
    // Then it is live again, and nothing is repeated.
    let conversation = f.text("+15550005555", "after").await;
    let live = back.next_of("message.received").await;
    assert_eq!(live["data"]["conversation_id"], conversation.as_str());
    assert!(live["id"].as_u64().unwrap() > *expected.last().unwrap());

    // The same through `?after=`.
    let mut via_query = f.app.ws_after(&f.ann, last_seen).await;
    let mut again = Vec::new();
    while again.len() < expected.len() {
        let frame = via_query.next_frame().await;
        if frame.get("id").is_some() {
            again.push(frame);
        }
    }
    assert_eq!(ids(&again), expected);
}

#[tokio::test]
async fn the_beacon_pushes_queue_stats_coalesced() {
    let f = floor().await;
    let mut sue = f.app.ws(&f.sue).await;
    for i in 0..30 {
        f.text(&format!("+1555000{:04}", 1000 + i), "hi").await;
    }
    let mut stats = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    // Read until the numbers show the whole burst (then a little longer, to count pushes).
    while let Some(frame) = sue
        .try_next_frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        if frame["type"] == "queue.stats" {
            assert!(frame.get("id").is_none(), "stats are not journaled");
            let done = frame["data"]["waiting"] == 30;
            stats.push(frame);
            if done {
                break;
            }
        }
    }
    while let Some(frame) = sue.try_next_frame(Duration::from_millis(600)).await {
        if frame["type"] == "queue.stats" {
            stats.push(frame);
        }
    }
    let last = stats.last().expect("stats pushed");
    assert_eq!(last["data"]["queue_id"], "inbound");
    assert_eq!(last["data"]["waiting"], 30);
    assert_eq!(last["data"]["waiting_by_campaign"]["Spring"], 30);
    assert!(
        stats.len() < 30,
        "a burst of 30 texts is coalesced: {} pushes",
        stats.len()
    );
    // A late joiner gets the current numbers at once.
    let mut late = f.app.ws(&f.bob).await;
    let first = late.next_of("queue.stats").await;
    assert_eq!(first["data"]["waiting"], 30);
}

#[tokio::test]
async fn every_visible_queue_has_its_numbers_on_connect_even_untouched() {
    let f = floor().await;
    // Nothing has happened in any queue yet.
    let mut ann = f.app.ws(&f.ann).await;
    let stats = ann.next_frame().await;
    assert_eq!(stats["type"], "queue.stats", "right after hello");
    assert_eq!(stats["data"]["queue_id"], "inbound");
    assert_eq!(stats["data"]["waiting"], 0);
    assert_eq!(stats["data"]["waiting_by_campaign"], json!({}));
    // Only her team's queue: nothing for sales' `deals`.
    let more = ann.events_within(Duration::from_millis(300)).await;
    assert!(more.is_empty(), "{more:?}");
    // The admin sees both, in queue order.
    let mut admin = f.app.ws(harness::ADMIN_TOKEN).await;
    let first = admin.next_of("queue.stats").await;
    let second = admin.next_of("queue.stats").await;
    assert_eq!(
        (
            first["data"]["queue_id"].as_str(),
            second["data"]["queue_id"].as_str()
        ),
        (Some("deals"), Some("inbound"))
    );
}

#[tokio::test]
async fn bad_frames_are_answered_with_error_frames() {
    let f = floor().await;
    let mut bob = f.app.ws(&f.bob).await;
    for bad in [
        json!({"type": "dance"}),
        json!({"type": "accept"}),
        json!({"type": "resume", "after": "x"}),
        json!({"type": "ping", "extra": 1}),
    ] {
        bob.send(bad.clone()).await;
        let error = bob.next_of("error").await;
        assert_eq!(error["data"]["code"], "invalid_frame", "{bad}");
    }
    bob.send(json!({"type": "ping", "ref": "p"})).await;
    assert_eq!(bob.next_of("pong").await["ref"], "p");
    // The admin cannot answer offers.
    let mut admin = f.app.ws(harness::ADMIN_TOKEN).await;
    admin
        .send(json!({"type": "accept", "offer_id": "of_x"}))
        .await;
    assert_eq!(admin.next_of("error").await["data"]["code"], "forbidden");
    // A resume after live events were delivered is refused, not half-served.
    f.text("+15550001111", "hi").await;
    bob.next_of("message.received").await;
    bob.send(json!({"type": "resume", "after": 0})).await;
    assert_eq!(
        bob.next_of("error").await["data"]["code"],
        "resume_too_late"
    );
}

#[tokio::test]
async fn connecting_needs_a_valid_token() {
    let f = floor().await;
    let url = f.app.address.replacen("http://", "ws://", 1);
    for query in ["", "?token=nope", "?token=sbt_0000"] {
        let err = tokio_tungstenite::connect_async(format!("{url}/v1/ws{query}"))
            .await
            .expect_err("refused");
        match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), 401, "{query}");
            }
            other => panic!("{query}: {other}"),
        }
    }
    // Plain HTTP to the websocket route is a clear 400.
    f.app
        .request(Method::GET, "/v1/ws", Some(&f.ann), None)
        .await
        .expect_error(400, "websocket_required");
}

#[tokio::test]
async fn a_client_that_does_not_answer_pings_is_dropped_with_a_reason() {
    let mut settings = test_settings(&harness::shared_redis_url(), &harness::unique_prefix("ws"));
    settings.websocket.heartbeat = Duration::from_millis(100);
    settings.websocket.client_timeout = Duration::from_millis(400);
    let f = floor_on(spawn_app_with(settings).await).await;
    let mut ann = f.app.ws(&f.ann).await;
    // Not reading means not answering pings (the client answers only as it reads).
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (code, reason) = ann.closed(Duration::from_secs(5)).await.expect("closed");
    assert_eq!(code, 4408, "{reason}");
    assert_eq!(reason, "no answer to pings");
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions() {
    let mut settings = test_settings(&harness::shared_redis_url(), &harness::unique_prefix("ws"));
    settings.websocket.heartbeat = Duration::from_millis(100);
    let f = floor_on(spawn_app_with(settings).await).await;
    let mut bob = f.app.ws(&f.bob).await;
    let tokens = f.app.get("/v1/agents/bob/tokens").await;
    let token_id = tokens.body["items"][0]["id"].as_str().unwrap().to_owned();
    f.app
        .delete(&format!("/v1/agents/bob/tokens/{token_id}"))
        .await
        .expect_status(204);
    let (code, reason) = bob.closed(Duration::from_secs(5)).await.expect("closed");
    assert_eq!((code, reason.as_str()), (4401, "token no longer valid"));
}

#[tokio::test]
async fn internal_chat_reaches_only_the_two_agents() {
    let f = floor().await;
    let mut bob = f.app.ws(&f.bob).await;
    let mut sue = f.app.ws(&f.sue).await;
    let mut ann = f.app.ws(&f.ann).await;
    let sent = f
        .app
        .request(
            Method::POST,
            "/v1/chat/bob/messages",
            Some(&f.ann),
            Some(&json!({"body": "Can you take the Lopez text?"})),
        )
        .await;
    sent.expect_status(201);
    assert_eq!(sent.body["from_agent_id"], "ann");
    let got = bob.next_of("chat.message").await;
    assert_eq!(
        got["data"]["message"]["body"],
        "Can you take the Lopez text?"
    );
    assert_eq!(ann.next_of("chat.message").await["id"], got["id"]);
    // Not the supervisor: a chat is between its two agents.
    let seen: Vec<Value> = sue.events_within(Duration::from_millis(500)).await;
    assert!(seen.iter().all(|e| e["type"] != "chat.message"), "{seen:?}");

    f.app
        .request(
            Method::POST,
            "/v1/chat/ann/messages",
            Some(&f.bob),
            Some(&json!({"body": "Sure"})),
        )
        .await
        .expect_status(201);
    let thread = f
        .app
        .request(Method::GET, "/v1/chat/bob/messages", Some(&f.ann), None)
        .await;
    thread.expect_status(200);
    let bodies: Vec<&str> = thread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Can you take the Lopez text?", "Sure"]);
    // Another team's agent, the admin, oneself, blank text: refused, nothing stored.
    for (token, path, body, status, code) in [
        (
            &f.ann,
            "/v1/chat/eve/messages",
            json!({"body": "hi"}),
            404,
            "not_found",
        ),
        (
            &f.eve,
            "/v1/chat/ann/messages",
            json!({"body": "hi"}),
            404,
            "not_found",
        ),
        (
            &f.ann,
            "/v1/chat/ann/messages",
            json!({"body": "hi"}),
            404,
            "not_found",
        ),
        (
            &f.ann,
            "/v1/chat/bob/messages",
            json!({"body": "  "}),
            400,
            "invalid_value",
        ),
        (
            &f.ann,
            "/v1/chat/bob/messages",
            json!({"text": "hi"}),
            400,
            "unknown_field",
        ),
    ] {
        f.app
            .request(Method::POST, path, Some(token), Some(&body))
            .await
            .expect_error(status, code);
    }
    f.app
        .post("/v1/chat/bob/messages", json!({"body": "hi"}))
        .await
        .expect_error(403, "forbidden");
    let again = f
        .app
        .request(Method::GET, "/v1/chat/ann/messages", Some(&f.bob), None)
        .await;
    assert_eq!(again.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_resume_further_back_than_the_journal_says_so_then_replays_what_is_left() {
    let mut settings = test_settings(&harness::shared_redis_url(), &harness::unique_prefix("ws"));
    settings.journal_cap = 100;
    let f = floor_on(spawn_app_with(settings).await).await;
    let mut witness = f.app.ws(&f.sue).await;
    f.text("+15550001111", "first").await;
    let first = witness.next_of("message.received").await["id"]
        .as_u64()
        .unwrap();
    // Far more events than the journal keeps (Redis trims whole stream nodes of 100).
    for i in 0..200 {
        f.text(&format!("+1555100{i:04}"), "hello").await;
    }
    let mut back = WsClient::connect(&f.app.address, &f.sue, None).await;
    back.send(json!({"type": "resume", "after": first})).await;
    let gap = back.next_of("resume.gap").await;
    assert_eq!(gap["data"]["after"], first);
    let oldest = gap["data"]["oldest_event_id"].as_u64().unwrap();
    assert!(oldest > first + 1, "{gap}");
    assert_eq!(gap["data"]["missed_from"], first + 1);
    assert_eq!(gap["data"]["missed_to"], oldest - 1);
    // Then everything the journal still holds, in order, from its oldest.
    let next = back.next_frame().await;
    assert_eq!(next["id"].as_u64(), Some(oldest), "{next}");
    let mut last = oldest;
    loop {
        let frame = back.next_frame().await;
        if frame["type"] == "resumed" {
            break;
        }
        if let Some(id) = frame["id"].as_u64() {
            assert!(id > last, "in order");
            last = id;
        }
    }
}

/// Every time on the wire is RFC 3339 with milliseconds, inside events' data too.
#[tokio::test]
async fn times_on_the_wire_are_rfc3339_with_milliseconds() {
    let f = floor().await;
    let mut ann = f.app.ws(&f.ann).await;
    f.app
        .post(
            "/v1/inbound",
            json!({"from": "+15550001111", "to": "+15550102000", "body": "Hi"}),
        )
        .await
        .expect_status(200);
    let received = ann.next_of("message.received").await;
    for (name, time) in [
        ("frame at", &received["at"]),
        ("message at", &received["data"]["message"]["at"]),
    ] {
        let text = time.as_str().unwrap_or_else(|| panic!("{name}: {time}"));
        let parsed = chrono::DateTime::parse_from_rfc3339(text).expect(name);
        assert_eq!(
            text,
            parsed
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "{name}"
        );
    }
    for (path, body) in [
        ("/v1/agents/ann/queues", json!({"queue_ids": ["inbound"]})),
        ("/v1/agents/ann/presence", json!({"presence": "available"})),
    ] {
        f.app
            .request(Method::PUT, path, Some(&f.ann), Some(&body))
            .await
            .expect_status(200);
    }
    let offer = ann.next_of("offer.created").await;
    let expires = offer["data"]["expires_at"].as_str().expect("a string");
    assert!(expires.ends_with('Z') && expires.len() == 24, "{expires}");
}
