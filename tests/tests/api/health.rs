//! Health probes and documentation endpoints.

use harness::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_with_redis() {
    let app = spawn_app().await;
    let health = app
        .request(reqwest::Method::GET, "/healthz", None, None)
        .await;
    health.expect_status(200);
    assert_eq!(health.body["status"], "ok");
    let ready = app
        .request(reqwest::Method::GET, "/readyz", None, None)
        .await;
    ready.expect_status(200);
    assert_eq!(
        ready.body,
        serde_json::json!({"status": "ready", "store": "redis", "directory": "complete"})
    );
}

#[tokio::test]
async fn openapi_document_and_docs_ui_are_served_without_network() {
    let app = spawn_app().await;
    let doc = app
        .request(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    doc.expect_status(200);
    assert!(doc.body["paths"]["/v1/queues"]["post"].is_object());
    assert!(doc.body["components"]["schemas"]["ErrorBody"].is_object());

    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    // The vendored assets are served by the binary itself.
    let bundle = client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    app.request(reqwest::Method::GET, "/nowhere", None, None)
        .await
        .expect_error(404, "not_found");
    let put = app
        .request(
            reqwest::Method::PUT,
            "/v1/teams",
            Some(harness::ADMIN_TOKEN),
            None,
        )
        .await;
    put.expect_error(405, "method_not_allowed");
    assert_eq!(put.allow.as_deref(), Some("GET, POST"));
    let post = app
        .request(
            reqwest::Method::POST,
            "/v1/teams/some-id",
            Some(harness::ADMIN_TOKEN),
            None,
        )
        .await;
    post.expect_error(405, "method_not_allowed");
    assert_eq!(post.allow.as_deref(), Some("GET, PATCH, DELETE"));
}

#[tokio::test]
async fn metrics_are_served_for_prometheus_without_a_token() {
    let app = spawn_app().await;
    app.post(
        "/v1/teams",
        serde_json::json!({"id": "m", "name": "Metrics"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/queues",
        serde_json::json!({"id": "mq", "name": "Metrics queue", "team_id": "m"}),
    )
    .await
    .expect_status(201);
    // A queue no text ever reaches is on the page too, at zero.
    app.post(
        "/v1/queues",
        serde_json::json!({"id": "mq-idle", "name": "Idle queue", "team_id": "m"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/numbers",
        serde_json::json!({"phone": "+15550109090", "campaign": "C", "queue_id": "mq"}),
    )
    .await
    .expect_status(201);
    app.post(
        "/v1/inbound",
        serde_json::json!({"from": "+15550001234", "to": "+15550109090", "body": "hi"}),
    )
    .await
    .expect_status(200);
    // The queue takes the conversation just after the message is acknowledged: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let text = loop {
        let response = reqwest::get(format!("{}/metrics", app.address))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = response.text().await.unwrap();
        if text.contains("switchboard_queue_waiting{queue=\"mq\"} 1")
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        text.contains("switchboard_messages_total{direction=\"inbound\"}"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_queue_waiting{queue=\"mq\"}"),
        "{text}"
    );
    for expected in [
        r#"switchboard_offers_total{outcome="expired",queue="mq-idle"} 0"#,
        r#"switchboard_queue_waiting{queue="mq-idle"} 0"#,
        r#"switchboard_http_requests_total{method="POST",route="/v1/inbound",status="2xx"}"#,
        r#"switchboard_http_request_duration_seconds_bucket{method="POST",route="/v1/inbound""#,
        r#"switchboard_alerts_active{kind="unclaimed"}"#,
        r#"switchboard_alerts_active{kind="awaiting_reply"}"#,
        "switchboard_conversation_actors ",
        r#"switchboard_store_call_seconds_count{operation="conversation_commit"}"#,
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains("+1555"), "no phone numbers in metrics");
}
