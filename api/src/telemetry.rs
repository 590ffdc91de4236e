//! Logging and request metrics: structured `tracing` output to stderr, filtered by the `log`
//! setting, and the HTTP RED metrics (`switchboard_http_*`).
//!
//! Request lines name the matched route pattern (`/v1/queues/{id}`), never the concrete path
//! or query, so ids, phone numbers and tokens in URLs stay out of the logs.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Counts the request in the HTTP metrics: by route pattern (bounded: the patterns, and
/// `unmatched`), method and status class.
fn record(route: &str, method: &str, status: u16, elapsed: std::time::Duration) {
    let metrics = engine::metrics::metrics();
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    // Methods outside the standard set would be unbounded labels (and are refused anyway).
    let method = match method {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
        _ => "other",
    };
    metrics
        .http_requests
        .with_label_values(&[route, method, class])
        .inc();
    // A websocket's "request" lasts the whole session: it would drown the latencies.
    if status != 101 {
        metrics
            .http_request_duration
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }
}

/// Middleware logging one line per request (method, route pattern, status, latency) and
/// counting it in the HTTP metrics.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await?;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros() as u64;
    record(&route, method.as_str(), status, elapsed);
    if status >= 500 {
        tracing::warn!(%method, route, status, micros, "request");
    } else if route.starts_with("/healthz") || route.starts_with("/readyz") {
        tracing::debug!(%method, route, status, micros, "request");
    } else {
        tracing::info!(%method, route, status, micros, "request");
    }
    Ok(response)
}

/// Lets a repeated log line through at most once per window, saying how many were held back:
/// what an outside client can trigger at will must not be able to flood the log.
pub struct LogThrottle {
    window_secs: u64,
    /// The window (seconds since the epoch ÷ `window_secs`) last let through.
    last: std::sync::atomic::AtomicU64,
    /// Lines held back since.
    held: std::sync::atomic::AtomicU64,
}

impl LogThrottle {
    /// One line per `window_secs`.
    pub const fn new(window_secs: u64) -> Self {
        Self {
            window_secs,
            last: std::sync::atomic::AtomicU64::new(0),
            held: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when this one may be logged.
    pub fn allow(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let window = now / self.window_secs.max(1) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != window
            && self
                .last
                .compare_exchange(last, window, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::AcqRel));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod throttle_tests {
    #[test]
    fn one_line_per_window_then_the_count_held_back() {
        let throttle = super::LogThrottle::new(3600);
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.held.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}

/// A request body that must arrive whole by a deadline: a client trickling bytes (or none)
/// holds a worker's connection only so long, then gets `408 request_timeout`.
pub struct BodyDeadline<S> {
    inner: S,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl<S> BodyDeadline<S> {
    /// `inner`, to be read whole within `limit`.
    pub fn new(inner: S, limit: std::time::Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            expired: false,
        }
    }
}

impl<S> futures_util::Stream for BodyDeadline<S>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>>
        + Unpin,
{
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = std::pin::Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timeout"),
            ))));
        }
        Poll::Pending
    }
}

/// Middleware giving every request body (websocket upgrades excepted: their "body" is the
/// session) the configured time to arrive, see [`BodyDeadline`].
pub async fn body_deadline(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let headers = req.headers();
    let upgrade = headers
        .get(actix_web::http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    // A request announcing no body (most GETs) needs no timer.
    let bodiless = headers
        .get(actix_web::http::header::TRANSFER_ENCODING)
        .is_none()
        && headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .is_none_or(|v| v.as_bytes() == b"0");
    let upgrade = upgrade || bodiless;
    let limit = req
        .app_data::<actix_web::web::Data<BodyTimeout>>()
        .map(|t| t.0);
    if let (false, Some(limit)) = (upgrade, limit) {
        let payload = actix_web::HttpMessage::take_payload(&mut req);
        let timed: std::pin::Pin<
            Box<
                dyn futures_util::Stream<
                        Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
                    >,
            >,
        > = Box::pin(BodyDeadline::new(payload, limit));
        req.set_payload(actix_web::dev::Payload::Stream { payload: timed });
    }
    next.call(req).await
}

/// The body timeout, as app data for [`body_deadline`].
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);
