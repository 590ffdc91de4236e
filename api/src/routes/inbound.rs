//! `POST /v1/inbound`: a customer's message from any SMS provider, as JSON (the Twilio webhook
//! has its own route). Answered only once the message is durable.

use actix_web::{HttpResponse, web};
use engine::domain::PhoneNumber;
use engine::runtime::InboundMessage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::state::AppState;

/// The longest message body accepted: Twilio's, as on every route.
pub const MAX_BODY_CHARS: usize = engine::sms::MAX_MESSAGE_CHARS;

/// A customer's message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "+15550001111", "to": "+15550102000", "body": "Is my order shipped?", "provider_message_id": "SM0123456789"}))]
pub struct InboundRequest {
    /// The customer's number.
    #[schema(value_type = crate::schema::PhoneText)]
    pub from: String,
    /// The business number texted; must be configured.
    #[schema(value_type = crate::schema::PhoneText)]
    pub to: String,
    /// The text. May be empty (an MMS whose media failed, say): a provider's message is
    /// stored whatever it holds rather than refused and retried forever.
    #[schema(max_length = 1600)]
    pub body: String,
    /// Media attached (MMS).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub media_urls: Vec<String>,
    /// The provider's id for the message: a retry with the same id is acknowledged and
    /// dropped.
    #[schema(min_length = 1, max_length = 128)]
    pub provider_message_id: Option<String>,
    /// The conversation's own priority within its queue, 0 to 100: it opens with it, or an
    /// open one takes it (higher goes ahead of conversations that waited longer).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub priority: Option<i64>,
}

/// The acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundResponse {
    /// The conversation the message joined or opened.
    #[schema(value_type = String)]
    pub conversation_id: String,
    /// Whether this repeated a provider message id already stored (and was dropped).
    pub duplicate: bool,
}

/// Stores a customer's message and routes its conversation.
#[utoipa::path(post, path = "/v1/inbound", tag = "messages",
    request_body = InboundRequest,
    responses(
        (status = 200, description = "Stored (or a duplicate of a stored message)", body = InboundResponse),
        (status = 400, description = "Bad input", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "`unknown_number`: no business number is `to`", body = crate::error::ErrorBody),
        (status = 503, description = "`store_unavailable`: not stored, retry", body = crate::error::ErrorBody),
    ))]
pub async fn inbound(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<InboundRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let from = PhoneNumber::parse("from", &request.from)?;
    let to = PhoneNumber::parse("to", &request.to)?;
    if request.body.chars().count() > MAX_BODY_CHARS {
        return Err(engine::domain::ValidationError::invalid(
            "body",
            format!("must be at most {MAX_BODY_CHARS} characters"),
        )
        .into());
    }
    if request.media_urls.len() > 10 {
        return Err(engine::domain::ValidationError::invalid(
            "media_urls",
            "must list at most 10 URLs",
        )
        .into());
    }
    if let Some(id) = &request.provider_message_id
        && (id.is_empty() || id.len() > 128)
    {
        return Err(engine::domain::ValidationError::invalid(
            "provider_message_id",
            "must be 1 to 128 characters",
        )
        .into());
    }
    let priority = request
        .priority
        .map(|p| engine::domain::Priority::new(p).map(|p| p.get()))
        .transpose()?;
    // The engine stores it and applies STOP/START/HELP, as for every inbound path.
    let ack = state
        .engine
        .inbound(InboundMessage {
            from,
            to,
            body: request.body,
            media_urls: request.media_urls,
            provider_message_id: request.provider_message_id,
            priority,
        })
        .await?;
    tracing::info!(conversation_id = %ack.conversation_id, duplicate = ack.duplicate, "inbound message stored");
    Ok(HttpResponse::Ok().json(InboundResponse {
        conversation_id: ack.conversation_id.to_string(),
        duplicate: ack.duplicate,
    }))
}

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("")
            .route(web::post().to(inbound))
            .default_service(super::crud::method_not_allowed("POST")),
    );
}
