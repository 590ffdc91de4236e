//! Handing conversations on, through HTTP and the websocket against Redis: transfers offered
//! straight to the named teammate (logged in or not; refused when they could not take it),
//! warm ones declined back to the owner, subscribers, and supervisors reassigning.

use reqwest::Method;
use serde_json::json;

use super::conversations::{ann_takes_one, call, owned_by, text};
use super::routing_faults::{answer, floor, log_in, offers, presence, state, wait_offers};

#[tokio::test]
async fn a_transfer_to_a_teammate_not_logged_in_is_offered_to_them() {
    let (app, [ann, bob, cat, eve]) = floor().await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let path = format!("/v1/conversations/{conversation}/transfer");

    // Refused, changing nothing: offline, outside the queue's team, the owner itself.
    let offline = call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "bob"})),
    )
    .await;
    offline.expect_error(409, "agent_unavailable");
    assert_eq!(offline.body["details"]["reason"], "offline");
    presence(&app, &eve, "eve", "available").await;
    // Eve is in no team of Ann's: to Ann she does not exist.
    call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "eve"})),
    )
    .await
    .expect_error(404, "not_found");
    // Once Ann is in sales too she sees Eve, who is still outside the queue's team.
    app.patch("/v1/agents/ann", json!({"team_ids": ["support", "sales"]}))
        .await
        .expect_status(200);
    let outsider = call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "eve"})),
    )
    .await;
    outsider.expect_error(422, "invalid_transfer_target");
    assert_eq!(outsider.body["details"]["reason"], "not_in_team");
    call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "ann"})),
    )
    .await
    .expect_error(422, "invalid_transfer_target");
    owned_by(&app, &ann, &conversation, "ann").await;

    // Warm to Bob, available but logged into no queue: offered to him; he declines and Ann
    // keeps it with transfer.declined.
    let mut ann_ws = app.ws(&ann).await;
    presence(&app, &bob, "bob", "available").await;
    call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "bob", "mode": "warm"})),
    )
    .await
    .expect_status(200);
    let bob_offer = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(bob_offer[0].1, conversation);
    answer(&app, &bob, &bob_offer[0].0, "reject")
        .await
        .expect_status(204);
    let declined = ann_ws.next_of("transfer.declined").await;
    assert_eq!(declined["data"]["agent_id"], "bob");
    owned_by(&app, &ann, &conversation, "ann").await;

    // Cold to Cat, not logged in either: offered to her; she declines, and it goes
    // back to the queue, not to Ann first, while Bob (now logged in) is free.
    presence(&app, &cat, "cat", "available").await;
    log_in(&app, &bob, "bob", &["inbound"]).await;
    call(
        &app,
        &ann,
        Method::POST,
        &path,
        Some(json!({"to_agent": "cat"})),
    )
    .await
    .expect_status(200);
    let cat_offer = wait_offers(&app, &cat, "cat", 1).await;
    assert_eq!(cat_offer[0].1, conversation);
    answer(&app, &cat, &cat_offer[0].0, "reject")
        .await
        .expect_status(204);
    let bob_offer = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(bob_offer[0].1, conversation);
    assert!(offers(&state(&app, &ann, "ann").await).is_empty());
    answer(&app, &bob, &bob_offer[0].0, "accept")
        .await
        .expect_status(204);
    owned_by(&app, &bob, &conversation, "bob").await;
}

#[tokio::test]
async fn teammates_subscribe_and_supervisors_reassign() {
    let (app, [ann, bob, cat, _]) = floor().await;
    app.post(
        "/v1/agents",
        json!({"id": "sue", "name": "Sue", "team_ids": ["support"], "role": "supervisor"}),
    )
    .await
    .expect_status(201);
    let sue = app.issue_token("sue").await;
    text(&app, "+15550001111").await;
    let conversation = ann_takes_one(&app, &ann).await;
    owned_by(&app, &ann, &conversation, "ann").await;
    let at = |action: &str| format!("/v1/conversations/{conversation}/{action}");

    // Bob follows it: he may reply, not complete; unsubscribed, he may not reply.
    let followed = call(&app, &bob, Method::POST, &at("subscribe"), None).await;
    followed.expect_status(200);
    assert_eq!(followed.body["subscribers"], json!(["bob"]));
    call(
        &app,
        &bob,
        Method::POST,
        &at("messages"),
        Some(json!({"body": "Bob here, helping Ann"})),
    )
    .await
    .expect_status(201);
    call(&app, &bob, Method::POST, &at("complete"), None)
        .await
        .expect_error(403, "forbidden");
    let left = call(&app, &bob, Method::POST, &at("unsubscribe"), None).await;
    left.expect_status(200);
    assert_eq!(left.body["subscribers"], json!([]));
    call(
        &app,
        &bob,
        Method::POST,
        &at("messages"),
        Some(json!({"body": "Again"})),
    )
    .await
    .expect_error(403, "forbidden");

    // Sue, their supervisor, moves Ann's conversation to Cat (available, logged in nowhere).
    presence(&app, &cat, "cat", "available").await;
    call(
        &app,
        &bob,
        Method::POST,
        &at("transfer"),
        Some(json!({"to_agent": "cat"})),
    )
    .await
    .expect_error(403, "forbidden");
    call(
        &app,
        &sue,
        Method::POST,
        &at("transfer"),
        Some(json!({"to_agent": "cat"})),
    )
    .await
    .expect_status(200);
    let cat_offer = wait_offers(&app, &cat, "cat", 1).await;
    assert_eq!(cat_offer[0].1, conversation);
    answer(&app, &cat, &cat_offer[0].0, "accept")
        .await
        .expect_status(204);
    owned_by(&app, &cat, &conversation, "cat").await;
    let thread = call(&app, &sue, Method::GET, &at("messages"), None).await;
    let moved = thread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "transfer")
        .unwrap()
        .clone();
    assert_eq!(moved["by_agent_id"], "sue");
    assert_eq!(moved["from_agent_id"], "ann");

    // A waiting conversation: Sue hands it straight to Bob, who is not logged in.
    presence(&app, &ann, "ann", "away").await;
    let waiting = text(&app, "+15550002222").await;
    presence(&app, &bob, "bob", "available").await;
    call(
        &app,
        &sue,
        Method::POST,
        &format!("/v1/conversations/{waiting}/transfer"),
        Some(json!({"to_agent": "bob"})),
    )
    .await
    .expect_status(200);
    let bob_offer = wait_offers(&app, &bob, "bob", 1).await;
    assert_eq!(bob_offer[0].1, waiting);
}
