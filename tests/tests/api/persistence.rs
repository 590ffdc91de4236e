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

#[tokio::test]
async fn the_beacon_shows_the_same_after_a_restart() {
    use reqwest::Method;
    let prefix = unique_prefix("restart-beacon");
    let url = shared_redis_url();
    let first = spawn_app_with(test_settings(&url, &prefix)).await;
    let ann = first
        .two_teams(&[("ann", "support", "agent")])
        .await
        .remove(0);
    first
        .post(
            "/v1/numbers",
            json!({"phone": "+15550104000", "campaign": "Autumn", "queue_id": "inbound"}),
        )
        .await
        .expect_status(201);
    first
        .patch("/v1/agents/ann", json!({"capacity": 1}))
        .await
        .expect_status(200);
    for (from, to) in [
        ("+15550001111", "+15550102000"),
        ("+15550002222", "+15550102000"),
        ("+15550003333", "+15550104000"),
    ] {
        first
            .post("/v1/inbound", json!({"from": from, "to": to, "body": "Hi"}))
            .await
            .expect_status(200);
    }
    let mut ws = first.ws(&ann).await;
    for (path, body) in [
        ("/v1/agents/ann/queues", json!({"queue_ids": ["inbound"]})),
        ("/v1/agents/ann/presence", json!({"presence": "available"})),
    ] {
        first
            .request(Method::PUT, path, Some(&ann), Some(&body))
            .await
            .expect_status(200);
    }
    // Ann rejects her first offer, accepts the second (the same conversation), then leaves.
    for verb in ["reject", "accept"] {
        let offer = ws.next_of("offer.created").await;
        let offer_id = offer["data"]["offer_id"].as_str().unwrap();
        first
            .request(
                Method::POST,
                &format!("/v1/offers/{offer_id}/{verb}"),
                Some(&ann),
                None,
            )
            .await
            .expect_status(204);
    }
    ws.next_of("conversation.assigned").await;
    first
        .request(
            Method::PUT,
            "/v1/agents/ann/presence",
            Some(&ann),
            Some(&json!({"presence": "away"})),
        )
        .await
        .expect_status(200);
    let before = settled_stats(&first, &ann).await;
    assert_eq!(
        before["waiting_by_campaign"],
        json!({"Spring": 1, "Autumn": 1})
    );
    assert_eq!(
        before["offers_by_outcome"],
        json!({"created": 2, "rejected": 1, "accepted": 1})
    );
    first.stop().await;

    let second = spawn_app_with(test_settings(&url, &prefix)).await;
    let after = settled_stats(&second, &ann).await;
    assert_eq!(after["waiting_by_campaign"], before["waiting_by_campaign"]);
    assert_eq!(after["offers_by_outcome"], before["offers_by_outcome"]);
    assert_eq!(after["waiting"], 2);
}

/// The queue's stats once two conversations wait and one offer was accepted.
async fn settled_stats(app: &harness::TestApp, token: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let answer = app
            .request(
                reqwest::Method::GET,
                "/v1/queues/inbound/stats",
                Some(token),
                None,
            )
            .await;
        answer.expect_status(200);
        if answer.body["waiting"] == 2 && answer.body["offers_by_outcome"]["accepted"] == 1 {
            return answer.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never settled: {}",
            answer.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A restart with more closed conversations than one page: routing is back at once, lists
/// that could show closed conversations answer `directory_loading` (503, `Retry-After`) or
/// the whole list, never a partial one, and every closed conversation is listed once loaded.
#[tokio::test]
async fn closed_conversations_load_after_a_restart_without_holding_routing_back() {
    const COPIES: usize = 1_499;
    let prefix = unique_prefix("restart-closed");
    let url = shared_redis_url();
    let first = spawn_app_with(test_settings(&url, &prefix)).await;
    first.two_teams(&[]).await;
    let text = |from: &str, body: &str| json!({"from": from, "to": "+15550102000", "body": body});
    let opened = first.post("/v1/inbound", text("+15550001111", "Hi")).await;
    let closed_id = opened.body["conversation_id"].as_str().unwrap().to_owned();
    first
        .post("/v1/inbound", text("+15550001111", "STOP"))
        .await
        .expect_status(200);
    first.stop().await;

    // Copies of the closed conversation's document under new ids and customers, written the
    // way the store keeps them (a document and the id in the set of all conversations).
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let original: String = redis::cmd("GET")
        .arg(format!("{prefix}:conv:{closed_id}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(original.contains(r#""status":"closed""#), "{original}");
    let mut pipe = redis::pipe();
    for n in 0..COPIES {
        let id = format!("cv_copy{n:05}");
        let doc = original
            .replace(&closed_id, &id)
            .replace("+15550001111", &format!("+1555700{n:04}"));
        pipe.cmd("SET").arg(format!("{prefix}:conv:{id}")).arg(doc);
        pipe.cmd("ZADD")
            .arg(format!("{prefix}:convs"))
            .arg(0)
            .arg(&id);
    }
    let () = pipe.query_async(&mut redis).await.unwrap();

    let second = spawn_app_with(test_settings(&url, &prefix)).await;
    // Routing does not wait for the directory.
    second
        .post("/v1/inbound", text("+15550002222", "Still there?"))
        .await
        .expect_status(200);
    let closed_page = || second.get("/v1/conversations?view=closed&limit=200");
    let first_try = closed_page().await;
    if first_try.status == 503 {
        first_try.expect_error(503, "directory_loading");
        let raw = reqwest::Client::new()
            .get(format!("{}/v1/conversations?view=closed", second.address))
            .bearer_auth(harness::ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        if raw.status() == 503 {
            assert_eq!(raw.headers()["retry-after"], "1");
        }
    } else {
        first_try.expect_status(200);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = second.get("/readyz").await;
        ready.expect_status(200);
        if ready.body["directory"] == "complete" {
            break;
        }
        assert_eq!(ready.body["directory"], "loading");
        assert!(
            std::time::Instant::now() < deadline,
            "the directory never loaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut listed = std::collections::HashSet::new();
    let mut path = "/v1/conversations?view=closed&limit=200".to_owned();
    loop {
        let page = second.get(&path).await;
        page.expect_status(200);
        for row in page.body["items"].as_array().unwrap() {
            assert!(listed.insert(row["id"].as_str().unwrap().to_owned()));
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/conversations?view=closed&limit=200&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(listed.len(), COPIES + 1);
    assert!(listed.contains(&closed_id));
}
