//! Agent work over HTTP: queue logins, presence, offers and the beacon, with team visibility.

use harness::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

struct Floor {
    app: TestApp,
    ann: String,
    bob: String,
    eve: String,
    sup: String,
}

/// Team `support` (queue `inbound`, number, agents Ann and Bob, supervisor Sue) and team
/// `sales` (queue `deals`, agent Eve).
async fn floor() -> Floor {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("bob", "support", "agent"),
            ("eve", "sales", "agent"),
            ("sue", "support", "supervisor"),
        ])
        .await;
    let [ann, bob, eve, sup] = <[String; 4]>::try_from(tokens).expect("four tokens");
    Floor {
        app,
        ann,
        bob,
        eve,
        sup,
    }
}

async fn as_agent(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> harness::Answer {
    app.request(method, path, Some(token), body.as_ref()).await
}

#[tokio::test]
async fn an_agent_logs_in_goes_available_and_accepts_the_offer() {
    let f = floor().await;
    let text = json!({"from": "+15550001111", "to": "+15550102000", "body": "Hi"});
    let conversation = f.app.post("/v1/inbound", text).await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let stats = as_agent(
        &f.app,
        &f.ann,
        Method::GET,
        "/v1/queues/inbound/stats",
        None,
    )
    .await;
    stats.expect_status(200);
    assert_eq!(stats.body["waiting"], 1);
    assert_eq!(stats.body["waiting_by_campaign"], json!({"Spring": 1}));

    let logged = as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/ann/queues",
        Some(json!({"queue_ids": ["inbound"]})),
    )
    .await;
    logged.expect_status(200);
    assert_eq!(logged.body["queue_ids"], json!(["inbound"]));
    let available = as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "available"})),
    )
    .await;
    available.expect_status(200);
    assert_eq!(available.body["presence"], "available");

    // The offer arrives (the desktop learns it from the websocket; here we poll the state).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let offer = loop {
        let state = as_agent(&f.app, &f.ann, Method::GET, "/v1/agents/ann/presence", None).await;
        if let Some(offer) = state.body["offers"].as_array().and_then(|o| o.first()) {
            assert_eq!(offer["conversation_id"], conversation.as_str());
            break offer["offer_id"].as_str().unwrap().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no offer: {}",
            state.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // Another agent, or the admin, cannot answer it.
    as_agent(
        &f.app,
        &f.bob,
        Method::POST,
        &format!("/v1/offers/{offer}/accept"),
        None,
    )
    .await
    .expect_error(409, "stale_offer");
    f.app
        .post(&format!("/v1/offers/{offer}/accept"), json!({}))
        .await
        .expect_error(403, "forbidden");
    as_agent(
        &f.app,
        &f.ann,
        Method::POST,
        &format!("/v1/offers/{offer}/accept"),
        None,
    )
    .await
    .expect_status(204);
    as_agent(
        &f.app,
        &f.ann,
        Method::POST,
        &format!("/v1/offers/{offer}/accept"),
        None,
    )
    .await
    .expect_error(409, "stale_offer");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let state = as_agent(&f.app, &f.ann, Method::GET, "/v1/agents/ann/presence", None).await;
        if state.body["owned_conversation_ids"] == json!([conversation]) {
            assert_eq!(state.body["load"], 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never owned: {}",
            state.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let stats = as_agent(
        &f.app,
        &f.ann,
        Method::GET,
        "/v1/queues/inbound/stats",
        None,
    )
    .await;
    assert_eq!(stats.body["offers_by_outcome"]["accepted"], 1);
}

#[tokio::test]
async fn work_routes_follow_team_visibility() {
    let f = floor().await;
    let available = Some(json!({"presence": "available"}));
    // Another team's agent and queue are invisible: 404.
    as_agent(&f.app, &f.eve, Method::GET, "/v1/agents/ann/presence", None)
        .await
        .expect_error(404, "not_found");
    as_agent(
        &f.app,
        &f.eve,
        Method::PUT,
        "/v1/agents/ann/presence",
        available.clone(),
    )
    .await
    .expect_error(404, "not_found");
    as_agent(
        &f.app,
        &f.eve,
        Method::GET,
        "/v1/queues/inbound/stats",
        None,
    )
    .await
    .expect_error(404, "not_found");
    as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/ann/queues",
        Some(json!({"queue_ids": ["deals"]})),
    )
    .await
    .expect_error(404, "not_found");
    // A teammate is visible but not theirs to drive: 403. A supervisor of the team may.
    as_agent(
        &f.app,
        &f.bob,
        Method::PUT,
        "/v1/agents/ann/presence",
        available.clone(),
    )
    .await
    .expect_error(403, "forbidden");
    as_agent(
        &f.app,
        &f.sup,
        Method::PUT,
        "/v1/agents/ann/presence",
        available.clone(),
    )
    .await
    .expect_status(200);
    // Even the admin cannot log an agent into another team's queue.
    f.app
        .request(
            Method::PUT,
            "/v1/agents/ann/queues",
            Some(harness::ADMIN_TOKEN),
            Some(&json!({"queue_ids": ["deals"]})),
        )
        .await
        .expect_error(403, "forbidden");
    // Bad input.
    as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "busy"})),
    )
    .await
    .expect_error(400, "invalid_value");
    as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "away", "mood": 1})),
    )
    .await
    .expect_error(400, "unknown_field");
    as_agent(
        &f.app,
        &f.ann,
        Method::PUT,
        "/v1/agents/nobody/presence",
        available,
    )
    .await
    .expect_error(404, "not_found");
    as_agent(
        &f.app,
        &f.ann,
        Method::POST,
        "/v1/offers/of_inbound_99/accept",
        None,
    )
    .await
    .expect_error(409, "stale_offer");
    f.app
        .request(Method::GET, "/v1/queues/inbound/stats", None, None)
        .await
        .expect_error(401, "unauthorized");
}
