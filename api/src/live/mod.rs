//! The websocket, `GET /v1/ws`: live events for agent desktops and supervisors' tools,
//! filtered by what each caller may see, resumable after a dropped connection, with the
//! queues' live numbers (the beacon) pushed as they change. The protocol is documented in
//! `docs/websocket.md`.

pub mod beacon;
pub mod frame_guard;
pub mod frames;
pub mod session;

use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use engine::feed::EventFeed;
use serde::Deserialize;

pub use beacon::Beacon;
pub use session::SessionConfig;

use crate::auth::{Principal, bearer};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// What every session shares: the event feed, the beacon and the timings.
#[derive(Debug, Clone)]
pub struct Live {
    /// The journal, followed.
    pub feed: EventFeed,
    /// Queue stats pushes.
    pub beacon: Beacon,
    /// Session timings.
    pub config: SessionConfig,
    /// Turns true when the server stops: every session closes with 1001 at once, instead of
    /// holding shutdown for its whole timeout.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl Live {
    /// Tells every session the server is stopping (each closes with 1001).
    pub fn stop_sessions(&self) {
        self.stopping.send_replace(true);
    }

    /// Starts the feed's follower and the beacon on the current runtime.
    pub fn new(feed: EventFeed, engine: engine::runtime::Engine, config: SessionConfig) -> Self {
        let beacon = Beacon::start(feed.clone(), engine, Duration::from_millis(250));
        Self {
            feed,
            beacon,
            config,
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// The query of `GET /v1/ws`. Unknown parameters are ignored: browsers' websocket libraries
/// and proxies add their own (cache busters, transport hints), and refusing them would break
/// connections for nothing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The token, for clients that cannot set headers (browsers); `Authorization: Bearer`
    /// works too.
    pub token: Option<String>,
    /// Resume: replay every event after this id before going live (the same as sending a
    /// `resume` frame first).
    pub after: Option<u64>,
    /// What an agent's or supervisor's session follows: `team` (the default: everything its
    /// teams may see) or `own` (events naming it and the conversations it owns or is
    /// subscribed to, with the queues' numbers). The admin receives everything either way.
    pub follow: Option<protocol::vocabulary::Follow>,
}

/// The largest message a client may send (a frame, or a fragmented message as a whole).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Opens a websocket session. Frames, resume rules and close codes: `docs/websocket.md`.
#[utoipa::path(get, path = "/v1/ws", tag = "live",
    params(WsQuery),
    responses(
        (status = 101, description = "Switching to the websocket protocol"),
        (status = 400, description = "`invalid_query`, or `websocket_required`: not a websocket handshake", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid token in `token` or `Authorization`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: started without Redis, the server has not reached the event journal yet; retry", body = ErrorBody),
    ))]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    live: web::Data<Live>,
) -> Result<HttpResponse, ApiError> {
    // Read here rather than by an extractor, whose refusal would be plain text: a bad query
    // answers the API's JSON error like any other.
    let query: WsQuery = crate::extract::serde_urlencoded_from(req.query_string())?;
    // Cloned out first: the extensions must not stay borrowed across the await below.
    let authenticated = req.extensions().get::<Principal>().cloned();
    let (principal, token) = match authenticated {
        Some(principal) => (principal, bearer(&req).unwrap_or_default()),
        None => {
            let token = query.token.clone().ok_or_else(ApiError::unauthorized)?;
            let client = crate::auth::client_address(&req);
            (
                crate::auth::resolve_limited(&state, client.as_deref(), &token).await?,
                token,
            )
        }
    };
    if !live.feed.is_started() {
        // Started without Redis, the feed does not know where the journal ends yet: a
        // session could not say what "from now" is.
        return Err(ApiError::new(
            crate::error::ErrorCode::StoreUnavailable,
            "the event journal is not reachable yet; retry shortly",
        ));
    }
    // Oversized messages are refused from their frame headers, before they are buffered.
    let oversized = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guarded =
        frame_guard::FrameGuard::new(body.into_inner(), MAX_MESSAGE_BYTES, oversized.clone());
    let boxed: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>>,
    > = Box::pin(guarded);
    let mut raw = actix_web::dev::Payload::Stream { payload: boxed };
    let body = <web::Payload as actix_web::FromRequest>::from_request(&req, &mut raw)
        .await
        .map_err(ApiError::internal)?;
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::new(
            crate::error::ErrorCode::WebsocketRequired,
            format!("{e}: connect with a websocket client"),
        )
    })?;
    // Frames are small JSON; a client sending more than 64 KiB at once is broken. Fragmented
    // messages are put together (up to the same limit) rather than ignored.
    let stream = stream
        .max_frame_size(MAX_MESSAGE_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES);
    tracing::info!(role = principal.role(), "websocket session opened");
    let task = session::SessionTask::new(
        live.get_ref().clone(),
        state.get_ref().clone(),
        session,
        session::Caller {
            principal,
            token,
            follow: query.follow.unwrap_or_default(),
        },
        oversized,
    )
    .with_socket(
        req.conn_data::<crate::connections::ConnectionRecord>()
            .and_then(|record| record.socket()),
    );
    actix_web::rt::spawn(task.run(stream, query.after));
    Ok(response)
}

/// Registers the route (inside `/ws`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("")
            .route(web::get().to(connect))
            .default_service(crate::routes::crud::method_not_allowed("GET")),
    );
}

/// The websocket metrics.
mod metrics {
    pub fn sessions() -> &'static prometheus::IntGauge {
        &engine::metrics::metrics().ws_sessions
    }

    pub fn dropped(reason: &str) {
        debug_assert!(
            engine::metrics::WS_DROP_REASONS.contains(&reason),
            "{reason} is missing from WS_DROP_REASONS"
        );
        engine::metrics::metrics()
            .ws_dropped
            .with_label_values(&[reason])
            .inc();
    }
}
