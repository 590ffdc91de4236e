//! The `switchboard` binary: parse settings, set up logging, build and run the server.

use api::settings::{Cli, Settings};
use api::{Application, StoreSettings, admin_token_or_generate, telemetry};
use clap::Parser;

/// mimalloc instead of the system allocator: under load glibc's malloc and free (with its
/// arena consolidation) took about a fifth of the server's CPU (`perf`, issue 12).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let Some(args) = Cli::parse().into_serve_args() else {
        // `switchboard token`: a secret for the operator's eyes, printed, never logged.
        println!("{}", api::settings::generate_admin_token());
        return Ok(());
    };
    let mut settings = Settings::load(args)?;
    telemetry::init(&settings.log);

    let (admin_token, generated) = admin_token_or_generate(&settings)?;
    if generated {
        // Printed, not logged: it is a secret, shown once to the person who started the server.
        println!(
            "\nNo SWITCHBOARD_ADMIN_TOKEN given: generated one for this run only.\n\n    \
             export SWITCHBOARD_ADMIN_TOKEN={admin_token}\n"
        );
    }
    settings.admin_token = Some(admin_token);
    // Each connection holds two descriptors (see `connections`): take what the system allows.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    if settings.store == StoreSettings::Memory {
        tracing::warn!(
            "using the embedded in-memory store: NOT durable, everything is lost on restart; \
             set REDIS_URL for production"
        );
    }
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
