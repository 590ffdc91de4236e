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
        serde_json::json!({"status": "ready", "store": "redis"})
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
