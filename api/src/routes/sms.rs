//! `POST /v1/sms/segments`: what a text costs before it is sent — encoding, characters,
//! units and segments — so a desktop can show "2 segments" under the compose box.

use actix_web::{HttpResponse, web};
use engine::sms::segments::{Encoding, count};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;

/// A text to count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsRequest {
    /// The text, up to 10,000 characters.
    #[schema(max_length = 10000)]
    pub body: String,
}

/// What the text costs.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsView {
    /// `gsm7` or `ucs2`.
    #[schema(value_type = String, example = "gsm7")]
    pub encoding: Encoding,
    /// Characters (Unicode scalar values).
    pub characters: usize,
    /// Septets (GSM-7, the extension table counting 2) or UTF-16 code units (UCS-2, an emoji
    /// counting 2).
    pub units: usize,
    /// Segments billed (0 for an empty text).
    pub segments: usize,
    /// Units a segment holds at this length: 160 or 153 (GSM-7), 70 or 67 (UCS-2).
    pub units_per_segment: usize,
    /// The characters that made the text UCS-2, each once.
    pub non_gsm_characters: Vec<String>,
}

/// Counts a text's encoding and segments.
#[utoipa::path(post, path = "/v1/sms/segments", tag = "sms",
    request_body = SegmentsRequest,
    responses(
        (status = 200, description = "The text's cost", body = SegmentsView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn segments(
    _: Principal,
    body: ValidJson<SegmentsRequest>,
) -> Result<HttpResponse, ApiError> {
    let text = body.0.body;
    if text.chars().count() > 10_000 {
        return Err(engine::domain::ValidationError::invalid(
            "body",
            "must be at most 10000 characters",
        )
        .into());
    }
    let cost = count(&text);
    Ok(HttpResponse::Ok().json(SegmentsView {
        encoding: cost.encoding,
        characters: cost.characters,
        units: cost.units,
        segments: cost.segments,
        units_per_segment: cost.units_per_segment,
        non_gsm_characters: cost
            .non_gsm_characters
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}

/// Registers the route (inside `/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/segments")
            .route(web::post().to(segments))
            .default_service(method_not_allowed("POST")),
    );
}
