//! Starting a conversation by texting a customer: owned by the agent from the start, the
//! text in the outbox, the customer's answer routed back to it.

use reqwest::Method;
use serde_json::json;

use super::conversations::{call, floor};

#[tokio::test]
async fn an_agent_starts_a_conversation_and_the_answer_comes_back_to_it() {
    let (app, ann, bob, eve) = floor().await;
    let started = call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "+15550007777", "campaign": "spring", "body": "Your order shipped!"})),
    )
    .await;
    started.expect_status(201);
    let conversation = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        started.location.as_deref(),
        Some(format!("/v1/conversations/{conversation}").as_str())
    );
    assert_eq!(started.body["conversation"]["owner"], "ann");
    assert_eq!(started.body["conversation"]["status"], "owned");
    assert_eq!(
        started.body["conversation"]["waiting_since"],
        serde_json::Value::Null
    );
    assert_eq!(started.body["message"]["status"], "outbox");
    assert_eq!(started.body["message"]["direction"], "outbound");

    let state = call(&app, &ann, Method::GET, "/v1/agents/ann", None).await;
    assert_eq!(
        state.body["state"]["owned_conversation_ids"],
        json!([conversation])
    );
    let mine = call(&app, &ann, Method::GET, "/v1/conversations?view=mine", None).await;
    assert_eq!(
        mine.body["items"][0]["last_message"]["direction"],
        "outbound"
    );

    // Once open, a second start to the same customer and number points at it.
    let again = call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "+15550007777", "number": "+15550102000", "body": "Hello?"})),
    )
    .await;
    again.expect_error(409, "conversation_conflict");
    assert_eq!(
        again.body["details"]["conversation_id"],
        conversation.as_str()
    );

    // The customer answers: the same conversation, still Ann's, now waiting for her.
    let answer = app
        .post(
            "/v1/inbound",
            json!({"from": "+15550007777", "to": "+15550102000", "body": "Thanks!"}),
        )
        .await;
    assert_eq!(answer.body["conversation_id"], conversation.as_str());
    let view = call(
        &app,
        &bob,
        Method::GET,
        &format!("/v1/conversations/{conversation}"),
        None,
    )
    .await;
    assert_eq!(view.body["owner"], "ann");
    assert!(view.body["waiting_since"].is_string());

    // Refusals change nothing.
    for (token, body, status, code) in [
        (
            &eve,
            json!({"to": "+15550008888", "number": "+15550102000", "body": "x"}),
            404,
            "not_found",
        ),
        (
            &eve,
            json!({"to": "+15550008888", "campaign": "Nope", "body": "x"}),
            404,
            "not_found",
        ),
        (
            &ann,
            json!({"to": "555-1234", "campaign": "Spring", "body": "x"}),
            400,
            "invalid_phone_number",
        ),
        (
            &ann,
            json!({"to": "+15550008888", "body": "x"}),
            422,
            "sending_number_required",
        ),
        (
            &ann,
            json!({"to": "+15550008888", "campaign": "Spring"}),
            400,
            "missing_field",
        ),
        (
            &ann,
            json!({"to": "+15550008888", "campaign": "Spring", "template_id": "tp_none"}),
            404,
            "not_found",
        ),
        (
            &ann,
            json!({"to": "+15550008888", "campaign": "Spring", "body": "x", "cc": "y"}),
            400,
            "unknown_field",
        ),
    ] {
        call(
            &app,
            token,
            Method::POST,
            "/v1/conversations",
            Some(body.clone()),
        )
        .await
        .expect_error(status, code);
    }
    app.post(
        "/v1/conversations",
        json!({"to": "+15550008888", "campaign": "Spring", "body": "x"}),
    )
    .await
    .expect_error(403, "forbidden");
    let all = app.get("/v1/conversations?view=all").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_template_starts_a_conversation_rendered_for_the_customer() {
    let (app, ann, ..) = floor().await;
    app.post(
        "/v1/templates",
        json!({"id": "tp_welcome", "name": "Welcome", "scope": {"type": "campaign", "campaign": "Spring"},
               "body": "Hi {{contact.first_name}}, {{agent.name}} from {{campaign}}."}),
    )
    .await
    .expect_status(201);
    let start = json!({"to": "+15550007777", "campaign": "Spring", "template_id": "tp_welcome"});
    let refused = call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(start.clone()),
    )
    .await;
    refused.expect_error(422, "template_placeholder_missing");
    assert_eq!(
        refused.body["details"]["missing"],
        json!(["contact.first_name"])
    );
    assert!(
        app.get("/v1/conversations?view=all").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn without_number_or_campaign_the_agents_default_campaign_texts() {
    let (app, ann, _, _) = floor().await;
    let start = json!({"to": "+15550006666", "body": "Hello"});
    call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(start.clone()),
    )
    .await
    .expect_error(422, "sending_number_required");
    app.patch("/v1/agents/ann", json!({"default_campaign": "Spring"}))
        .await
        .expect_status(200);
    let started = call(&app, &ann, Method::POST, "/v1/conversations", Some(start)).await;
    started.expect_status(201);
    assert_eq!(started.body["conversation"]["campaign"], "Spring");
    assert_eq!(started.body["conversation"]["queue_id"], "inbound");
}

#[tokio::test]
async fn a_conversation_can_start_with_a_picture_alone() {
    let (app, ann, _, _) = floor().await;
    let started = call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "+15550007777", "campaign": "Spring",
                    "media_urls": ["https://example.com/menu.jpg"]})),
    )
    .await;
    started.expect_status(201);
    let message = &started.body["message"];
    assert_eq!(
        message["media_urls"],
        json!(["https://example.com/menu.jpg"])
    );
    // The first text from the number says how to stop, picture or not.
    assert_eq!(message["body"], "Reply STOP to unsubscribe.");
    call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "+15550008888", "campaign": "Spring"})),
    )
    .await
    .expect_error(400, "missing_field");
}
