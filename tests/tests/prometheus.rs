//! The dashboards and rules against a real Prometheus: the server binary on Redis, Prometheus
//! scraping it every second with `dashboards/prometheus/*.yml` loaded, the load generator's
//! `smoke` scenario driving it; then every panel's query, every template variable and every
//! rule is evaluated through Prometheus's HTTP API (each parses and returns data; every rule
//! is healthy), and the wallboard's service level, speed of answer and first response time
//! agree with `/v1/stats` for the same window.
//!
//! Needs the `prometheus` binary (Debian's package; `scripts/test` installs it and sets
//! `SWITCHBOARD_REQUIRE_TOOLS=1`, so CI cannot skip it). Without it, and without that
//! variable, the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::ADMIN_TOKEN as ADMIN;
use harness::process::ServerProcess;
use loadtest::run::run;
use loadtest::scenario::Scenario;
use serde_json::Value;
use testkit::{shared_redis_url, unique_prefix};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `name` on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A Prometheus process, killed when dropped.
struct Prometheus {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts Prometheus scraping `target` (`host:port`) every second, with the project's rules.
async fn start_prometheus(binary: &Path, target: &str) -> Prometheus {
    let dir = std::env::temp_dir().join(unique_prefix("prometheus"));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = repository().join("dashboards/prometheus");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {recording}\n  - {alerts}\n\
         scrape_configs:\n  - job_name: switchboard\n    static_configs:\n      - targets: ['{target}']\n",
        recording = rules.join("recording.yml").display(),
        alerts = rules.join("alerts.yml").display(),
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("prometheus starts");
    let prometheus = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: TempDir(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/-/ready", prometheus.url)).await
            && r.status().is_success()
        {
            return prometheus;
        }
        assert!(Instant::now() < deadline, "prometheus never became ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Evaluates `query` now; returns the result vector (panics if it does not parse).
async fn query(prometheus: &Prometheus, query: &str) -> Vec<Value> {
    query_at(prometheus, query, None).await
}

/// Evaluates `query` at `at` (seconds since the epoch; now when absent).
async fn query_at(prometheus: &Prometheus, query: &str, at: Option<f64>) -> Vec<Value> {
    let mut params = vec![("query", query.to_owned())];
    if let Some(at) = at {
        params.push(("time", format!("{at:.3}")));
    }
    let answer: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/query", prometheus.url))
        .query(&params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{query}: {answer}");
    match answer["data"]["result"].clone() {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// The value of a one-sample result.
fn value(result: &[Value]) -> f64 {
    assert_eq!(result.len(), 1, "one sample: {result:?}");
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// Every target query of a dashboard's panels (rows included), with its panel's title.
fn panel_queries(board: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = board["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = stack.pop() {
        if let Some(nested) = panel["panels"].as_array() {
            stack.extend(nested);
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            out.push((title, target["expr"].as_str().unwrap().to_owned()));
        }
    }
    out
}

/// A panel's query as Grafana would send it: variables replaced.
fn expand(expr: &str, queue: &str, range_secs: u64) -> String {
    expand_ms(expr, queue, range_secs * 1000)
}

/// [`expand`] with the range in milliseconds.
fn expand_ms(expr: &str, queue: &str, range_ms: u64) -> String {
    expr.replace("$queue", queue)
        .replace("$team", ".*")
        .replace("$agent", ".*")
        .replace("$__range_s", &(range_ms / 1000).to_string())
        .replace("$__range", &format!("{range_ms}ms"))
        .replace("$__rate_interval", "1m")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_panel_and_rule_answers_and_agrees_with_the_statistics_api() {
    let Some(binary) = on_path("prometheus") else {
        assert!(
            std::env::var("SWITCHBOARD_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "prometheus is required (SWITCHBOARD_REQUIRE_TOOLS=1) but not on the PATH"
        );
        eprintln!("skipped: no prometheus on the PATH (apt-get install prometheus)");
        return;
    };
    let redis = shared_redis_url();
    let prefix = unique_prefix("prometheus");
    let server = ServerProcess::start(&[
        ("REDIS_URL", redis.as_str()),
        ("SWITCHBOARD_KEY_PREFIX", prefix.as_str()),
        ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
    ]);
    let target = server.address.trim_start_matches("http://").to_owned();
    let prometheus = start_prometheus(&binary, &target).await;
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    // A few scrapes before the load, so every series starts from its zero.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let scenario =
        Scenario::from_toml(include_str!("../../loadtest/scenarios/smoke.toml")).unwrap();
    let mut target = harness::process::load_target(&server, Vec::new());
    target.keep = true;
    let result = run(&scenario, &target).await.expect("the run completes");
    assert!(result.violations.is_empty(), "{:#?}", result.violations);
    // Scrapes and rule evaluations after the last event.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ended = chrono::Utc::now();
    let range_secs = (ended - started).num_seconds() as u64 + 1;

    // Every panel's query parses and returns data.
    for file in ["wallboard.json", "agents.json", "operations.json"] {
        let board: Value = serde_json::from_str(
            &std::fs::read_to_string(repository().join("dashboards").join(file)).unwrap(),
        )
        .unwrap();
        for (title, expr) in panel_queries(&board) {
            let expr = expand(&expr, ".*", range_secs);
            let result = query(&prometheus, &expr).await;
            assert!(!result.is_empty(), "{file} / {title}: no data for {expr}");
        }
        // Template variables: label_values(<selector>, <label>) finds values.
        for variable in board["templating"]["list"].as_array().unwrap() {
            let Some(definition) = variable["definition"].as_str() else {
                continue;
            };
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|d| d.strip_suffix(')'))
                .expect("label_values(...)");
            let (selector, label) = inner.rsplit_once(',').unwrap();
            let selector = expand(selector.trim(), ".*", range_secs);
            let expr = format!("count by ({}) ({selector})", label.trim());
            assert!(
                !query(&prometheus, &expr).await.is_empty(),
                "{file}: variable {} finds nothing",
                variable["name"]
            );
        }
    }

    // Every rule is loaded and healthy; every recording rule has data.
    let rules: Value = reqwest::get(format!("{}/api/v1/rules", prometheus.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut count = 0;
    for group in rules["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            count += 1;
            assert_eq!(rule["health"], "ok", "{rule}");
            if rule["type"] == "recording" {
                let name = rule["name"].as_str().unwrap();
                assert!(
                    !query(&prometheus, name).await.is_empty(),
                    "{name}: no data"
                );
            }
        }
    }
    assert_eq!(
        count, 17,
        "every rule of recording.yml and alerts.yml is loaded"
    );

    // The wallboard's figures agree with the statistics API over the same window, queue by
    // queue.
    let wallboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repository().join("dashboards/wallboard.json")).unwrap(),
    )
    .unwrap();
    let panel = |title: &str| {
        panel_queries(&wallboard)
            .into_iter()
            .find(|(t, _)| t == title)
            .unwrap_or_else(|| panic!("the wallboard has {title}"))
            .1
    };
    let http = reqwest::Client::new();
    let queues: Value = http
        .get(format!("{}/v1/queues?limit=200", server.address))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut compared = 0;
    for queue in queues["items"].as_array().unwrap() {
        let id = queue["id"].as_str().unwrap();
        // The window starts at the queue's first scrape: a series born between two scrapes
        // has counts Prometheus never saw rise from zero (its extrapolation then differs
        // between a histogram's sum and count), so both sides start where Prometheus does.
        let samples = query_at(
            &prometheus,
            &format!(r#"switchboard_speed_of_answer_seconds_count{{queue="{id}"}}[{range_secs}s]"#),
            Some(ended.timestamp_millis() as f64 / 1000.0),
        )
        .await;
        let Some(first) = samples.first().and_then(|s| s["values"][0][0].as_f64()) else {
            continue;
        };
        let from =
            chrono::DateTime::from_timestamp_millis((first * 1000.0).round() as i64).unwrap();
        let stats: Value = http
            .get(format!("{}/v1/stats/queues/{id}", server.address))
            .query(&[
                (
                    "from",
                    from.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ),
                (
                    "to",
                    ended.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ),
                ("split_by_wait_time", "60".to_owned()),
            ])
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let figures = &stats["cumulative"];
        if figures["conversations"]["answered"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        compared += 1;
        let sl = window_figure(
            &prometheus,
            &panel("Service level today (60 s)"),
            id,
            from,
            ended,
        )
        .await;
        let asa = window_figure(&prometheus, &panel("Speed of answer"), id, from, ended).await;
        let frt = window_figure(&prometheus, &panel("First response time"), id, from, ended).await;
        let expected = |figure: &str| figures[figure]["average_seconds"].as_f64().unwrap();
        let expected_sl = figures["service_level"][0]["ratio"].as_f64().unwrap();
        assert!(
            (sl - expected_sl).abs() < 0.01,
            "{id}: service level {sl} vs {expected_sl}"
        );
        // Averages to 1 % (Prometheus reads the counters a scrape at a time).
        for (what, actual, expected) in [
            ("speed of answer", asa, expected("speed_of_answer")),
            ("first response", frt, expected("first_response")),
        ] {
            assert!(
                (actual - expected).abs() <= 0.01 * expected + 0.005,
                "{id}: {what} {actual} vs {expected}"
            );
        }
    }
    assert!(compared > 0, "some queue answered conversations");
    server.kill();
}

/// A wallboard panel's figure for `queue` over `from..=to`, evaluated at `to`.
async fn window_figure(
    prometheus: &Prometheus,
    expr: &str,
    queue: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> f64 {
    let range_ms = (to - from).num_milliseconds() as u64;
    let expr = expand_ms(expr, queue, range_ms);
    value(
        &query_at(
            prometheus,
            &expr,
            Some(to.timestamp_millis() as f64 / 1000.0),
        )
        .await,
    )
}
