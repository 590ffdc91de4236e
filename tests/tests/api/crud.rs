//! Create, list, get, update and delete of every configuration resource, through HTTP.

use harness::{TestApp, spawn_app};
use serde_json::{Value, json};

/// Creates, reads, lists, patches and deletes one resource, checking each answer.
pub(crate) async fn lifecycle(
    app: &TestApp,
    collection: &str,
    create: Value,
    patch: Value,
    changed: (&str, Value),
) {
    let created = app.post(&format!("/v1/{collection}"), create.clone()).await;
    created.expect_status(201);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.location.as_deref(),
        Some(format!("/v1/{collection}/{id}").as_str())
    );
    assert_eq!(created.body["revision"], 1);
    assert!(created.body["created_at"].is_string() && created.body["updated_at"].is_string());
    for (field, value) in create.as_object().unwrap() {
        if field != "id" && !value.is_object() {
            assert_eq!(&created.body[field], value, "{collection}.{field}");
        }
    }

    let got = app.get(&format!("/v1/{collection}/{id}")).await;
    got.expect_status(200);
    let mut config = got.body.clone();
    if collection == "agents" {
        // An agent's view adds its routing state to the configuration.
        let state = config
            .as_object_mut()
            .unwrap()
            .remove("state")
            .expect("state");
        assert_eq!(state["presence"], "offline");
        assert_eq!(state["load"], 0);
    }
    assert_eq!(config, created.body);

    let listed = app.get(&format!("/v1/{collection}")).await;
    listed.expect_status(200);
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .contains(&created.body),
        "{collection} listed"
    );
    assert_eq!(listed.body["next_cursor"], Value::Null);

    let patched = app.patch(&format!("/v1/{collection}/{id}"), patch).await;
    patched.expect_status(200);
    assert_eq!(patched.body[changed.0], changed.1, "{collection} patched");
    assert_eq!(patched.body["revision"], 2);
    assert_eq!(patched.body["created_at"], created.body["created_at"]);
    let mut again = app.get(&format!("/v1/{collection}/{id}")).await.body;
    if let Some(fields) = again.as_object_mut() {
        fields.remove("state");
    }
    assert_eq!(again, patched.body);

    app.delete(&format!("/v1/{collection}/{id}"))
        .await
        .expect_status(204);
    app.get(&format!("/v1/{collection}/{id}"))
        .await
        .expect_error(404, "not_found");
    app.delete(&format!("/v1/{collection}/{id}"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn team_lifecycle() {
    let app = spawn_app().await;
    lifecycle(
        &app,
        "teams",
        json!({"name": "Billing"}),
        json!({"name": "Billing East"}),
        ("name", json!("Billing East")),
    )
    .await;
}

#[tokio::test]
async fn queue_lifecycle_with_defaults_and_nested_patch() {
    let app = spawn_app().await;
    let team = app.create_team("Support").await;
    let created = app
        .post("/v1/queues", json!({"name": "Defaults", "team_id": team}))
        .await;
    created.expect_status(201);
    assert_eq!(created.body["strategy"], "longest_idle");
    assert_eq!(created.body["offer_timeout_secs"], 30);
    assert_eq!(created.body["public_minutes"], 20);
    assert_eq!(
        created.body["alerts"],
        json!({"unclaimed_secs": 300, "awaiting_reply_secs": 300})
    );
    assert_eq!(created.body["disposition_required"], true);
    assert_eq!(created.body["priority"], 0);

    let patched = app
        .patch(
            &format!("/v1/queues/{}", created.body["id"].as_str().unwrap()),
            json!({"alerts": {"unclaimed_secs": 60}}),
        )
        .await;
    patched.expect_status(200);
    assert_eq!(
        patched.body["alerts"],
        json!({"unclaimed_secs": 60, "awaiting_reply_secs": 300})
    );

    lifecycle(
        &app,
        "queues",
        json!({"name": "Billing SMS", "team_id": team, "strategy": "broadcast", "offer_timeout_secs": 45,
               "public_minutes": 0, "disposition_required": false, "priority": 7}),
        json!({"strategy": "round_robin"}),
        ("strategy", json!("round_robin")),
    )
    .await;
}

#[tokio::test]
async fn agent_lifecycle() {
    let app = spawn_app().await;
    let a = app.create_team("Sales").await;
    let b = app.create_team("Retention").await;
    lifecycle(
        &app,
        "agents",
        json!({"name": "Dana Reyes", "role": "supervisor", "team_ids": [a], "capacity": 5}),
        json!({"team_ids": [a, b]}),
        ("team_ids", json!([a, b])),
    )
    .await;
}

#[tokio::test]
async fn number_lifecycle_normalises_the_phone() {
    let app = spawn_app().await;
    let team = app.create_team("Support").await;
    let queue = app.create_queue("Inbound", &team).await;
    let created = app
        .post(
            "/v1/numbers",
            json!({"phone": "+1 (555) 010-2000", "campaign": "Spring sale", "queue_id": queue}),
        )
        .await;
    created.expect_status(201);
    assert_eq!(created.body["phone"], "+15550102000");
    assert_eq!(created.body["provider_account_id"], Value::Null);
    app.delete(&format!(
        "/v1/numbers/{}",
        created.body["id"].as_str().unwrap()
    ))
    .await
    .expect_status(204);

    // A provider account must exist to be named.
    app.post(
        "/v1/numbers",
        json!({"phone": "+15550102001", "campaign": "Renewals", "queue_id": queue, "provider_account_id": "twilio-main"}),
    )
    .await
    .expect_error(409, "reference_not_found");
    app.post(
        "/v1/provider_accounts",
        json!({"id": "twilio-main", "name": "Twilio main", "provider": "simulator"}),
    )
    .await
    .expect_status(201);
    lifecycle(
        &app,
        "numbers",
        json!({"phone": "+15550102001", "campaign": "Renewals", "queue_id": queue, "provider_account_id": "twilio-main"}),
        json!({"provider_account_id": null}),
        ("provider_account_id", Value::Null),
    )
    .await;
}

#[tokio::test]
async fn provider_account_lifecycle_never_shows_the_token() {
    let app = spawn_app().await;
    let secret = "s3cr3t-auth-token";
    let created = app
        .post(
            "/v1/provider_accounts",
            json!({"name": "Twilio main", "provider": "twilio",
                   "account_sid": "AC00000000000000000000000000000001", "auth_token": secret}),
        )
        .await;
    created.expect_status(201);
    assert_eq!(created.body["auth_token_set"], true);
    let id = created.body["id"].as_str().unwrap().to_owned();
    for answer in [
        created.body.clone(),
        app.get(&format!("/v1/provider_accounts/{id}")).await.body,
        app.get("/v1/provider_accounts").await.body,
        app.patch(
            &format!("/v1/provider_accounts/{id}"),
            json!({"auth_token": "rotated-token-1"}),
        )
        .await
        .body,
    ] {
        let text = answer.to_string();
        assert!(
            !text.contains(secret) && !text.contains("rotated-token-1"),
            "{text}"
        );
        assert!(!text.contains("\"auth_token\""), "{text}");
    }
    for (body, code) in [
        (json!({"name": "T", "provider": "twilio"}), "invalid_value"),
        (
            json!({"name": "T", "provider": "twilio", "account_sid": "AC1", "auth_token": "abcdefgh"}),
            "invalid_value",
        ),
        (
            json!({"name": "T", "provider": "carrier-pigeon"}),
            "invalid_value",
        ),
        (
            json!({"name": "T", "provider": "simulator", "base_url": "ftp://x"}),
            "invalid_value",
        ),
    ] {
        app.post("/v1/provider_accounts", body)
            .await
            .expect_error(400, code);
    }
    // Numbers that name it keep it alive.
    let team = app.create_team("Floor").await;
    let queue = app.create_queue("Inbound", &team).await;
    app.post(
        "/v1/numbers",
        json!({"phone": "+15550102009", "campaign": "C", "queue_id": queue, "provider_account_id": id}),
    )
    .await
    .expect_status(201);
    app.delete(&format!("/v1/provider_accounts/{id}"))
        .await
        .expect_error(409, "resource_in_use");
}

#[tokio::test]
async fn disposition_lifecycle() {
    let app = spawn_app().await;
    lifecycle(
        &app,
        "dispositions",
        json!({"id": "resolved", "code": "resolved", "label": "Resolved"}),
        json!({"active": false}),
        ("active", json!(false)),
    )
    .await;
}

#[tokio::test]
async fn template_lifecycle_with_scopes() {
    let app = spawn_app().await;
    let team = app.create_team("Support").await;
    let scoped = app
        .post("/v1/templates", json!({"name": "Greeting", "body": "Hi {{contact.name}}", "scope": {"type": "team", "team_id": team}}))
        .await;
    scoped.expect_status(201);
    assert_eq!(
        scoped.body["scope"],
        json!({"type": "team", "team_id": team})
    );
    // The same name in another scope is fine.
    app.post(
        "/v1/templates",
        json!({"name": "Greeting", "body": "Hello!"}),
    )
    .await
    .expect_status(201);

    lifecycle(
        &app,
        "templates",
        json!({"name": "Closing", "body": "Thanks, {{agent.name}} from {{campaign}}."}),
        json!({"scope": {"type": "campaign", "campaign": "Spring sale"}}),
        (
            "scope",
            json!({"type": "campaign", "campaign": "Spring sale"}),
        ),
    )
    .await;
}

#[tokio::test]
async fn client_chosen_ids_are_kept() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/teams",
            json!({"id": "billing-east", "name": "Billing East"}),
        )
        .await;
    created.expect_status(201);
    assert_eq!(created.body["id"], "billing-east");
    app.get("/v1/teams/billing-east").await.expect_status(200);
}

#[tokio::test]
async fn lists_page_with_cursors() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.post(
            "/v1/teams",
            json!({"id": format!("team-{i}"), "name": format!("Team {i}")}),
        )
        .await
        .expect_status(201);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/teams?limit=2".to_owned();
    loop {
        let page = app.get(&path).await;
        page.expect_status(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/teams?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, vec!["team-0", "team-1", "team-2", "team-3", "team-4"]);
}

#[tokio::test]
async fn deleting_an_agent_revokes_its_tokens() {
    let app = spawn_app().await;
    let team = app.create_team("Support").await;
    let agent = app.create_agent("Sam", &[&team]).await;
    let token = app.issue_token(&agent).await;
    app.delete(&format!("/v1/agents/{agent}"))
        .await
        .expect_status(204);
    app.request(reqwest::Method::GET, "/v1/teams", Some(&token), None)
        .await
        .expect_error(401, "unauthorized");
    // The team is free to go: the deleted agent no longer references it.
    app.delete(&format!("/v1/teams/{team}"))
        .await
        .expect_status(204);
}

#[tokio::test]
async fn integral_floats_count_as_integers() {
    let app = spawn_app().await;
    let team = app.create_team("Floats").await;
    let queue = app
        .post(
            "/v1/queues",
            json!({"name": "Q", "team_id": team, "offer_timeout_secs": 45.0}),
        )
        .await;
    queue.expect_status(201);
    assert_eq!(queue.body["offer_timeout_secs"], 45);
}

#[tokio::test]
async fn token_body_may_be_empty_or_null() {
    let app = spawn_app().await;
    let team = app.create_team("Tokens").await;
    let agent = app.create_agent("Tess", &[&team]).await;
    app.post(&format!("/v1/agents/{agent}/tokens"), Value::Null)
        .await
        .expect_status(201);
    app.send_raw(
        reqwest::Method::POST,
        &format!("/v1/agents/{agent}/tokens"),
        "application/json",
        "",
    )
    .await
    .expect_status(201);
}

#[tokio::test]
async fn a_team_listed_twice_counts_once() {
    let app = spawn_app().await;
    let team = app.create_team("Twice").await;
    let agent = app
        .post(
            "/v1/agents",
            json!({"name": "Dup", "team_ids": [team, team]}),
        )
        .await;
    agent.expect_status(201);
    assert_eq!(agent.body["team_ids"], json!([team]));
}
