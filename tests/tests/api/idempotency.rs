//! `Idempotency-Key`: a retried POST gets the first answer and changes nothing more.

use harness::{ADMIN_TOKEN, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{ann_takes_one, call, floor, owned_by, text};

async fn post_with_key(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value, bool) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body, replayed)
}

async fn thread_len(app: &TestApp, token: &str, conversation: &str) -> usize {
    call(
        app,
        token,
        Method::GET,
        &format!("/v1/conversations/{conversation}/messages"),
        None,
    )
    .await
    .body["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_retried_reply_is_sent_once_and_answered_the_same() {
    let (app, ann, bob, _) = floor().await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let before = thread_len(&app, &ann, &conversation).await;

    let body = json!({"body": "On my way"});
    let (status, first, replayed) = post_with_key(&app, &ann, &path, "click-1", &body).await;
    assert_eq!((status, replayed), (201, false));
    let (status, again, replayed) = post_with_key(&app, &ann, &path, "click-1", &body).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first, "the first answer, message id and all");
    assert_eq!(thread_len(&app, &ann, &conversation).await, before + 1);

    // The same key with another body is a mistake, not a retry.
    let (status, error, _) =
        post_with_key(&app, &ann, &path, "click-1", &json!({"body": "Other"})).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Keys are per caller: Bob's "click-1" is his own. He may not reply: a refusal, which
    // binds nothing, so the same refusal comes again (not replayed).
    let (status, _, replayed) = post_with_key(&app, &bob, &path, "click-1", &body).await;
    assert_eq!((status, replayed), (403, false));
    let (status, _, replayed) = post_with_key(&app, &bob, &path, "click-1", &body).await;
    assert_eq!((status, replayed), (403, false));
    assert_eq!(thread_len(&app, &ann, &conversation).await, before + 1);
}

#[tokio::test]
async fn a_refused_request_does_not_bind_its_key() {
    let (app, ann, _, _) = floor().await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let path = format!("/v1/conversations/{conversation}/dispositions");
    // A typo'd code is refused (it names nothing); the corrected retry with the same key runs.
    let (status, error, _) =
        post_with_key(&app, &ann, &path, "dispose-1", &json!({"code": "resolvd"})).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let (status, _, replayed) =
        post_with_key(&app, &ann, &path, "dispose-1", &json!({"code": "resolved"})).await;
    assert_eq!((status, replayed), (200, false));
    // Now the key is bound: the same request replays, another is a reuse.
    let (status, _, replayed) =
        post_with_key(&app, &ann, &path, "dispose-1", &json!({"code": "resolved"})).await;
    assert_eq!((status, replayed), (200, true));
    let (status, error, _) =
        post_with_key(&app, &ann, &path, "dispose-1", &json!({"code": "other"})).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Invalid input (400) and a state refusal (409) bind nothing either.
    let snooze = format!("/v1/conversations/{conversation}/snooze");
    let (status, _, _) = post_with_key(&app, &ann, &snooze, "s-1", &json!({"until": "soon"})).await;
    assert_eq!(status, 400);
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let (status, _, _) = post_with_key(&app, &ann, &snooze, "s-1", &json!({"until": past})).await;
    assert_eq!(status, 422);
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (status, _, replayed) =
        post_with_key(&app, &ann, &snooze, "s-1", &json!({"until": later})).await;
    assert_eq!((status, replayed), (200, false));
}

#[tokio::test]
async fn a_burst_of_double_clicks_accepts_once() {
    let (app, ann, _, _) = floor().await;
    let mut ws = app.ws(&ann).await;
    text(&app, "+15550001111").await;
    call(
        &app,
        &ann,
        Method::PUT,
        "/v1/agents/ann/queues",
        Some(json!({"queue_ids": ["inbound"]})),
    )
    .await
    .expect_status(200);
    call(
        &app,
        &ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "available"})),
    )
    .await
    .expect_status(200);
    let offer = ws.next_of("offer.created").await;
    let offer_id = offer["data"]["offer_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/offers/{offer_id}/accept");
    let clicks = (0..6).map(|_| post_with_key(&app, &ann, &path, "accept-1", &Value::Null));
    let answers = futures_util::future::join_all(clicks).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 409),
        "{statuses:?}"
    );
    let fresh = answers
        .iter()
        .filter(|(s, _, replayed)| *s == 204 && !replayed)
        .count();
    assert_eq!(fresh, 1, "one click did it: {answers:?}");
    for (status, body, _) in &answers {
        if *status == 409 {
            assert_eq!(body["code"], "idempotency_in_progress");
        }
    }
    let assigned = ws.next_of("conversation.assigned").await;
    assert_eq!(assigned["data"]["agent_id"], "ann");
    let state = call(&app, &ann, Method::GET, "/v1/agents/ann/presence", None).await;
    assert_eq!(
        state.body["owned_conversation_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_retried_inbound_text_is_stored_once() {
    let (app, ann, _, _) = floor().await;
    let body = json!({"from": "+15550001111", "to": "+15550102000", "body": "Hello"});
    let (status, first, _) = post_with_key(&app, ADMIN_TOKEN, "/v1/inbound", "sm-1", &body).await;
    assert_eq!(status, 200);
    let (_, again, replayed) = post_with_key(&app, ADMIN_TOKEN, "/v1/inbound", "sm-1", &body).await;
    assert!(replayed);
    assert_eq!(again, first);
    let conversation = first["conversation_id"].as_str().unwrap();
    assert_eq!(thread_len(&app, &ann, conversation).await, 1);
    // A malformed key is refused and changes nothing.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/inbound", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .header("Idempotency-Key", "")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(thread_len(&app, &ann, conversation).await, 1);
}
