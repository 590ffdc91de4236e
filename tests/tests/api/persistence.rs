//! Configuration kept in Redis outlives the server process.

use harness::{shared_redis_url, spawn_app_with, test_settings, unique_prefix};
use serde_json::json;

#[tokio::test]
async fn queue_survives_a_server_restart() {
    let prefix = unique_prefix("restart");
    let url = shared_redis_url();
    let first = spawn_app_with(test_settings(&url, &prefix)).await;
    let team = first.create_team("Night shift").await;
    let created = first
        .post(
            "/v1/queues",
            json!({"name": "After hours", "team_id": team, "priority": 9}),
        )
        .await;
    created.expect_status(201);
    first.stop().await;

    let second = spawn_app_with(test_settings(&url, &prefix)).await;
    let id = created.body["id"].as_str().unwrap();
    let got = second.get(&format!("/v1/queues/{id}")).await;
    got.expect_status(200);
    assert_eq!(got.body, created.body);
    // Its references were kept too: the team still cannot be deleted.
    second
        .delete(&format!("/v1/teams/{team}"))
        .await
        .expect_error(409, "resource_in_use");
}

#[tokio::test]
async fn apps_under_different_prefixes_do_not_see_each_other() {
    let url = shared_redis_url();
    let a = spawn_app_with(test_settings(&url, &unique_prefix("iso-a"))).await;
    let b = spawn_app_with(test_settings(&url, &unique_prefix("iso-b"))).await;
    a.post("/v1/teams", json!({"id": "shared-id", "name": "Shared"}))
        .await
        .expect_status(201);
    b.get("/v1/teams/shared-id")
        .await
        .expect_error(404, "not_found");
    b.post("/v1/teams", json!({"id": "shared-id", "name": "Shared"}))
        .await
        .expect_status(201);
}

#[tokio::test]
async fn conversations_and_contacts_are_listed_again_after_a_restart() {
    let prefix = unique_prefix("restart-list");
    let url = shared_redis_url();
    let first = spawn_app_with(test_settings(&url, &prefix)).await;
    first.two_teams(&[]).await;
    let mut opened = Vec::new();
    for from in ["+15550001111", "+15550002222"] {
        let answer = first
            .post(
                "/v1/inbound",
                json!({"from": from, "to": "+15550102000", "body": "Hello?"}),
            )
            .await;
        opened.push(answer.body["conversation_id"].as_str().unwrap().to_owned());
    }
    first
        .patch("/v1/contacts/+15550001111", json!({"name": "Maria Lopez"}))
        .await
        .expect_status(200);
    let before = first.get("/v1/conversations").await;
    first.stop().await;

    let second = spawn_app_with(test_settings(&url, &prefix)).await;
    let after = second.get("/v1/conversations").await;
    after.expect_status(200);
    assert_eq!(after.body, before.body);
    let found = second.get("/v1/conversations?q=maria").await;
    assert_eq!(found.body["items"][0]["id"], opened[0].as_str());
}
