//! The load generator against the real server binary on Redis: the `smoke` scenario passes
//! every verdict, and a run with planted faults fails them and exits non-zero. Nothing here
//! asserts a wall-clock figure: speed is measured and written down in BENCHMARKS.md.

use harness::ADMIN_TOKEN as ADMIN;
use harness::process::ServerProcess;
use loadtest::report::exit_code;
use loadtest::run::{Fault, Target, run};
use loadtest::scenario::Scenario;
use testkit::{shared_redis_url, unique_prefix};

fn server(name: &str) -> ServerProcess {
    let redis = shared_redis_url();
    let prefix = unique_prefix(name);
    ServerProcess::start(&[
        ("REDIS_URL", redis.as_str()),
        ("SWITCHBOARD_KEY_PREFIX", prefix.as_str()),
        ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
    ])
}

/// The whole of `server`, from one generator, with `faults` planted.
fn target(server: &ServerProcess, faults: Vec<Fault>) -> Target {
    harness::process::load_target(server, faults)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_smoke_scenario_passes_every_verdict() {
    let server = server("load-smoke");
    let scenario =
        Scenario::from_toml(include_str!("../../loadtest/scenarios/smoke.toml")).unwrap();
    let result = run(&scenario, &target(&server, Vec::new()))
        .await
        .expect("the run completes");
    eprintln!("{}", result.table());
    assert!(
        result.violations.is_empty(),
        "violations: {:#?}",
        result.violations
    );
    // It did what the scenario says: every text answered, STOP/HELP and 429s among them,
    // conversations offered, accepted, replied to, delivered.
    assert!(result.sent >= 300, "{} texts sent", result.sent);
    assert_eq!(result.acked, result.sent, "every text acknowledged");
    for measure in [
        "ack",
        "text_to_offer",
        "offer_to_accept",
        "reply_to_handoff",
        "handoff_to_delivered",
    ] {
        assert!(result.measures[measure].count > 0, "{measure} was measured");
    }
    assert!(
        result
            .counters
            .get("provider.answered.429")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(result.counters.get("agent.complete").copied().unwrap_or(0) > 0);
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planted_faults_fail_the_run_and_its_exit_code() {
    let server = server("load-faults");
    let mut scenario =
        Scenario::from_toml(include_str!("../../loadtest/scenarios/smoke.toml")).unwrap();
    scenario.stages = vec!["2s:20".parse().unwrap(), "1s:0".parse().unwrap()];
    scenario.drain_secs = 3;
    let faults = vec![Fault::LostText, Fault::DuplicateReceipt];
    let result = run(&scenario, &target(&server, faults))
        .await
        .expect("the run completes");
    let mut checks: Vec<&str> = result.violations.iter().map(|v| v.check.as_str()).collect();
    checks.sort();
    assert_eq!(
        checks,
        ["lost", "reply_duplicated"],
        "{:#?}",
        result.violations
    );
    assert_eq!(exit_code(&result, &[]), 1, "the run exits non-zero");
    server.kill();
}
