//! The `switchboard` binary as an operator meets it: started as a process, configured by
//! environment, stopped by a signal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

const TOKEN: &str = "binary-test-admin-token-0123456789ab";

/// A running `switchboard` process and what it printed.
struct Server {
    child: Child,
    port: u16,
    stdout: Vec<String>,
}

/// Starts the binary with `env` on a free port and waits until it says where it listens.
fn start(env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("binary starts");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening port=").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(digits.parse::<u16>().unwrap());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server says where it listens");
    let stdout = Vec::new();
    Server {
        child,
        port,
        stdout,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(mut self) -> (std::process::ExitStatus, Duration, Vec<String>) {
        let started = Instant::now();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
        let status = self.child.wait().unwrap();
        let mut out = std::mem::take(&mut self.stdout);
        if let Some(stdout) = self.child.stdout.take() {
            out.extend(BufReader::new(stdout).lines().map_while(Result::ok));
        }
        (status, started.elapsed(), out)
    }
}

#[tokio::test]
async fn embedded_mode_generates_a_token_and_stops_cleanly_on_sigterm() {
    let server = start(&[]);
    let client = reqwest::Client::new();
    let health: serde_json::Value = client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "store": "memory", "directory": "complete"})
    );
    let (status, took, stdout) = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    let printed = stdout.join("\n");
    assert!(
        printed.contains("export SWITCHBOARD_ADMIN_TOKEN="),
        "stdout: {printed}"
    );
}

#[test]
fn redis_without_admin_token_refuses_to_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SWITCHBOARD_ADMIN_TOKEN is required"),
        "stderr: {stderr}"
    );
}

#[test]
fn short_admin_token_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("SWITCHBOARD_ADMIN_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 32 characters"));
}

#[test]
fn the_token_command_prints_a_strong_token() {
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .env_clear()
            .arg("token")
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 43, "{a}");
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_ne!(a, b);
}

#[tokio::test]
async fn queue_survives_a_restart_of_the_binary_with_redis() {
    let redis = testkit::RedisServer::start();
    let env = [
        ("REDIS_URL", redis.url()),
        ("SWITCHBOARD_ADMIN_TOKEN", TOKEN.to_owned()),
        ("SWITCHBOARD_KEY_PREFIX", testkit::unique_prefix("binary")),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let client = reqwest::Client::new();

    let first = start(&env);
    let team = client
        .post(first.url("/v1/teams"))
        .bearer_auth(TOKEN)
        .json(&json!({"id": "night", "name": "Night shift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), 201);
    let queue: serde_json::Value = client
        .post(first.url("/v1/queues"))
        .bearer_auth(TOKEN)
        .json(&json!({"id": "after-hours", "name": "After hours", "team_id": "night"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, _, _) = first.terminate();
    assert!(status.success());

    let second = start(&env);
    let again = client
        .get(second.url("/v1/queues/after-hours"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap(), queue);
    second.terminate();
}
