//! The contact-center figures on `/metrics`, from a conversation driven through the API:
//! opened, answered, responded to, disposed, completed. The queue is this test's own, so its
//! series count only this conversation (the registry is shared by every app of the process).

use std::time::{Duration, Instant};

use harness::spawn_app;
use reqwest::Method;
use serde_json::json;

use super::conversations::{call, takes_one};

/// The value of the sample named exactly `series` on the page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn a_handled_conversation_counts_for_every_figure_of_its_queue() {
    let app = spawn_app().await;
    app.post("/v1/teams", json!({"id": "kpi", "name": "KPI"}))
        .await
        .expect_status(201);
    app.post(
        "/v1/queues",
        json!({"id": "kpi-line", "name": "KPI line", "team_id": "kpi"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/numbers",
        json!({"phone": "+15550109191", "campaign": "KPI", "queue_id": "kpi-line"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/dispositions",
        json!({"code": "kpi-sale", "label": "Sale"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/agents",
        json!({"id": "kim", "name": "Kim", "team_ids": ["kpi"], "role": "agent"}),
    )
    .await
    .expect_status(201);
    let kim = app.issue_token("kim").await;
    app.post(
        "/v1/inbound",
        json!({"from": "+15550007777", "to": "+15550109191", "body": "Hello?"}),
    )
    .await
    .expect_status(200);
    let conversation = takes_one(&app, &kim, "kim", "kpi-line").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = call(
            &app,
            &kim,
            Method::POST,
            &format!("/v1/conversations/{conversation}/messages"),
            Some(json!({"body": "Hi, how can I help?"})),
        )
        .await;
        // The acceptance reaches the conversation just after the offer's answer.
        if reply.status == 201 {
            break;
        }
        assert!(Instant::now() < deadline, "reply refused: {:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.dispose_and_complete(&kim, &conversation, "kpi-sale")
        .await;

    let page = app.metrics_page().await;
    let q = r#"queue="kpi-line""#;
    for (series, expected) in [
        (
            format!("switchboard_conversations_opened_total{{{q}}}"),
            1.0,
        ),
        (
            format!("switchboard_conversations_closed_total{{{q}}}"),
            1.0,
        ),
        (
            format!("switchboard_conversations_abandoned_total{{{q}}}"),
            0.0,
        ),
        (
            format!("switchboard_speed_of_answer_seconds_count{{{q}}}"),
            1.0,
        ),
        (
            format!("switchboard_first_response_seconds_count{{{q}}}"),
            1.0,
        ),
        (format!("switchboard_response_seconds_count{{{q}}}"), 1.0),
        (format!("switchboard_handle_seconds_count{{{q}}}"), 1.0),
        (
            format!(r#"switchboard_dispositions_total{{code="kpi-sale",{q}}}"#),
            1.0,
        ),
        // Kim's own figures, for the agents board.
        (
            r#"switchboard_agent_handled_total{agent="kim"}"#.to_owned(),
            1.0,
        ),
        (
            r#"switchboard_agent_responses_total{agent="kim"}"#.to_owned(),
            1.0,
        ),
        (
            r#"switchboard_agent_missed_offers_total{agent="kim"}"#.to_owned(),
            0.0,
        ),
        // The queue's team, for the dashboards' team variable.
        (format!(r#"switchboard_queue_info{{{q},team="kpi"}}"#), 1.0),
    ] {
        assert_eq!(
            sample(&page, &series),
            Some(expected),
            "{series} in:\n{page}"
        );
    }
    // Answered within the first bucket that holds a few seconds of test time at most.
    let within_a_minute = format!(r#"switchboard_speed_of_answer_seconds_bucket{{{q},le="60"}}"#);
    assert_eq!(sample(&page, &within_a_minute), Some(1.0), "{page}");
}

/// An agent away for lunch counts under its team's `lunch`; a reason its teams do not have,
/// or a reason with another presence, is refused and changes nothing; available again, its
/// load and capacity count for the team's occupancy.
#[tokio::test]
async fn away_reasons_are_checked_and_counted_per_team() {
    let app = spawn_app().await;
    app.post(
        "/v1/teams",
        json!({"id": "floor-r", "name": "Floor R", "away_reasons": ["lunch", "coaching"]}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/agents",
        json!({"id": "rae", "name": "Rae", "team_ids": ["floor-r"], "capacity": 3}),
    )
    .await
    .expect_status(201);
    let rae = app.issue_token("rae").await;
    let page = || async {
        reqwest::get(format!("{}/metrics", app.address))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let t = r#"team="floor-r""#;
    let before = page().await;
    assert_eq!(
        sample(
            &before,
            &format!(r#"switchboard_agents_away{{reason="coaching",{t}}}"#)
        ),
        Some(0.0),
        "a new team's reasons are on the page at zero:\n{before}"
    );

    let set = |body: serde_json::Value| {
        call(
            &app,
            &rae,
            Method::PUT,
            "/v1/agents/rae/presence",
            Some(body),
        )
    };
    let refused = set(json!({"presence": "away", "reason": "break"})).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "invalid_value");
    let refused = set(json!({"presence": "available", "reason": "lunch"})).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "field_not_applicable");

    let away = set(json!({"presence": "away", "reason": "lunch"})).await;
    assert_eq!(away.status, 200, "{:?}", away.body);
    assert_eq!(away.body["away_reason"], "lunch");
    let during = page().await;
    for (series, expected) in [
        (
            format!(r#"switchboard_agents_away{{reason="lunch",{t}}}"#),
            1.0,
        ),
        (format!(r#"switchboard_agents{{presence="away",{t}}}"#), 1.0),
        (
            format!(r#"switchboard_agents{{presence="offline",{t}}}"#),
            0.0,
        ),
        (format!("switchboard_team_capacity{{{t}}}"), 3.0),
        (format!("switchboard_team_load{{{t}}}"), 0.0),
    ] {
        assert_eq!(
            sample(&during, &series),
            Some(expected),
            "{series} in:\n{during}"
        );
    }

    let back = set(json!({"presence": "available"})).await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert!(back.body.get("away_reason").is_none(), "{:?}", back.body);
    let after = page().await;
    for (series, expected) in [
        (
            format!(r#"switchboard_agents_away{{reason="lunch",{t}}}"#),
            0.0,
        ),
        (
            format!(r#"switchboard_agents{{presence="available",{t}}}"#),
            1.0,
        ),
        (format!(r#"switchboard_agents{{presence="away",{t}}}"#), 0.0),
    ] {
        assert_eq!(
            sample(&after, &series),
            Some(expected),
            "{series} in:\n{after}"
        );
    }
}
