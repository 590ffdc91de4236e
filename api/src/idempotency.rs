//! `Idempotency-Key` on POST: a retried request with the same key gets the first answer,
//! status and body, without doing anything twice — a double click or a retry after a lost
//! response never double-sends or double-assigns.
//!
//! A key belongs to its caller (the admin, or an agent) and is kept 24 hours. The first
//! request claims it (a lease of a minute, so a crash mid-request frees it); a second request
//! arriving while the first runs gets 409 `idempotency_in_progress`; the same key with another
//! method, path or body is 422 `idempotency_key_reused`.
//!
//! Only a request that ran is saved (Stripe's rule): a 2xx answer is kept; a refusal (every
//! 4xx: bad input, a missing reference, a state that did not allow it — none of which changed
//! anything) and a failure worth retrying (5xx, such as the store being down) release the key,
//! so that a corrected retry with the same key runs anew.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use engine::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The header.
pub const HEADER: &str = "idempotency-key";
/// How long a claim holds without an answer.
const LEASE_MS: u64 = 60_000;
/// How long an answer is kept.
const KEEP_SECS: u64 = 24 * 3600;
/// The longest key.
const MAX_KEY_LEN: usize = 255;

/// What is stored under a key.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// SHA-256 of method, path and body: the same key must come with the same request.
    fingerprint: String,
    /// The first answer; absent while the first request runs.
    answer: Option<Answer>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    body: String,
}

fn bad_key(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidValue, message.to_owned())
        .with_details(json!({"field": "Idempotency-Key"}))
}

/// Middleware for the `/v1` scope (after authentication).
pub async fn idempotent(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_key("Idempotency-Key must be 1 to 255 visible ASCII characters").into());
    }
    // Without valid credentials the request fails anyway, and must not claim keys.
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))?;

    // A bulk send's upload is larger than any other body: the same limit as its handler's.
    let limit = crate::extract::body_limit(req.path());
    let body = crate::extract::read_body_within(&mut req.take_payload(), limit).await?;
    req.set_payload(actix_web::dev::Payload::from(body.clone().freeze()));
    let caller = match &principal {
        Principal::Admin => "admin".to_owned(),
        Principal::Agent(owner) => format!("agent:{}", owner.agent.id),
    };
    let scope = hex::encode(Sha256::digest(format!("{caller}\n{key}")));
    let mut fingerprint = Sha256::new();
    fingerprint.update(req.method().as_str());
    fingerprint.update(b"\n");
    fingerprint.update(req.path());
    fingerprint.update(b"\n");
    fingerprint.update(&body);
    let fingerprint = hex::encode(fingerprint.finalize());

    let pending = serde_json::to_string(&Record {
        fingerprint: fingerprint.clone(),
        answer: None,
    })
    .expect("records serialise");
    let store = state.store();
    if let Some(existing) = store
        .idempotency_begin(&scope, &pending, LEASE_MS)
        .await
        .map_err(ApiError::from)?
    {
        let record: Record = serde_json::from_str(&existing)
            .map_err(|e| ApiError::internal(format!("idempotency record unreadable: {e}")))?;
        if record.fingerprint != fingerprint {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            )
            .into());
        }
        return match record.answer {
            Some(answer) => Ok(req.into_response(replay(answer))),
            None => Err(ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "a request with this Idempotency-Key is still being handled; retry shortly",
            )
            .into()),
        };
    }

    let response = next.call(req).await;
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            let _ = store.idempotency_release(&scope).await;
            return Err(e);
        }
    };
    let (request, response) = response.into_parts();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body())
        .await
        .map_err(|_| ApiError::internal("response body unreadable"))?;
    let text = String::from_utf8(bytes.to_vec()).ok();
    match text {
        Some(body) if status.is_success() => {
            let header = |name: HeaderName| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let record = Record {
                fingerprint,
                answer: Some(Answer {
                    status: status.as_u16(),
                    content_type: header(CONTENT_TYPE),
                    location: header(LOCATION),
                    body,
                }),
            };
            let stored = serde_json::to_string(&record).expect("records serialise");
            if let Err(e) = store.idempotency_finish(&scope, &stored, KEEP_SECS).await {
                // The action happened but its answer could not be kept: a retry after the
                // lease lapses would run it again. Rare (the store failed between two calls)
                // and loud.
                tracing::warn!(error = %e, "idempotency answer not stored");
            }
        }
        _ => {
            let _ = store.idempotency_release(&scope).await;
        }
    }
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in &headers {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    Ok(ServiceResponse::new(request, rebuilt.body(bytes)))
}

fn replay(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Some(content_type) = answer.content_type {
        response.insert_header((CONTENT_TYPE, content_type));
    }
    if let Some(location) = answer.location {
        response.insert_header((LOCATION, location));
    }
    response.insert_header((
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    ));
    response.body(answer.body)
}
