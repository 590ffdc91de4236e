//! Building and running the server: store, state, routes, listener.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use engine::runtime::{Engine, EngineConfig};
use engine::store::{AnyStore, MemoryStore, RedisStore, RedisStoreConfig, Store};
use utoipa_swagger_ui::SwaggerUi;

use crate::extract::MAX_JSON_BYTES;
use crate::routes;
use crate::settings::{Settings, StoreSettings};
use crate::state::AppState;

/// A built server, listening but not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    store: AnyStore,
    engine_system: actix::System,
    stopper: Stopper,
    handle_signals: bool,
}

/// Stops the server the way SIGTERM does: every websocket closes with 1001 at once, then the
/// server stops accepting and lets in-flight requests finish (within the shutdown timeout).
#[derive(Clone)]
pub struct Stopper {
    live: web::Data<crate::live::Live>,
    handle: ServerHandle,
}

impl Stopper {
    /// Stops gracefully and waits until the server has.
    pub async fn stop(&self) {
        self.live.stop_sessions();
        // A moment for the close frames to leave before connections are closed.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.handle.stop(true).await;
    }
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The store the settings ask for. The Redis store connects lazily: the server starts (and
/// says it is not ready) while Redis is still coming up.
pub fn open_store(settings: &Settings) -> anyhow::Result<AnyStore> {
    Ok(match &settings.store {
        StoreSettings::Memory => {
            AnyStore::Memory(MemoryStore::with_journal_cap(settings.journal_cap))
        }
        StoreSettings::Redis { url } => AnyStore::Redis(
            RedisStore::open(&RedisStoreConfig {
                url: url.clone(),
                key_prefix: settings.key_prefix.clone(),
                timeout: settings.store_timeout,
            })
            .context("opening the Redis store")?
            .with_journal_cap(settings.journal_cap),
        ),
    })
}

impl Application {
    /// Opens the store and binds the listener. `settings.admin_token` must be set (see
    /// [`crate::admin_token_or_generate`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let Some(admin_token) = settings.admin_token.clone() else {
            bail!("no admin token configured");
        };
        let store = open_store(&settings)?;
        match store.ping().await {
            Ok(()) => tracing::info!(store = store.backend(), "store reachable"),
            Err(e) => {
                tracing::warn!(store = store.backend(), error = %e, "store not reachable yet; /readyz answers 503 until it is")
            }
        }
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        // The routing engine runs on its own thread and actix system; HTTP workers call it.
        engine::domain::set_default_region(settings.default_region.as_deref())
            .map_err(anyhow::Error::msg)?;
        let engine_config = EngineConfig {
            outbox: engine::outbox::OutboxConfig {
                public_url: settings.public_url.clone(),
                ..engine::outbox::OutboxConfig::default()
            },
            // One by default: on the 2-core benchmark box more did not raise inbound
            // throughput and slowed the outbox under the whole lifecycle (BENCHMARKS.md).
            conversation_threads: settings.engine_threads.unwrap_or(1),
            ..EngineConfig::default()
        };
        let (engine, engine_system) = Engine::spawn(&store, engine_config)
            .await
            .context("starting the routing engine")?;
        // Live events: the journal followed on this runtime, with a connection of its own.
        let feed = engine::feed::EventFeed::start_with(
            store
                .reopen()
                .context("opening the event feed's store connection")?,
            // The directory says who works on each conversation, for desktops that follow
            // only their own work.
            engine::feed::AudienceResolver::new(engine::catalog::Catalog::new(store.clone()))
                .with_directory(engine.directory().clone()),
            engine::feed::FeedConfig {
                // The ring never reaches further back than the journal: resume promises the
                // journal's reach, no more and no less.
                ring: settings
                    .journal_cap
                    .min(engine::feed::FeedConfig::default().ring),
                ..engine::feed::FeedConfig::default()
            },
        )
        .await
        .context("starting the event feed")?;
        let live = web::Data::new(crate::live::Live::new(
            feed,
            engine.clone(),
            settings.websocket,
        ));
        let live_for_stop = live.clone();
        let mut shared = AppState::new(store.clone(), engine, &admin_token);
        shared.public_url = settings.public_url.clone();
        shared.failed_auth = std::sync::Arc::new(crate::auth_limit::FailedAuth::new(
            settings.auth_failures_per_minute,
        ));
        let state = web::Data::new(shared);
        let openapi = web::Data::new(crate::openapi::document());

        let body_timeout = settings.body_timeout;
        let connections = crate::connections::Connections::new(settings.max_connections);
        let workers = settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(live.clone())
                .app_data(web::PayloadConfig::new(MAX_JSON_BYTES))
                .app_data(web::Data::new(crate::telemetry::BodyTimeout(body_timeout)))
                .wrap(from_fn(crate::telemetry::body_deadline))
                .wrap(from_fn(crate::telemetry::log_requests))
                .wrap(from_fn(crate::connections::refuse_over_limit))
                .app_data(openapi.clone())
                .route(
                    "/openapi.json",
                    web::get().to(|doc: web::Data<serde_json::Value>| async move {
                        HttpResponse::Ok().json(doc.get_ref())
                    }),
                )
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .config(utoipa_swagger_ui::Config::from("/openapi.json")),
                )
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header(("Location", "/docs/"))
                            .finish()
                    }),
                )
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .on_connect(move |connection, data| connections.on_connect(connection, data))
        // Actix's own cap per worker, the hard stop: a margin above our limit, so that the
        // connections past the limit get their clear 503 (see `connections`).
        .max_connections(settings.max_connections.div_ceil(workers) + 256)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        // Websocket frames are small and each one matters now: without this, Nagle's
        // algorithm holds a frame until the client's delayed ACK (40 ms on Linux) comes back,
        // which the load generator measured as a 40 ms mode in offer → accept.
        .tcp_nodelay(true)
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        // Signals are handled here, not by actix: websockets must close before the server
        // waits for in-flight requests, or every open session holds shutdown for its timeout.
        server = server.disable_signals();
        tracing::info!(
            port,
            store = store.backend(),
            durable = store.is_durable(),
            "listening"
        );
        let server = server.run();
        let stopper = Stopper {
            live: live_for_stop,
            handle: server.handle(),
        };
        Ok(Self {
            port,
            server,
            store,
            engine_system,
            stopper,
            handle_signals: settings.handle_signals,
        })
    }

    /// The port the server listens on (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops the server as SIGTERM does (websockets closed with 1001 first).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until stopped (SIGTERM, SIGINT or [`ServerHandle::stop`]): stops accepting,
    /// lets in-flight requests finish, then closes the store.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.handle_signals {
            let stopper = self.stopper.clone();
            actix_web::rt::spawn(async move {
                shutdown_signal().await;
                tracing::info!(
                    "stopping: websocket sessions closed with 1001, in-flight requests finishing"
                );
                stopper.stop().await;
            });
        }
        let result = self.server.await;
        self.engine_system.stop();
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}
