//! Test support shared by the workspace's tests: a private `redis-server` per test process.
//!
//! Tests use `REDIS_URL` when it is set (CI may provide a Redis); otherwise the first test to
//! ask starts one private `redis-server` for the whole test binary — in a temporary
//! directory, listening only on a unix socket (no port to collide on), AOF on — which every
//! test shares under its own key prefix. A test that needs to stop and restart Redis starts
//! its own [`RedisServer`] instead.
//!
//! The server is started under a small shell watchdog that kills it when the test process's
//! end closes the watchdog's stdin, so no `redis-server` outlives its tests, even when the
//! test binary aborts.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How to install the server when it is missing.
pub const INSTALL_HINT: &str = "redis-server is not installed: run `scripts/test` (it installs it as root), or `sudo apt-get install redis-server`";

/// A `redis-server` this process started, in its own temporary directory.
pub struct RedisServer {
    dir: tempfile::TempDir,
    watchdog: Option<(Child, ChildStdin)>,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("socket", &self.socket_path())
            .finish()
    }
}

impl RedisServer {
    /// Starts a new server and waits until it answers `PING`.
    ///
    /// # Panics
    /// When `redis-server` is missing (with [`INSTALL_HINT`]) or does not come up in 10 s.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-redis-")
            .tempdir()
            .expect("temporary directory");
        let mut server = Self {
            dir,
            watchdog: None,
        };
        server.launch();
        server
    }

    /// The unix socket the server listens on.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The URL clients connect with.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket_path().display())
    }

    /// The server's data directory (AOF files live here).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the server answers now.
    pub fn is_up(&self) -> bool {
        ping(&self.socket_path())
    }

    /// Stops the server (as `SHUTDOWN` would: AOF is flushed), keeping its data directory.
    pub fn stop(&mut self) {
        if let Some((mut child, mut stdin)) = self.watchdog.take() {
            // "keep" tells the watchdog to leave the data directory for a restart.
            let _ = stdin.write_all(b"keep\n");
            drop(stdin);
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.socket_path().exists() && ping(&self.socket_path()) && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered, the way
    /// an overloaded or partitioned Redis looks to a client.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a server frozen by [`RedisServer::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid =
            std::fs::read_to_string(self.dir.path().join("redis.pid")).expect("redis pidfile");
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.trim())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts the server again on the same socket and data, after [`RedisServer::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Kills the server with SIGKILL (nothing flushed beyond what it already wrote, as in a
    /// crash), keeping its data directory: [`RedisServer::restart`] starts it again from its
    /// append-only file.
    pub fn crash(&mut self) {
        self.signal("-KILL");
        self.stop();
    }

    /// Starts the server again after [`RedisServer::stop`] with its loading slowed to about
    /// `micros_per_key` per key, and returns as soon as it listens — while it still answers
    /// `-LOADING` to everything, as a large Redis does for seconds after a restart.
    pub fn restart_loading_slowly(&mut self, micros_per_key: u32) {
        self.stop();
        self.spawn(&[
            format!("--key-load-delay {micros_per_key}"),
            // Answer clients (with -LOADING) while loading even a small file.
            "--loading-process-events-interval-bytes 1024".to_owned(),
        ]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(self.socket_path()).is_err() {
            assert!(Instant::now() < deadline, "redis-server never listened");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `CONFIG SET key value` (to make it full, say: `maxmemory 1` with `noeviction`).
    ///
    /// # Panics
    /// When the server does not answer `+OK`.
    pub fn config_set(&self, key: &str, value: &str) {
        let reply = command(&self.socket_path(), &format!("CONFIG SET {key} {value}"));
        assert!(
            reply.as_deref().is_some_and(|r| r.starts_with("+OK")),
            "CONFIG SET {key} {value}: {reply:?}"
        );
    }

    /// Whether the server says it is loading its data set.
    pub fn is_loading(&self) -> bool {
        ping_reply(&self.socket_path()).is_some_and(|reply| reply.starts_with("-LOADING"))
    }

    fn launch(&mut self) {
        self.spawn(&[]);
        let socket = self.socket_path();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(&socket) {
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                panic!("redis-server did not answer within 10 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts `redis-server` under its watchdog, with `extra` arguments.
    fn spawn(&mut self, extra: &[String]) {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            panic!("{INSTALL_HINT}");
        }
        let socket = self.socket_path();
        let _ = std::fs::remove_file(&socket);
        let args = [
            "--port 0".to_owned(),
            format!("--unixsocket {}", socket.display()),
            "--unixsocketperm 700".to_owned(),
            format!("--dir {}", self.dir.path().display()),
            "--appendonly yes".to_owned(),
            "--appendfsync everysec".to_owned(),
            "--save ''".to_owned(),
            "--daemonize no".to_owned(),
            format!("--pidfile {}", self.dir.path().join("redis.pid").display()),
            format!("--logfile {}", self.dir.path().join("redis.log").display()),
        ]
        .iter()
        .chain(extra)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
        // The watchdog: redis runs in the background of a shell that waits on its stdin. On a
        // line (stop()) or end of input (this process ending in any way), it stops the server
        // with SIGTERM, which makes redis flush its AOF; on end of input it also removes the
        // data directory, which nobody can use any more.
        let dir = self.dir.path().display();
        let script = format!(
            "redis-server {args} & pid=$!; echo started; \
             if read _; then keep=1; fi; kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n \"$keep\" ] || rm -rf '{dir}'"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sh for redis-server");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut started = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut started)
            .expect("read watchdog output");
        self.watchdog = Some((child, stdin));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a server answers `PING` on `socket`, within a short bound.
fn ping(socket: &Path) -> bool {
    ping_reply(socket).is_some_and(|reply| reply.starts_with("+PONG"))
}

/// The server's answer to `PING` on `socket` (`+PONG`, or an error such as `-LOADING`),
/// within a short bound.
fn ping_reply(socket: &Path) -> Option<String> {
    command(socket, "PING")
}

/// The first line of the server's answer to an inline command, within a short bound.
fn command(socket: &Path, line: &str) -> Option<String> {
    let mut stream = UnixStream::connect(socket).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    stream.write_all(format!("{line}\r\n").as_bytes()).ok()?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).ok()?;
    Some(reply)
}

/// The Redis every test in this process shares: `REDIS_URL` when set, else one private
/// server started on first use.
pub fn shared_redis_url() -> String {
    static SHARED: OnceLock<String> = OnceLock::new();
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SHARED
        .get_or_init(|| match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => SERVER.get_or_init(RedisServer::start).url(),
        })
        .clone()
}

/// A key prefix no other test uses, so tests sharing one Redis never see each other's data.
pub fn unique_prefix(test: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let clean: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    format!("t:{clean}:{}:{nanos:x}:{n}", std::process::id())
}
