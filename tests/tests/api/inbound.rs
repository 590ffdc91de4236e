//! `POST /v1/inbound`: customer texts become durable conversations.

use harness::{TestApp, shared_redis_url, spawn_app, spawn_app_with, test_settings, unique_prefix};
use reqwest::Method;
use serde_json::{Value, json};

const BUSINESS: &str = "+15550102000";

async fn with_number(app: &TestApp) {
    app.post("/v1/teams", json!({"id": "support", "name": "Support"}))
        .await
        .expect_status(201);
    app.post(
        "/v1/queues",
        json!({"id": "inbound", "name": "Inbound", "team_id": "support"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/numbers",
        json!({"phone": BUSINESS, "campaign": "Main", "queue_id": "inbound"}),
    )
    .await
    .expect_status(201);
}

fn text(from: &str, provider_id: Option<&str>) -> Value {
    json!({"from": from, "to": BUSINESS, "body": "Where is my order?", "provider_message_id": provider_id})
}

#[tokio::test]
async fn texts_join_the_customers_open_conversation_and_retries_are_dropped() {
    let app = spawn_app().await;
    with_number(&app).await;
    let first = app
        .post("/v1/inbound", text("+15550001111", Some("SM1")))
        .await;
    first.expect_status(200);
    assert_eq!(first.body["duplicate"], false);
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    assert!(conversation.starts_with("cv_"));

    let retry = app
        .post("/v1/inbound", text("+15550001111", Some("SM1")))
        .await;
    assert_eq!(
        retry.body,
        json!({"conversation_id": conversation, "duplicate": true})
    );
    let next = app
        .post("/v1/inbound", text("+1 555 000 1111", Some("SM2")))
        .await;
    assert_eq!(
        next.body,
        json!({"conversation_id": conversation, "duplicate": false})
    );
    let other = app.post("/v1/inbound", text("+15550002222", None)).await;
    other.expect_status(200);
    assert_ne!(other.body["conversation_id"], conversation);
}

#[tokio::test]
async fn bad_inbound_messages_are_refused() {
    let app = spawn_app().await;
    with_number(&app).await;
    let mut unknown = text("+15550001111", None);
    unknown["to"] = json!("+15559999999");
    app.post("/v1/inbound", unknown)
        .await
        .expect_error(404, "unknown_number");
    let mut bad_from = text("5550001111", None);
    bad_from["from"] = json!("5550001111");
    app.post("/v1/inbound", bad_from)
        .await
        .expect_error(400, "invalid_phone_number");
    let mut long = text("+15550001111", None);
    long["body"] = json!("x".repeat(5001));
    app.post("/v1/inbound", long)
        .await
        .expect_error(400, "invalid_value");
    let mut extra = text("+15550001111", None);
    extra["sid"] = json!("x");
    app.post("/v1/inbound", extra)
        .await
        .expect_error(400, "unknown_field");

    let agent = app.create_agent("Ann", &["support"]).await;
    let token = app.issue_token(&agent).await;
    app.request(
        Method::POST,
        "/v1/inbound",
        Some(&token),
        Some(&text("+15550001111", None)),
    )
    .await
    .expect_error(403, "forbidden");
}

#[tokio::test]
async fn an_open_conversation_survives_a_server_restart() {
    let url = shared_redis_url();
    let prefix = unique_prefix("inbound-restart");
    let first = spawn_app_with(test_settings(&url, &prefix)).await;
    with_number(&first).await;
    let before = first
        .post("/v1/inbound", text("+15550001111", Some("SMa")))
        .await;
    before.expect_status(200);
    first.stop().await;

    let second = spawn_app_with(test_settings(&url, &prefix)).await;
    let retry = second
        .post("/v1/inbound", text("+15550001111", Some("SMa")))
        .await;
    assert_eq!(
        retry.body["duplicate"], true,
        "the stored message is remembered"
    );
    let after = second
        .post("/v1/inbound", text("+15550001111", Some("SMb")))
        .await;
    assert_eq!(
        after.body["conversation_id"],
        before.body["conversation_id"]
    );
}

/// A provider retrying a STOP after it closed the customer's conversation gets the same answer:
/// the conversation that holds the STOP, as a duplicate, and nothing new is opened.
#[tokio::test]
async fn a_retried_stop_names_the_conversation_it_closed() {
    let app = spawn_app().await;
    with_number(&app).await;
    let mut stop = text("+15550003333", Some("SMstop"));
    stop["body"] = json!("STOP");
    let first = app.post("/v1/inbound", stop.clone()).await;
    first.expect_status(200);
    let closed = first.body["conversation_id"].clone();
    let retry = app.post("/v1/inbound", stop).await;
    assert_eq!(
        retry.body,
        json!({"conversation_id": closed, "duplicate": true})
    );
    let listed = app.get("/v1/conversations?view=all").await;
    listed.expect_status(200);
    let ids: Vec<&Value> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, [&closed], "no conversation opened by the retry");
}
