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
