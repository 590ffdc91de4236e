//! The `switchboard` binary as a process of its own, for tests that must kill it (SIGKILL, no
//! goodbye) and start it again over the same Redis data.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The freshly built server binary (built once per test run: a stale one would test old code).
fn binary() -> PathBuf {
    built("switchboard-api", "switchboard")
}

/// The freshly built binary `bin` of `package`, built once per test process.
fn built(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashMap<String, PathBuf>>> =
        OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .expect("the build list");
    built
        .entry(bin.to_owned())
        .or_insert_with(|| {
            let cargo = option_env!("CARGO").unwrap_or("cargo");
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", package, "--bin", bin])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "the {bin} binary builds");
            // Tests run from <target>/debug/deps/: the binary is one level up.
            let exe = std::env::current_exe().expect("test binary path");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("target directory")
                .join(bin)
        })
        .clone()
}

/// A running server process.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
}

impl ServerProcess {
    /// Starts the binary with `env` (on top of a bind to a free loopback port) and waits until
    /// it listens.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SWITCHBOARD_BIND", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening port=").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(digits.parse::<u16>().expect("a port"));
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server says where it listens");
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Kills it with SIGKILL: no shutdown, nothing flushed, as in a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("the process is killed");
        self.child.wait().expect("the process is reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The load generator aimed at the whole of `server`, as one generator, with `faults`
/// planted (none for an honest run).
pub fn load_target(
    server: &ServerProcess,
    faults: Vec<loadtest::run::Fault>,
) -> loadtest::run::Target {
    loadtest::run::Target {
        url: server.address.clone(),
        admin_token: crate::ADMIN_TOKEN.to_owned(),
        provider_bind: "127.0.0.1:0".into(),
        provider_url: None,
        shard: (0, 1),
        keep: false,
        progress: false,
        faults,
    }
}
