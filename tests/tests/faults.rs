//! Faults under load, against the real binary and a real Redis: the server is killed with
//! SIGKILL in the middle of the load generator's run (customers texting, agents accepting
//! and replying over websockets) and started again on the same address. The generator's
//! verdicts then read everything back: every acknowledged text is in its thread exactly
//! once, every acknowledged reply reached the provider exactly once, and routing resumed
//! (conversations kept being offered, taken and completed after the restart).

use std::time::Duration;

use harness::ADMIN_TOKEN as ADMIN;
use harness::process::ServerProcess;
use loadtest::run::run;
use loadtest::scenario::Scenario;
use testkit::{shared_redis_url, unique_prefix};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_under_load_it_loses_and_doubles_nothing() {
    let redis = shared_redis_url();
    let prefix = unique_prefix("kill");
    let bind = format!("127.0.0.1:{}", free_port());
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("SWITCHBOARD_KEY_PREFIX", prefix.as_str()),
        ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
        ("SWITCHBOARD_BIND", bind.as_str()),
    ];
    let first = ServerProcess::start(&env);
    let mut scenario =
        Scenario::from_toml(include_str!("../../loadtest/scenarios/smoke.toml")).unwrap();
    scenario.stages = vec!["8s:30".parse().unwrap(), "1s:0".parse().unwrap()];
    scenario.drain_secs = 12;
    let target = harness::process::load_target(&first, Vec::new());
    let load = tokio::spawn(async move { run(&scenario, &target).await });
    // Well into the run: conversations waiting, offered, owned, replies in the outbox.
    tokio::time::sleep(Duration::from_secs(5)).await;
    first.kill();
    let second = ServerProcess::start(&env);
    let result = load.await.unwrap().expect("the run completes");
    eprintln!("{}", result.table());
    // Every verdict holds, `offered_twice_at_once` included: recovery ends the offers the
    // killed process left open (`offer.rescinded`, reason `restarted`) before offering again.
    assert!(
        result.violations.is_empty(),
        "after a SIGKILL under load: {:#?}",
        result.violations
    );
    assert!(result.acked > 100, "{} texts acknowledged", result.acked);
    // The desktops lost their sockets and came back with ?after=.
    assert!(
        result.counters.get("ws.lost").copied().unwrap_or(0) > 0,
        "{:?}",
        result.counters
    );
    // Routing resumed: work was completed after the restart too.
    assert!(result.counters.get("agent.complete").copied().unwrap_or(0) > 0);
    second.kill();
}
