//! Switchboard's HTTP facade: REST configuration API, health probes, OpenAPI, and the
//! server start-up the `switchboard` binary runs.

pub mod auth;
pub mod auth_limit;
pub mod connections;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod live;
pub mod openapi;
pub mod pdf;
pub mod routes;
pub mod schema;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod visibility;

pub use settings::{Settings, StoreSettings};
pub use startup::{Application, Stopper};

/// The admin token to use: the configured one, or — only with the embedded store, where
/// nothing outlives the process anyway — a fresh random one (the bool says it was made).
/// With Redis a token must be configured: a generated one would change on every restart.
pub fn admin_token_or_generate(settings: &Settings) -> anyhow::Result<(String, bool)> {
    match (&settings.admin_token, &settings.store) {
        (Some(token), _) => Ok((token.clone(), false)),
        (None, StoreSettings::Memory) => Ok((settings::generate_admin_token(), true)),
        (None, StoreSettings::Redis { .. }) => anyhow::bail!(
            "SWITCHBOARD_ADMIN_TOKEN is required with REDIS_URL: set it (at least 32 characters; \
             `switchboard token` prints a strong one) in the environment, the config file, or \
             --admin-token"
        ),
    }
}
