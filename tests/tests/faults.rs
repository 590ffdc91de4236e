//! Faults under load, against the real binary and a real Redis, in the middle of the load
//! generator's run (customers texting through the webhook, agents accepting and replying
//! over websockets, the provider calling back):
//! - the server killed with SIGKILL and started again on the same address;
//! - its Redis frozen (SIGSTOP), stopped and started, killed (SIGKILL) and started from its
//!   append-only file, and full (`maxmemory` with `noeviction`).
//!
//! The generator's verdicts then read everything back: every acknowledged text is in its
//! thread exactly once, every acknowledged reply reached the provider exactly once, the
//! observer's websocket saw every event once and no conversation offered twice at once, and
//! every conversation customers opened was offered (routing resumed after the fault).
//! During a Redis fault an ordinary client's write is answered `503 store_unavailable`
//! (answered, not left hanging), and afterwards the same process serves again.

use std::time::Duration;

use harness::ADMIN_TOKEN as ADMIN;
use harness::process::ServerProcess;
use loadtest::report::RunResult;
use loadtest::run::run;
use loadtest::scenario::Scenario;
use testkit::{RedisServer, shared_redis_url, unique_prefix};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// What a server killed and started again runs with: the shared Redis, its own key prefix,
/// and one fixed address (so clients reach the second process where the first was).
struct ServerEnv {
    redis: String,
    prefix: String,
    bind: String,
}

impl ServerEnv {
    fn new(name: &str) -> Self {
        Self {
            redis: shared_redis_url(),
            prefix: unique_prefix(name),
            bind: format!("127.0.0.1:{}", free_port()),
        }
    }

    fn pairs(&self) -> [(&str, &str); 4] {
        [
            ("REDIS_URL", self.redis.as_str()),
            ("SWITCHBOARD_KEY_PREFIX", self.prefix.as_str()),
            ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
            ("SWITCHBOARD_BIND", self.bind.as_str()),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_under_load_it_loses_and_doubles_nothing() {
    let server = ServerEnv::new("kill");
    let env = server.pairs();
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

/// The store timeout the Redis-fault runs use (the default is 2 s): a frozen Redis must be
/// answered for within it.
const STORE_TIMEOUT_MS: u64 = 1_000;

/// What is done to Redis in the middle of a run.
#[derive(Debug, Clone, Copy)]
enum RedisFault {
    /// SIGSTOP for three seconds: connections stay open, nothing is answered.
    Frozen,
    /// Stopped (as `SHUTDOWN` does) and started again two seconds later.
    Restarted,
    /// SIGKILL, then started again from its append-only file two seconds later.
    Killed,
    /// `maxmemory` below what it uses, `noeviction`, for three seconds: writes are refused.
    Full,
}

/// A write an ordinary client makes: creating a team (a catalog write, so it needs Redis).
async fn ordinary_write(http: &reqwest::Client, server: &str) -> Result<u16, String> {
    let name = format!("probe {}", unique_prefix("team"));
    http.post(format!("{server}/v1/teams"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// Runs the load generator against a server on a Redis of its own, does `fault` to that
/// Redis four seconds in, and returns the run's result once the run (and its read-back)
/// is over. Asserts on the way that a write during the fault is answered 503 and that the
/// same server answers writes again afterwards.
async fn under_load_with(fault: RedisFault) -> RunResult {
    let mut redis = RedisServer::start();
    let prefix = unique_prefix("redis-fault");
    let url = redis.url();
    let timeout = STORE_TIMEOUT_MS.to_string();
    let server = ServerProcess::start(&[
        ("REDIS_URL", url.as_str()),
        ("SWITCHBOARD_KEY_PREFIX", prefix.as_str()),
        ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
        ("SWITCHBOARD_STORE_TIMEOUT_MS", timeout.as_str()),
    ]);
    let mut scenario =
        Scenario::from_toml(include_str!("../../loadtest/scenarios/smoke.toml")).unwrap();
    scenario.stages = vec!["10s:30".parse().unwrap(), "1s:0".parse().unwrap()];
    scenario.drain_secs = 15;
    let target = harness::process::load_target(&server, Vec::new());
    let load = tokio::spawn(async move { run(&scenario, &target).await });
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A client that gives up later than the server should: a 503 must come first.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(STORE_TIMEOUT_MS + 3_000))
        .build()
        .unwrap();
    let address = server.address.clone();
    let during = match fault {
        RedisFault::Frozen => {
            redis.pause();
            let answer = ordinary_write(&http, &address).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            redis.resume();
            answer
        }
        RedisFault::Restarted | RedisFault::Killed => {
            if let RedisFault::Killed = fault {
                redis.crash();
            } else {
                redis.stop();
            }
            let answer = ordinary_write(&http, &address).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            redis.restart();
            answer
        }
        RedisFault::Full => {
            redis.config_set("maxmemory-policy", "noeviction");
            // Over it at once: every write that could grow the data set is refused.
            redis.config_set("maxmemory", "1");
            let answer = ordinary_write(&http, &address).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            redis.config_set("maxmemory", "0");
            answer
        }
    };
    assert_eq!(during, Ok(503), "a write while Redis is {fault:?}");

    // The same process serves again, without a restart.
    let healed = tokio::time::Instant::now();
    let deadline = healed + Duration::from_secs(20);
    loop {
        let answer = ordinary_write(&http, &address).await;
        if answer == Ok(201) {
            eprintln!(
                "Redis {fault:?}: writes served again {:?} after the fault ended",
                healed.elapsed()
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes never came back after Redis was {fault:?}: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = load.await.unwrap().expect("the run completes");
    eprintln!("Redis {fault:?}:\n{}", result.table());
    drop(server);
    result
}

/// What every Redis fault must leave true.
fn assert_nothing_lost_or_doubled(fault: RedisFault, result: &RunResult) {
    assert!(
        result.violations.is_empty(),
        "Redis {fault:?} under load: {:#?}",
        result.violations
    );
    assert!(result.acked > 100, "{} texts acknowledged", result.acked);
    // The fault did reach the customers' side: some texts were refused meanwhile.
    let refused: u64 = result
        .counters
        .iter()
        .filter(|(name, _)| name.starts_with("errors.ack."))
        .map(|(_, n)| n)
        .sum();
    assert!(refused > 0, "no text was refused: {:?}", result.counters);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_frozen_under_load() {
    let result = under_load_with(RedisFault::Frozen).await;
    assert_nothing_lost_or_doubled(RedisFault::Frozen, &result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restarted_under_load() {
    let result = under_load_with(RedisFault::Restarted).await;
    assert_nothing_lost_or_doubled(RedisFault::Restarted, &result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_load() {
    let result = under_load_with(RedisFault::Killed).await;
    assert_nothing_lost_or_doubled(RedisFault::Killed, &result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_full_under_load() {
    let result = under_load_with(RedisFault::Full).await;
    assert_nothing_lost_or_doubled(RedisFault::Full, &result);
}

/// A campaign's bulk send, the server killed (SIGKILL) halfway through and started again:
/// the send goes on by itself, and every customer has the campaign's text exactly once —
/// the rows sent before the kill whose outcomes were not written yet are not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_send_killed_halfway_texts_everyone_exactly_once() {
    let server = ServerEnv::new("sendkill");
    let env = server.pairs();
    let first = ServerProcess::start(&env);
    let base = first.address.clone();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(ADMIN);
        async move {
            let request = match body {
                Some(body) => request.json(&body),
                None => request,
            };
            let response = request.send().await.expect("answered");
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    for (path, body) in [
        (
            "/v1/teams",
            serde_json::json!({"id": "support", "name": "Support"}),
        ),
        (
            "/v1/queues",
            serde_json::json!({"id": "inbound", "name": "Inbound", "team_id": "support"}),
        ),
        (
            "/v1/numbers",
            serde_json::json!({"phone": "+15550102000", "campaign": "Spring", "queue_id": "inbound"}),
        ),
    ] {
        assert_eq!(
            call(reqwest::Method::POST, path.into(), Some(body)).await.0,
            201
        );
    }
    let (_, campaigns) = call(reqwest::Method::GET, "/v1/campaigns".into(), None).await;
    let campaign = campaigns["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        reqwest::Method::PATCH,
        format!("/v1/campaigns/{campaign}"),
        Some(serde_json::json!({"quiet_hours": {"start": "00:00", "end": "23:59"}, "sends_per_second": 100})),
    )
    .await;
    assert_eq!(status, 200);
    const RECIPIENTS: usize = 500;
    let recipients: Vec<serde_json::Value> = (0..RECIPIENTS)
        .map(|i| serde_json::json!({"to": format!("+1555100{i:04}"), "fields": {"n": i.to_string()}}))
        .collect();
    let (status, made) = call(
        reqwest::Method::POST,
        format!("/v1/campaigns/{campaign}/sends"),
        Some(serde_json::json!({"body": "Offer {{n}}", "recipients": recipients})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let send = made["send"]["id"].as_str().unwrap().to_owned();
    // About halfway (100 a second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    first.kill();

    let second = ServerProcess::start(&env);
    assert_eq!(second.address, base);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (_, job) = call(
            reqwest::Method::GET,
            format!("/v1/campaigns/{campaign}/sends/{send}"),
            None,
        )
        .await;
        if job["state"] == "done" {
            break job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the send never finished: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["sent"].as_u64(), Some(RECIPIENTS as u64), "{done}");
    let (_, rows) = call(
        reqwest::Method::GET,
        format!("/v1/campaigns/{campaign}/sends/{send}/recipients?limit=1000"),
        None,
    )
    .await;
    let rows = rows["items"].as_array().unwrap().clone();
    assert_eq!(rows.len(), RECIPIENTS);
    let mut resent_after_restart = 0;
    for row in &rows {
        assert_eq!(row["status"], "sent", "{row}");
        if row["message_id"].is_null() {
            resent_after_restart += 1;
        }
        let conversation = row["conversation_id"].as_str().unwrap();
        let (_, thread) = call(
            reqwest::Method::GET,
            format!("/v1/conversations/{conversation}/messages"),
            None,
        )
        .await;
        let texts = thread["items"].as_array().unwrap();
        assert_eq!(texts.len(), 1, "{conversation}: {thread}");
        let n = row["row"].as_u64().unwrap() - 1;
        assert!(
            texts[0]["body"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Offer {n}"))
        );
    }
    eprintln!("rows whose text was stored before the kill and found again: {resent_after_restart}");
    second.kill();
}
