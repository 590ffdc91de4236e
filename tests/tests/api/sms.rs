//! SMS text rules over HTTP: segment counts before sending, and on every stored message.

use reqwest::Method;
use serde_json::json;

use super::conversations::{ann_takes_one, call, floor, owned_by};

#[tokio::test]
async fn segments_are_counted_before_sending_and_kept_on_messages() {
    let (app, ann, ..) = floor().await;
    let cost = call(
        &app,
        &ann,
        Method::POST,
        "/v1/sms/segments",
        Some(json!({"body": "Your order ships today! 😀"})),
    )
    .await;
    cost.expect_status(200);
    assert_eq!(
        cost.body,
        json!({"encoding": "ucs2", "characters": 25, "units": 26, "segments": 1,
               "units_per_segment": 70, "non_gsm_characters": ["😀"]})
    );
    let long = call(
        &app,
        &ann,
        Method::POST,
        "/v1/sms/segments",
        Some(json!({"body": "€".repeat(81)})),
    )
    .await;
    assert_eq!(
        (
            long.body["encoding"].as_str(),
            long.body["units"].as_u64(),
            long.body["segments"].as_u64()
        ),
        (Some("gsm7"), Some(162), Some(2))
    );
    call(
        &app,
        &ann,
        Method::POST,
        "/v1/sms/segments",
        Some(json!({"text": "x"})),
    )
    .await
    .expect_error(400, "unknown_field");
    app.request(
        Method::POST,
        "/v1/sms/segments",
        None,
        Some(&json!({"body": "x"})),
    )
    .await
    .expect_error(401, "unauthorized");

    app.post(
        "/v1/inbound",
        json!({"from": "+15550001111", "to": "+15550102000", "body": "Olá! Where is it?"}),
    )
    .await
    .expect_status(200);
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let sent = call(
        &app,
        &ann,
        Method::POST,
        &format!("/v1/conversations/{conversation}/messages"),
        Some(json!({"body": "a".repeat(161)})),
    )
    .await;
    assert_eq!(
        (
            sent.body["encoding"].as_str(),
            sent.body["segments"].as_u64()
        ),
        (Some("gsm7"), Some(2))
    );
    let thread = call(
        &app,
        &ann,
        Method::GET,
        &format!("/v1/conversations/{conversation}/messages"),
        None,
    )
    .await;
    let first = &thread.body["items"][0];
    assert_eq!(
        (first["encoding"].as_str(), first["segments"].as_u64()),
        (Some("ucs2"), Some(1))
    );
}
