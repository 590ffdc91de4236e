//! Authentication and roles: every configuration route needs the admin token; agent and
//! supervisor tokens are refused with 403, missing or unknown ones with 401, and a refused
//! request changes nothing.

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Every admin route, with real ids so a refusal cannot be a 404 in disguise, and a body
/// that would succeed for the admin.
async fn admin_routes(app: &TestApp) -> Vec<(Method, String, Option<Value>)> {
    let team = app.create_team("Routes").await;
    let queue = app.create_queue("Routes queue", &team).await;
    let agent = app.create_agent("Routes agent", &[&team]).await;
    let number = app
        .post(
            "/v1/numbers",
            json!({"phone": "+15550109999", "campaign": "C", "queue_id": queue}),
        )
        .await;
    let disposition = app
        .post("/v1/dispositions", json!({"code": "done", "label": "Done"}))
        .await;
    let template = app
        .post("/v1/templates", json!({"name": "T", "body": "Hi"}))
        .await;
    let token = app
        .post(
            &format!("/v1/agents/{agent}/tokens"),
            json!({"label": "spare"}),
        )
        .await;
    let ids = [
        (
            "teams",
            team.clone(),
            json!({"name": "Other team"}),
            json!({"name": "Renamed"}),
        ),
        (
            "queues",
            queue,
            json!({"name": "Other queue", "team_id": team}),
            json!({"priority": 3}),
        ),
        (
            "agents",
            agent.clone(),
            json!({"name": "Other agent"}),
            json!({"capacity": 4}),
        ),
        (
            "numbers",
            number.body["id"].as_str().unwrap().to_owned(),
            json!({"phone": "+15550108888", "campaign": "C", "queue_id": "x"}),
            json!({"campaign": "D"}),
        ),
        (
            "dispositions",
            disposition.body["id"].as_str().unwrap().to_owned(),
            json!({"code": "other", "label": "Other"}),
            json!({"label": "Finished"}),
        ),
        (
            "templates",
            template.body["id"].as_str().unwrap().to_owned(),
            json!({"name": "U", "body": "Yo"}),
            json!({"body": "Hello"}),
        ),
    ];
    let mut routes = Vec::new();
    for (collection, id, create, patch) in ids {
        routes.push((Method::POST, format!("/v1/{collection}"), Some(create)));
        routes.push((Method::GET, format!("/v1/{collection}"), None));
        routes.push((Method::GET, format!("/v1/{collection}/{id}"), None));
        routes.push((Method::PATCH, format!("/v1/{collection}/{id}"), Some(patch)));
        routes.push((Method::DELETE, format!("/v1/{collection}/{id}"), None));
    }
    routes.push((
        Method::POST,
        format!("/v1/agents/{agent}/tokens"),
        Some(json!({})),
    ));
    routes.push((Method::GET, format!("/v1/agents/{agent}/tokens"), None));
    routes.push((
        Method::DELETE,
        format!(
            "/v1/agents/{agent}/tokens/{}",
            token.body["id"].as_str().unwrap()
        ),
        None,
    ));
    routes
}

#[tokio::test]
async fn every_admin_route_needs_a_token() {
    let app = spawn_app().await;
    let routes = admin_routes(&app).await;
    let before = app.snapshot().await;
    for (method, path, body) in &routes {
        let answer = app.request(method.clone(), path, None, body.as_ref()).await;
        answer.expect_error(401, "unauthorized");
        let answer = app
            .request(
                method.clone(),
                path,
                Some("sbt_not-a-real-token"),
                body.as_ref(),
            )
            .await;
        answer.expect_error(401, "unauthorized");
        let answer = app
            .request(method.clone(), path, Some("Basic-looking"), body.as_ref())
            .await;
        answer.expect_error(401, "unauthorized");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn agent_and_supervisor_tokens_are_forbidden_on_admin_routes() {
    let app = spawn_app().await;
    let team = app.create_team("Floor").await;
    let agent = app.create_agent("Agent Ann", &[&team]).await;
    let supervisor = app
        .post(
            "/v1/agents",
            json!({"name": "Sup Sue", "role": "supervisor", "team_ids": [team]}),
        )
        .await;
    let agent_token = app.issue_token(&agent).await;
    let supervisor_token = app
        .issue_token(supervisor.body["id"].as_str().unwrap())
        .await;
    let routes = admin_routes(&app).await;
    let before = app.snapshot().await;
    for token in [&agent_token, &supervisor_token] {
        for (method, path, body) in &routes {
            let answer = app
                .request(method.clone(), path, Some(token), body.as_ref())
                .await;
            let agent_view = *method == Method::GET
                && path.starts_with("/v1/agents/")
                && !path.ends_with("/tokens");
            let floor = *method == Method::GET && path == "/v1/agents";
            if floor && token == &supervisor_token {
                // A supervisor lists its own teams' agents (and only theirs).
                answer.expect_status(200);
                for agent in answer.body["items"].as_array().unwrap() {
                    assert_eq!(agent["team_ids"], json!([team]), "{agent}");
                }
            } else if agent_view {
                // The agent view is theirs to read for their own teams; this agent is in
                // another team, so it does not exist for them.
                answer.expect_error(404, "not_found");
            } else {
                answer.expect_error(403, "forbidden");
            }
        }
    }
    // Bad input from a forbidden caller is still a 403: the body is never looked at.
    app.request(
        Method::POST,
        "/v1/teams",
        Some(&agent_token),
        Some(&json!({"bogus": 1})),
    )
    .await
    .expect_error(403, "forbidden");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn bad_input_from_a_stranger_is_401_not_400() {
    let app = spawn_app().await;
    app.request(Method::POST, "/v1/teams", None, Some(&json!({"bogus": 1})))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = spawn_app().await;
    let team = app.create_team("Floor").await;
    let agent = app.create_agent("Agent Ann", &[&team]).await;
    let issued = app
        .post(
            &format!("/v1/agents/{agent}/tokens"),
            json!({"label": "laptop"}),
        )
        .await;
    issued.expect_status(201);
    let secret = issued.body["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sbt_") && secret.len() > 40);
    assert_eq!(issued.body["role"], "agent");
    assert_eq!(issued.body["label"], "laptop");

    let listed = app.get(&format!("/v1/agents/{agent}/tokens")).await;
    listed.expect_status(200);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(
        !listed.body.to_string().contains(&secret),
        "the secret is never shown again"
    );
    assert!(items[0].get("token").is_none());

    // The token works (403 rather than 401 on an admin route) until it is revoked.
    app.request(Method::GET, "/v1/teams", Some(&secret), None)
        .await
        .expect_error(403, "forbidden");
    let token_id = issued.body["id"].as_str().unwrap();
    app.delete(&format!("/v1/agents/{agent}/tokens/{token_id}"))
        .await
        .expect_status(204);
    app.request(Method::GET, "/v1/teams", Some(&secret), None)
        .await
        .expect_error(401, "unauthorized");
    assert!(
        app.get(&format!("/v1/agents/{agent}/tokens")).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn token_requests_for_unknown_agents_are_404() {
    let app = spawn_app().await;
    app.post("/v1/agents/nobody/tokens", json!({}))
        .await
        .expect_error(404, "not_found");
    app.get("/v1/agents/nobody/tokens")
        .await
        .expect_error(404, "not_found");
    app.delete("/v1/agents/nobody/tokens/tok_1")
        .await
        .expect_error(404, "not_found");
    let team = app.create_team("Floor").await;
    let a = app.create_agent("A", &[&team]).await;
    let b = app.create_agent("B", &[&team]).await;
    let issued = app.post(&format!("/v1/agents/{a}/tokens"), json!({})).await;
    // Another agent's token id is as unknown as a missing one.
    app.delete(&format!(
        "/v1/agents/{b}/tokens/{}",
        issued.body["id"].as_str().unwrap()
    ))
    .await
    .expect_error(404, "not_found");
}

/// Guessing is slow and visible: past the per-minute limit of failed authentications, the
/// client gets 429 with `Retry-After` — even with a valid token — and so does the guessed
/// token's prefix from any client; other clients are unaffected.
#[tokio::test]
async fn failed_authentications_past_the_limit_are_refused_with_429() {
    let mut settings = harness::test_settings(
        &harness::shared_redis_url(),
        &harness::unique_prefix("guess"),
    );
    settings.auth_failures_per_minute = 5;
    let app = harness::spawn_app_with(settings).await;
    for i in 0..5 {
        app.request(
            Method::GET,
            "/v1/teams",
            Some(&format!("sbt_guess_{i:04}")),
            None,
        )
        .await
        .expect_error(401, "unauthorized");
    }
    let refused = reqwest::Client::new()
        .get(format!("{}/v1/teams", app.address))
        .bearer_auth(harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts");
    // Counted on /metrics.
    let page = app.metrics_page().await;
    assert!(
        page.lines()
            .any(|l| l.starts_with(r#"switchboard_auth_failures_total{kind="token"}"#)),
        "{page}"
    );
}
