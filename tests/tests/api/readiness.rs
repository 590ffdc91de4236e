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
