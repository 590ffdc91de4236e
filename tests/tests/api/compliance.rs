//! STOP and START: an opt-out closes the conversation, is kept on the contact, and refuses
//! every send to that customer from the number's account until START.

use reqwest::Method;
use serde_json::json;

use super::conversations::{ann_takes_one, call, floor, owned_by};

#[tokio::test]
async fn stop_closes_and_blocks_every_send_until_start() {
    let (app, ann, bob, _) = floor().await;
    let text = |body: &str| json!({"from": "+15550001111", "to": "+15550102000", "body": body});
    app.post("/v1/inbound", text("Where is my order?"))
        .await
        .expect_status(200);
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let reply = format!("/v1/conversations/{conversation}/messages");
    call(
        &app,
        &ann,
        Method::POST,
        &reply,
        Some(json!({"body": "Checking now"})),
    )
    .await
    .expect_status(201);

    // " stop " is the keyword: stored, then the conversation closes with a system entry.
    let stopped = app.post("/v1/inbound", text(" stop ")).await;
    stopped.expect_status(200);
    assert_eq!(stopped.body["conversation_id"], conversation.as_str());
    let view = call(
        &app,
        &bob,
        Method::GET,
        &format!("/v1/conversations/{conversation}"),
        None,
    )
    .await;
    assert_eq!(view.body["status"], "closed");
    let thread = call(&app, &bob, Method::GET, &reply, None).await;
    let last = thread.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["direction"].as_str(), last["kind"].as_str()),
        (Some("system"), Some("opted_out"))
    );
    let card = call(&app, &bob, Method::GET, "/v1/contacts/+15550001111", None).await;
    assert_eq!(card.body["opted_out"].as_object().unwrap().len(), 1);
    // Ann's slot is free again.
    let state = call(&app, &ann, Method::GET, "/v1/agents/ann", None).await;
    assert_eq!(state.body["state"]["owned_conversation_ids"], json!([]));

    // No way to text them: an outbound start, with or without a template, is refused.
    let start = json!({"to": "+15550001111", "campaign": "Spring", "body": "We miss you!"});
    call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(start.clone()),
    )
    .await
    .expect_error(409, "recipient_opted_out");
    // "Stop by tomorrow" is a message, not a keyword: it opens a conversation, in which
    // replies are refused while the opt-out stands.
    let later = app
        .post("/v1/inbound", text("Can I stop by tomorrow?"))
        .await;
    let reopened = later.body["conversation_id"].as_str().unwrap().to_owned();
    assert_ne!(reopened, conversation);
    let taken = ann_takes_one(&app, &ann).await;
    assert_eq!(taken, reopened);
    owned_by(&app, &ann, &reopened, "ann").await;
    let refused = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{reopened}/messages"),
        Some(json!({"body": "Sure!"})),
    )
    .await;
    refused.expect_error(409, "recipient_opted_out");
    let thread = call(
        &app,
        &ann,
        Method::GET,
        &format!("/v1/conversations/{reopened}/messages"),
        None,
    )
    .await;
    assert!(
        thread.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["direction"] != "outbound"),
        "nothing was sent"
    );

    // START resubscribes: replies go out again.
    app.post("/v1/inbound", text("START"))
        .await
        .expect_status(200);
    let card = call(&app, &bob, Method::GET, "/v1/contacts/+15550001111", None).await;
    assert_eq!(card.body["opted_out"], json!({}));
    call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{reopened}/messages"),
        Some(json!({"body": "Sure!"})),
    )
    .await
    .expect_status(201);
}
