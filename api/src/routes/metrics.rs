//! `GET /metrics`: the engine's metrics in Prometheus's text format, for scraping. Like the
//! health probes it needs no token (the metrics carry no personal data: labels are queue ids
//! and fixed names); keep the port private, as usual for a scrape endpoint.

use actix_web::HttpResponse;

/// The metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(engine::metrics::metrics().render())
}
