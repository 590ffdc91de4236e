//! `/readyz` follows Redis: 503 soon after it stops, 200 again once it is back, with the same
//! server process, and no request waits longer than the store timeout meanwhile.

use std::time::{Duration, Instant};

use harness::{RedisServer, spawn_app_with, test_settings, unique_prefix};
use reqwest::Method;

/// Polls `/readyz` until it answers `status`, returning how long that took; every single
/// request must come back within the store timeout plus slack.
async fn wait_for_ready_status(app: &harness::TestApp, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let sent = Instant::now();
        let answer = app.request(Method::GET, "/readyz", None, None).await;
        assert!(
            sent.elapsed() < Duration::from_millis(1500),
            "readyz hung for {:?}",
            sent.elapsed()
        );
        if answer.status.as_u16() == status {
            if status == 503 {
                answer.expect_error(503, "store_unavailable");
                assert_eq!(answer.body["details"]["store"], "redis");
            }
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "readyz did not turn {status} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readyz_follows_redis_down_and_back_up() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(test_settings(&redis.url(), &unique_prefix("ready"))).await;
    let team = app.create_team("Before outage").await;
    wait_for_ready_status(&app, 200, Duration::from_secs(2)).await;

    redis.stop();
    let took = wait_for_ready_status(&app, 503, Duration::from_secs(2)).await;
    eprintln!("readyz turned 503 after {took:?}");
    // Other routes fail fast with the same code rather than hanging.
    let sent = Instant::now();
    app.get(&format!("/v1/teams/{team}"))
        .await
        .expect_error(503, "store_unavailable");
    assert!(sent.elapsed() < Duration::from_millis(1500));
    app.request(Method::GET, "/healthz", None, None)
        .await
        .expect_status(200);

    redis.restart();
    let took = wait_for_ready_status(&app, 200, Duration::from_secs(10)).await;
    eprintln!("readyz turned 200 again after {took:?}");
    // The data written before the outage is still there (AOF), served by the same process.
    app.get(&format!("/v1/teams/{team}"))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn a_frozen_redis_never_makes_a_request_hang_past_the_store_timeout() {
    let redis = RedisServer::start();
    let app = spawn_app_with(test_settings(&redis.url(), &unique_prefix("frozen"))).await;
    let team = app.create_team("Before freeze").await;

    redis.pause();
    // The store timeout is 500 ms in tests; allow scheduling slack, but nothing near a hang.
    for path in [
        "/readyz".to_owned(),
        format!("/v1/teams/{team}"),
        "/v1/teams".to_owned(),
    ] {
        let sent = Instant::now();
        let answer = app
            .request(Method::GET, &path, Some(harness::ADMIN_TOKEN), None)
            .await;
        let took = sent.elapsed();
        answer.expect_error(503, "store_unavailable");
        assert!(took < Duration::from_millis(1200), "{path} took {took:?}");
    }
    app.request(Method::GET, "/healthz", None, None)
        .await
        .expect_status(200);

    redis.resume();
    wait_for_ready_status(&app, 200, Duration::from_secs(10)).await;
    app.get(&format!("/v1/teams/{team}"))
        .await
        .expect_status(200);
}

/// Started before Redis exists, the server still starts: `/healthz` 200, `/readyz` 503, and
/// once Redis appears it becomes ready by itself — configuration, texts and the websocket
/// feed all work, with no restart.
#[tokio::test]
async fn the_server_starts_without_redis_and_becomes_ready_when_it_appears() {
    let mut redis = RedisServer::start();
    redis.stop();
    let app = spawn_app_with(test_settings(&redis.url(), &unique_prefix("late"))).await;
    app.request(Method::GET, "/healthz", None, None)
        .await
        .expect_status(200);
    wait_for_ready_status(&app, 503, Duration::from_secs(2)).await;

    redis.restart();
    let took = wait_for_ready_status(&app, 200, Duration::from_secs(15)).await;
    eprintln!("ready {took:?} after Redis appeared");
    let tokens = app.two_teams(&[("ann", "support", "agent")]).await;
    // The event feed finds the journal by itself too: a session opens and is told of a
    // text that arrives after it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ws = loop {
        let probe = reqwest::Client::new()
            .get(format!("{}/v1/ws?token={}", app.address, tokens[0]))
            .send()
            .await
            .unwrap();
        // Not a websocket request: 400 websocket_required once the feed runs, 503 before.
        if probe.status() != 503 {
            break app.ws(&tokens[0]).await;
        }
        assert!(Instant::now() < deadline, "the event feed never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    app.post(
        "/v1/inbound",
        serde_json::json!({"from": "+15550004321", "to": "+15550102000", "body": "Hello?"}),
    )
    .await
    .expect_status(200);
    let opened = ws.next_of("conversation.created").await;
    assert_eq!(opened["data"]["queue_id"], "inbound", "{opened}");
}

/// Started while Redis is still loading its append-only file (it answers `-LOADING` to
/// everything, for seconds on a large data set), the server starts, is not ready, and becomes
/// ready once loading ends — with what was stored before: the waiting conversation is back.
#[tokio::test]
async fn the_server_starts_while_redis_loads_and_recovers_what_it_held() {
    let mut redis = RedisServer::start();
    let prefix = unique_prefix("loading");
    let first = spawn_app_with(test_settings(&redis.url(), &prefix)).await;
    first.two_teams(&[("ann", "support", "agent")]).await;
    let opened = first
        .post(
            "/v1/inbound",
            serde_json::json!({"from": "+15550004321", "to": "+15550102000", "body": "Hello?"}),
        )
        .await;
    opened.expect_status(200);
    let conversation = opened.body["conversation_id"].as_str().unwrap().to_owned();
    first.stop().await;
    // Enough other keys that loading them, slowed to 250 µs a key, takes about five seconds.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let mut fill = redis::pipe();
    for n in 0..20_000 {
        fill.set(format!("filler:{n}"), n).ignore();
    }
    let _: () = fill.query_async(&mut con).await.unwrap();
    drop(con);
    redis.restart_loading_slowly(250);
    assert!(redis.is_loading(), "Redis should still be loading");

    let app = spawn_app_with(test_settings(&redis.url(), &prefix)).await;
    app.request(Method::GET, "/healthz", None, None)
        .await
        .expect_status(200);
    wait_for_ready_status(&app, 503, Duration::from_secs(2)).await;
    assert!(redis.is_loading(), "the 503 came while Redis loaded");
    let took = wait_for_ready_status(&app, 200, Duration::from_secs(30)).await;
    eprintln!("ready {took:?} after start, Redis loading meanwhile");
    app.get(&format!("/v1/conversations/{conversation}"))
        .await
        .expect_status(200);
}

/// A Redis that answers but refuses writes (out of memory with `noeviction`) is not ready.
#[tokio::test]
async fn readyz_is_503_while_redis_refuses_writes() {
    let redis = RedisServer::start();
    let app = spawn_app_with(test_settings(&redis.url(), &unique_prefix("full"))).await;
    wait_for_ready_status(&app, 200, Duration::from_secs(2)).await;
    redis.config_set("maxmemory-policy", "noeviction");
    redis.config_set("maxmemory", "1");
    wait_for_ready_status(&app, 503, Duration::from_secs(2)).await;
    redis.config_set("maxmemory", "0");
    wait_for_ready_status(&app, 200, Duration::from_secs(2)).await;
}
