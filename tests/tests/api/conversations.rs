//! Working a conversation over HTTP: detail, thread, reply, note, disposition, complete and
//! claim, with team visibility and ownership.

use std::time::{Duration, Instant};

use harness::{ADMIN_TOKEN, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Team `support` with queue `inbound`, agents Ann and Bob; team `sales` with Eve; the code
/// `resolved`. Returns the app and the tokens of Ann, Bob and Eve.
pub(crate) async fn floor() -> (TestApp, String, String, String) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("eve", "sales", "agent"),
        ])
        .await;
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    let [ann, bob, eve] = <[String; 3]>::try_from(tokens).expect("three tokens");
    (app, ann, bob, eve)
}

pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> harness::Answer {
    app.request(method, path, Some(token), body.as_ref()).await
}

pub(crate) async fn text(app: &TestApp, from: &str) -> String {
    text_saying(app, from, "Where is my order?").await
}

/// `from` texts `body` to the support number; returns the conversation it joined.
pub(crate) async fn text_saying(app: &TestApp, from: &str, body: &str) -> String {
    let answer = app
        .post(
            "/v1/inbound",
            json!({"from": from, "to": "+15550102000", "body": body}),
        )
        .await;
    answer.expect_status(200);
    answer.body["conversation_id"].as_str().unwrap().to_owned()
}

/// Ann logs in, goes available and accepts the first offer; returns its conversation.
pub(crate) async fn ann_takes_one(app: &TestApp, ann: &str) -> String {
    takes_one(app, ann, "ann", "inbound").await
}

/// `agent` (with `token`) logs into `queue`, goes available and accepts the first offer;
/// returns its conversation.
pub(crate) async fn takes_one(app: &TestApp, token: &str, agent: &str, queue: &str) -> String {
    call(
        app,
        token,
        Method::PUT,
        &format!("/v1/agents/{agent}/queues"),
        Some(json!({"queue_ids": [queue]})),
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
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let state = call(
            app,
            token,
            Method::GET,
            &format!("/v1/agents/{agent}/presence"),
            None,
        )
        .await;
        if let Some(offer) = state.body["offers"].as_array().and_then(|o| o.first()) {
            let (offer_id, conversation) = (
                offer["offer_id"].as_str().unwrap(),
                offer["conversation_id"].as_str().unwrap().to_owned(),
            );
            call(
                app,
                token,
                Method::POST,
                &format!("/v1/offers/{offer_id}/accept"),
                None,
            )
            .await
            .expect_status(204);
            break conversation;
        }
        assert!(Instant::now() < deadline, "no offer: {}", state.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the conversation is owned by `agent`.
pub(crate) async fn owned_by(app: &TestApp, token: &str, conversation: &str, agent: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let view = call(
            app,
            token,
            Method::GET,
            &format!("/v1/conversations/{conversation}"),
            None,
        )
        .await;
        if view.body["owner"] == agent {
            return view.body;
        }
        assert!(
            Instant::now() < deadline,
            "never owned by {agent}: {}",
            view.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_owner_replies_notes_disposes_and_completes() {
    let (app, ann, bob, eve) = floor().await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    let detail = owned_by(&app, &ann, &conversation, "ann").await;
    assert_eq!(
        (detail["status"].as_str(), detail["campaign"].as_str()),
        (Some("owned"), Some("Spring"))
    );
    let base = format!("/v1/conversations/{conversation}");

    let reply = call(
        &app,
        &ann,
        Method::POST,
        &format!("{base}/messages"),
        Some(json!({"body": "Let me check!"})),
    )
    .await;
    reply.expect_status(201);
    assert_eq!(reply.body["direction"], "outbound");
    call(
        &app,
        &ann,
        Method::POST,
        &format!("{base}/notes"),
        Some(json!({"body": "Order 1234"})),
    )
    .await
    .expect_status(201);
    let thread = call(&app, &bob, Method::GET, &format!("{base}/messages"), None).await;
    let directions: Vec<&str> = thread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, vec!["inbound", "outbound", "note"]);
    assert!(
        thread.body["items"][0]["at"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "times are RFC 3339"
    );

    // A teammate sees it but cannot reply; another team cannot see it; the admin sees, not acts.
    call(
        &app,
        &bob,
        Method::POST,
        &format!("{base}/messages"),
        Some(json!({"body": "hi"})),
    )
    .await
    .expect_error(403, "forbidden");
    call(&app, &eve, Method::GET, &base, None)
        .await
        .expect_error(404, "not_found");
    call(
        &app,
        &eve,
        Method::POST,
        &format!("{base}/notes"),
        Some(json!({"body": "x"})),
    )
    .await
    .expect_error(404, "not_found");
    call(&app, ADMIN_TOKEN, Method::GET, &base, None)
        .await
        .expect_status(200);
    call(
        &app,
        ADMIN_TOKEN,
        Method::POST,
        &format!("{base}/complete"),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    call(
        &app,
        &ann,
        Method::POST,
        &format!("{base}/messages"),
        Some(json!({"body": "   "})),
    )
    .await
    .expect_error(400, "invalid_value");

    call(&app, &ann, Method::POST, &format!("{base}/complete"), None)
        .await
        .expect_error(409, "disposition_required");
    call(
        &app,
        &ann,
        Method::POST,
        &format!("{base}/dispositions"),
        Some(json!({"code": "nope"})),
    )
    .await
    .expect_error(404, "not_found");
    call(
        &app,
        &ann,
        Method::POST,
        &format!("{base}/dispositions"),
        Some(json!({"code": "resolved", "note": "shipped"})),
    )
    .await
    .expect_status(200);
    let done = call(&app, &ann, Method::POST, &format!("{base}/complete"), None).await;
    done.expect_status(200);
    assert_eq!(done.body["status"], "closed");
    assert_eq!(done.body["dispositions"][0]["code"], "resolved");
}

#[tokio::test]
async fn the_first_claim_wins() {
    let (app, ann, bob, _) = floor().await;
    let conversation = text(&app, "+15550002222").await;
    let base = format!("/v1/conversations/{conversation}");
    let claimed = call(&app, &bob, Method::POST, &format!("{base}/claim"), None).await;
    claimed.expect_status(200);
    assert_eq!(claimed.body["owner"], "bob");
    call(&app, &ann, Method::POST, &format!("{base}/claim"), None)
        .await
        .expect_error(409, "conversation_conflict");
    call(
        &app,
        &ann,
        Method::GET,
        "/v1/conversations/cv_missing",
        None,
    )
    .await
    .expect_error(404, "not_found");
}
