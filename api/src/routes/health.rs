//! `/healthz` (the process is up) and `/readyz` (the store answers), for load balancers,
//! orchestrators and the Docker `HEALTHCHECK`.

use actix_web::{HttpResponse, web};
use engine::store::Store;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The answer of a health probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
    /// The store backend, `redis` or `memory`.
    pub store: &'static str,
    /// `complete`, or `loading` just after a restart while closed conversations load in
    /// the background (routing is back already; lists of closed conversations answer
    /// `directory_loading` until then).
    pub directory: &'static str,
}

fn directory_state(state: &AppState) -> &'static str {
    if state.engine.directory().is_complete() {
        "complete"
    } else {
        "loading"
    }
}

/// Answers while the process serves HTTP, whatever the store does.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        store: state.store().backend(),
        directory: directory_state(&state),
    })
}

/// Answers 200 when the store answers a ping within the store timeout, 503 otherwise; it
/// follows the store without a restart.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "The store answers", body = Health),
        (status = 503, description = "The store cannot be reached", body = crate::error::ErrorBody),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store();
    match store.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(Health {
            status: "ready",
            store: store.backend(),
            directory: directory_state(&state),
        })),
        Err(e) => Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            format!("the {} store is not reachable", store.backend()),
        )
        .with_details(json!({"store": store.backend(), "reason": e.to_string()}))),
    }
}
