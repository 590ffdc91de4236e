//! Server settings, layered: a TOML file (`--config`), then environment variables, then
//! command-line flags, each overriding the one before; then defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// The default listen address: loopback, so a first run exposes nothing.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The default bound on any one store call.
pub const DEFAULT_STORE_TIMEOUT_MS: u64 = 2000;
/// The default time in-flight requests get to finish on shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// Seconds a client has to send a request body once its headers are in.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 10;
/// The shortest admin token accepted: anything shorter is guessable.
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;

/// `switchboard`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Real-time routing engine (ACD) for SMS conversations"
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, accepted without the word too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Print a strong random admin token (256 bits) for SWITCHBOARD_ADMIN_TOKEN, and exit.
    Token,
}

impl Cli {
    /// The serve flags, wherever they were given; `None` for `token`.
    pub fn into_serve_args(self) -> Option<ServeArgs> {
        match self.command {
            Some(Command::Serve(args)) => Some(*args),
            Some(Command::Token) => None,
            None => Some(self.serve),
        }
    }
}

/// A strong random admin token: 32 random bytes, URL-safe base64 (43 characters).
pub fn generate_admin_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Flags (and their environment variables) of `serve`.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (keys in snake_case).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_BIND")]
    pub bind: Option<String>,
    /// Redis URL (`redis://`, `rediss://`, `unix://`); without it the embedded, non-durable
    /// in-memory store is used.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// The admin bearer token (at least 32 characters; `switchboard token` prints one). Prefer the environment or the file:
    /// flags show in `ps`.
    #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Prefix of every Redis key [default: switchboard].
    #[arg(long, env = "SWITCHBOARD_KEY_PREFIX")]
    pub key_prefix: Option<String>,
    /// Longest wait for any one store call, in milliseconds [default: 2000].
    #[arg(long, env = "SWITCHBOARD_STORE_TIMEOUT_MS")]
    pub store_timeout_ms: Option<u64>,
    /// Seconds in-flight requests get to finish on SIGTERM/SIGINT [default: 30].
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_TIMEOUT_SECS")]
    pub shutdown_timeout_secs: Option<u64>,
    /// Seconds a client has to send a whole request body once its headers are in; a slower
    /// one gets 408 [default: 10].
    #[arg(long, env = "SWITCHBOARD_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Failed authentications allowed per client address, and per token prefix, in a
    /// minute; past it, 429 until the minute ends [default: 30].
    #[arg(long, env = "SWITCHBOARD_AUTH_FAILURES_PER_MINUTE")]
    pub auth_failures_per_minute: Option<u32>,
    /// Open connections served (websockets included); past it, each request of a new
    /// connection is answered 503 `server_busy` and the connection closed [default: 10000].
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// HTTP worker threads [default: one per CPU].
    #[arg(long, env = "SWITCHBOARD_WORKERS")]
    pub workers: Option<usize>,
    /// Threads running conversation actors, each with its own Redis connection [default:
    /// 1, the engine's own thread].
    #[arg(long, env = "SWITCHBOARD_ENGINE_THREADS")]
    pub engine_threads: Option<usize>,
    /// Log filter, e.g. `info` or `switchboard=debug,info` [default: info].
    #[arg(long, env = "SWITCHBOARD_LOG")]
    pub log: Option<String>,
    /// The public base URL providers call (e.g. `https://sms.example.com`), as configured in
    /// Twilio: webhook signatures are computed over it. Without it, the request's own
    /// scheme and host are used (right only when nothing rewrites them).
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Events the journal keeps for websocket resume [default: 100000].
    #[arg(long, env = "SWITCHBOARD_JOURNAL_CAP")]
    pub journal_cap: Option<usize>,
    /// The region (ISO 3166, e.g. `US`) phone numbers written without `+` and country code
    /// are read in; without it every number must be in E.164 form.
    #[arg(long, env = "SWITCHBOARD_DEFAULT_REGION")]
    pub default_region: Option<String>,
}

/// The TOML file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    bind: Option<String>,
    redis_url: Option<String>,
    admin_token: Option<String>,
    key_prefix: Option<String>,
    store_timeout_ms: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    auth_failures_per_minute: Option<u32>,
    max_connections: Option<usize>,
    workers: Option<usize>,
    engine_threads: Option<usize>,
    log: Option<String>,
    public_url: Option<String>,
    journal_cap: Option<usize>,
    default_region: Option<String>,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// The embedded in-memory store: nothing survives a restart.
    Memory,
    /// Redis at this URL.
    Redis {
        /// The URL.
        url: String,
    },
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// The store.
    pub store: StoreSettings,
    /// The admin token, when configured.
    pub admin_token: Option<String>,
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Bound on any one store call.
    pub store_timeout: Duration,
    /// Time in-flight requests get on shutdown.
    pub shutdown_timeout: Duration,
    /// Time a client has to send a request body (websocket sessions excepted).
    pub body_timeout: Duration,
    /// Failed authentications allowed per client address and per token prefix a minute.
    pub auth_failures_per_minute: u32,
    /// Open connections served; more get 503 `server_busy`.
    pub max_connections: usize,
    /// HTTP workers; `None` for one per CPU.
    pub workers: Option<usize>,
    /// Threads running conversation actors; `None` for one (the engine's own thread).
    pub engine_threads: Option<usize>,
    /// Log filter.
    pub log: String,
    /// Whether the server stops on SIGTERM/SIGINT itself (off in tests, which stop it).
    pub handle_signals: bool,
    /// Websocket timings (heartbeat, client timeout, send timeout).
    pub websocket: crate::live::SessionConfig,
    /// The public base URL providers call, without a trailing `/`.
    pub public_url: Option<String>,
    /// Events the journal keeps (how far back a websocket can resume).
    pub journal_cap: usize,
    /// The region national phone numbers are read in.
    pub default_region: Option<String>,
}

impl Settings {
    /// Settings for a server on `bind` with the memory store and defaults elsewhere.
    pub fn new(bind: impl Into<String>) -> Self {
        Self {
            bind: bind.into(),
            store: StoreSettings::Memory,
            admin_token: None,
            key_prefix: engine::store::keys::DEFAULT_PREFIX.to_owned(),
            store_timeout: Duration::from_millis(DEFAULT_STORE_TIMEOUT_MS),
            shutdown_timeout: Duration::from_secs(DEFAULT_SHUTDOWN_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS),
            auth_failures_per_minute: crate::auth_limit::DEFAULT_LIMIT,
            max_connections: crate::connections::DEFAULT_MAX_CONNECTIONS,
            workers: None,
            engine_threads: None,
            log: "info".to_owned(),
            handle_signals: true,
            websocket: crate::live::SessionConfig::default(),
            public_url: None,
            journal_cap: engine::store::JOURNAL_CAP,
            default_region: None,
        }
    }

    /// Layers file, environment and flags (clap has already put environment under flags).
    pub fn load(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let mut settings = Self::new(
            args.bind
                .or(file.bind)
                .unwrap_or_else(|| DEFAULT_BIND.to_owned()),
        );
        settings.store = match args.redis_url.or(file.redis_url).filter(|u| !u.is_empty()) {
            Some(url) => StoreSettings::Redis { url },
            None => StoreSettings::Memory,
        };
        settings.admin_token = args
            .admin_token
            .or(file.admin_token)
            .filter(|t| !t.is_empty());
        if let Some(prefix) = args.key_prefix.or(file.key_prefix) {
            settings.key_prefix = prefix;
        }
        if let Some(ms) = args.store_timeout_ms.or(file.store_timeout_ms) {
            settings.store_timeout = Duration::from_millis(ms);
        }
        if let Some(secs) = args.shutdown_timeout_secs.or(file.shutdown_timeout_secs) {
            settings.shutdown_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = args.body_timeout_secs.or(file.body_timeout_secs) {
            settings.body_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(limit) = args
            .auth_failures_per_minute
            .or(file.auth_failures_per_minute)
        {
            settings.auth_failures_per_minute = limit.max(1);
        }
        if let Some(limit) = args.max_connections.or(file.max_connections) {
            settings.max_connections = limit.max(1);
        }
        settings.workers = args.workers.or(file.workers);
        settings.engine_threads = args.engine_threads.or(file.engine_threads);
        if let Some(log) = args.log.or(file.log) {
            settings.log = log;
        }
        if let Some(cap) = args.journal_cap.or(file.journal_cap) {
            settings.journal_cap = cap;
        }
        settings.default_region = args
            .default_region
            .or(file.default_region)
            .filter(|r| !r.is_empty());
        settings.public_url = args
            .public_url
            .or(file.public_url)
            .filter(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/').to_owned());
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what a typo would otherwise turn into a confusing failure later.
    pub fn validate(&self) -> anyhow::Result<()> {
        engine::store::keys::validate_prefix(&self.key_prefix).map_err(anyhow::Error::msg)?;
        if self.store_timeout.is_zero() {
            bail!("store timeout must be at least 1 ms");
        }
        if self.workers == Some(0) {
            bail!("workers must be at least 1");
        }
        if self.engine_threads == Some(0) {
            bail!("engine threads must be at least 1");
        }
        if self.journal_cap < 100 {
            bail!("the journal must keep at least 100 events");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("public URL must start with https:// or http://, not {url:?}");
        }
        if let Some(region) = &self.default_region {
            engine::domain::phone_region(region).map_err(anyhow::Error::msg)?;
        }
        if let Some(token) = &self.admin_token
            && token.len() < MIN_ADMIN_TOKEN_LEN
        {
            bail!(
                "SWITCHBOARD_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters \
                 (`switchboard token` prints a strong one)"
            );
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> ServeArgs {
        Cli::try_parse_from(std::iter::once("switchboard").chain(list.iter().copied()))
            .expect("valid flags")
            .into_serve_args()
            .expect("serve flags")
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile_dir();
        let path = dir.join("switchboard.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0:9000\"\nkey_prefix = \"from-file\"\nstore_timeout_ms = 750\n",
        )
        .unwrap();
        let settings = Settings::load(args(&[
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--key-prefix",
            "from-flag",
        ]))
        .unwrap();
        assert_eq!(settings.bind, "0.0.0.0:9000");
        assert_eq!(settings.key_prefix, "from-flag");
        assert_eq!(settings.store_timeout, Duration::from_millis(750));
    }

    #[test]
    fn serve_is_the_default_command() {
        let settings = Settings::load(args(&["--bind", "127.0.0.1:0"])).unwrap();
        assert_eq!(settings.bind, "127.0.0.1:0");
    }

    #[test]
    fn file_with_unknown_key_is_refused() {
        let dir = tempfile_dir();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "bnid = \"x\"\n").unwrap();
        let err = Settings::load(args(&["--config", path.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("bnid"), "{err:#}");
    }

    #[test]
    fn short_admin_token_and_bad_prefix_are_refused() {
        assert!(Settings::load(args(&["--admin-token", "short"])).is_err());
        assert!(Settings::load(args(&["--key-prefix", "has space"])).is_err());
    }

    fn tempfile_dir() -> PathBuf {
        tempfile::tempdir().unwrap().keep()
    }
}
