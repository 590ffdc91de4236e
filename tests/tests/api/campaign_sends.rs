//! Bulk sends through HTTP against Redis: JSON and CSV uploads, rows refused up front and
//! reported (never sent), progress and per-row outcomes, the texts in the customers'
//! conversations, a reply queued in the campaign's queue, pause/resume/cancel and what a
//! finished send refuses, and who may do what. The timing (rate, quiet hours, pauses, STOP during a
//! send) runs on paused time in `engine/tests/campaign_sends.rs`; a send cut by kill -9 in
//! `tests/tests/faults.rs`.

use std::time::{Duration, Instant};

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::call;

/// Two teams, Sue supervising support, Ann an agent; the Spring campaign (the support
/// number's label) texting around the clock at 50 a second. Returns the app, the campaign
/// id and the tokens of Sue and Ann.
async fn sending_floor() -> (TestApp, String, String, String) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("sue", "support", "supervisor"),
            ("ann", "support", "agent"),
        ])
        .await;
    let campaigns = app.get("/v1/campaigns").await.body;
    let spring = campaigns["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Spring")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/campaigns/{spring}"),
        json!({"quiet_hours": {"start": "00:00", "end": "23:59"}, "sends_per_second": 50}),
    )
    .await
    .expect_status(200);
    let [sue, ann] = <[String; 2]>::try_from(tokens).unwrap();
    (app, spring, sue, ann)
}

async fn wait_done(app: &TestApp, token: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let send = call(app, token, Method::GET, path, None).await;
        send.expect_status(200);
        if send.body["state"] == "done" {
            return send.body;
        }
        assert!(Instant::now() < deadline, "never done: {}", send.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_json_send_reports_refused_rows_and_texts_the_rest_once() {
    let (app, spring, sue, ann) = sending_floor().await;
    let path = format!("/v1/campaigns/{spring}/sends");
    // An agent may not send; a supervisor of the campaign's team may.
    let body = json!({"body": "Hi {{first_name}}, your {{campaign}} renewal is due.",
        "recipients": [
            {"to": "+15550001111", "fields": {"first_name": "Ann"}},
            {"to": "+15550002222", "fields": {"first_name": "Bob"}},
            {"to": "+1 555 000 2222", "fields": {"first_name": "Bob"}},
            {"to": "555-CALL", "fields": {"first_name": "Cy"}},
            {"to": "+15550003333"}]});
    call(&app, &ann, Method::POST, &path, Some(body.clone()))
        .await
        .expect_error(403, "forbidden");
    let made = call(&app, &sue, Method::POST, &path, Some(body)).await;
    made.expect_status(201);
    assert_eq!(made.body["send"]["total"], 5);
    assert_eq!(made.body["send"]["accepted"], 2);
    let reasons: Vec<(u64, &str)> = made.body["refused_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (3, "duplicate"),
            (4, "invalid_phone_number"),
            (5, "missing_field")
        ]
    );
    let send = made.body["send"]["id"].as_str().unwrap().to_owned();
    let done = wait_done(&app, &sue, &format!("{path}/{send}")).await;
    assert_eq!(
        (done["sent"].as_u64(), done["pending"].as_u64()),
        (Some(2), Some(0))
    );

    let rows = call(
        &app,
        &sue,
        Method::GET,
        &format!("{path}/{send}/recipients?limit=10"),
        None,
    )
    .await;
    rows.expect_status(200);
    let statuses: Vec<&str> = rows.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["sent", "sent", "refused", "refused", "refused"]
    );
    // The text is in the customer's conversation, once, with the campaign's footer.
    let conversation = rows.body["items"][0]["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let thread = app
        .get(&format!("/v1/conversations/{conversation}/messages"))
        .await;
    let texts = thread.body["items"].as_array().unwrap();
    assert_eq!(texts.len(), 1, "{}", thread.body);
    assert!(
        texts[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Ann, your Spring renewal is due."),
        "{}",
        texts[0]
    );
    let opened = app
        .get(&format!("/v1/conversations/{conversation}"))
        .await
        .body;
    assert_eq!(
        (opened["status"].as_str(), opened["owner"].as_str()),
        (Some("queued"), None)
    );
    assert_eq!(opened["waiting_since"], Value::Null);

    // The customer answers: the conversation waits in the campaign's queue now.
    app.post(
        "/v1/inbound",
        json!({"from": "+15550001111", "to": "+15550102000", "body": "Yes please"}),
    )
    .await
    .expect_status(200);
    let waiting = app
        .get(&format!("/v1/conversations/{conversation}"))
        .await
        .body;
    assert_ne!(waiting["waiting_since"], Value::Null);
    assert_eq!(waiting["queue_id"], "inbound");

    // A finished send cannot be paused; the list shows it.
    call(
        &app,
        &sue,
        Method::POST,
        &format!("{path}/{send}/pause"),
        None,
    )
    .await
    .expect_error(409, "send_finished");
    let list = call(&app, &sue, Method::GET, &path, None).await;
    assert_eq!(list.body["items"][0]["id"], send.as_str());
}

#[tokio::test]
async fn a_csv_send_can_be_paused_resumed_and_cancelled() {
    let (app, spring, sue, _ann) = sending_floor().await;
    app.patch(
        &format!("/v1/campaigns/{spring}"),
        json!({"sends_per_second": 2}),
    )
    .await
    .expect_status(200);
    let mut csv = String::from("to,first_name\n");
    for i in 0..20 {
        csv.push_str(&format!("+1555000{i:04},Pat\n"));
    }
    let path = format!("/v1/campaigns/{spring}/sends");
    let made = app
        .request_raw(
            Method::POST,
            &format!("{path}?body=Hi%20%7B%7Bfirst_name%7D%7D"),
            Some(&sue),
            "text/csv",
            csv.into_bytes(),
            &[],
        )
        .await;
    made.expect_status(201);
    assert_eq!(made.body["send"]["accepted"], 20);
    let send = made.body["send"]["id"].as_str().unwrap().to_owned();
    let paused = call(
        &app,
        &sue,
        Method::POST,
        &format!("{path}/{send}/pause"),
        None,
    )
    .await;
    paused.expect_status(200);
    assert_eq!(paused.body["state"], "paused");
    // That nothing goes out while paused is timed on paused time, in
    // `engine/tests/campaign_sends.rs`; here the states and counts as a client reads them.
    let resumed = call(
        &app,
        &sue,
        Method::POST,
        &format!("{path}/{send}/resume"),
        None,
    )
    .await;
    assert_eq!(resumed.body["state"], "running");
    let cancelled = call(
        &app,
        &sue,
        Method::POST,
        &format!("{path}/{send}/cancel"),
        None,
    )
    .await;
    cancelled.expect_status(200);
    assert_eq!(cancelled.body["state"], "cancelled");
    assert_eq!(cancelled.body["pending"], 0);
    assert!(
        cancelled.body["cancelled"].as_u64().unwrap() >= 15,
        "{}",
        cancelled.body
    );
    // Malformed CSV and bad requests are refused, making nothing.
    let bad = app
        .request_raw(
            Method::POST,
            &format!("{path}?body=x"),
            Some(&sue),
            "text/csv",
            b"name\nAnn\n".to_vec(),
            &[],
        )
        .await;
    bad.expect_error(400, "malformed_csv");
    call(
        &app,
        &sue,
        Method::POST,
        &path,
        Some(json!({"recipients": [{"to": "+15550001111"}]})),
    )
    .await
    .expect_error(400, "invalid_value");
    call(
        &app,
        &sue,
        Method::POST,
        &path,
        Some(json!({"body": "x", "recipients": []})),
    )
    .await
    .expect_error(400, "invalid_value");
    let list = call(&app, &sue, Method::GET, &path, None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_large_upload_with_an_idempotency_key_makes_one_send() {
    let (app, spring, sue, _ann) = sending_floor().await;
    // 5,000 rows: well past the 64 KiB other bodies may have.
    let mut csv = String::from("to,first_name,plan\n");
    for i in 0..5_000 {
        csv.push_str(&format!(
            "+1555200{i:04},Customer number {i},Premium annual plan\n"
        ));
    }
    assert!(csv.len() > 128 * 1024);
    let path = format!("/v1/campaigns/{spring}/sends?body=Hi%20%7B%7Bfirst_name%7D%7D");
    let upload = || {
        app.request_raw(
            Method::POST,
            &path,
            Some(&sue),
            "text/csv",
            csv.clone().into_bytes(),
            &[("Idempotency-Key", "spring-upload-1")],
        )
    };
    let first = upload().await;
    first.expect_status(201);
    assert_eq!(first.body["send"]["accepted"], 5_000);
    // The retry gets the first answer: the same send, not a second one.
    let again = upload().await;
    again.expect_status(201);
    assert_eq!(again.body["send"]["id"], first.body["send"]["id"]);
    let list = call(
        &app,
        &sue,
        Method::GET,
        &format!("/v1/campaigns/{spring}/sends"),
        None,
    )
    .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let id = first.body["send"]["id"].as_str().unwrap();
    call(
        &app,
        &sue,
        Method::POST,
        &format!("/v1/campaigns/{spring}/sends/{id}/cancel"),
        None,
    )
    .await
    .expect_status(200);
}
