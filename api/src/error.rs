//! The API's one error type: a stable `code`, the HTTP status it maps to (one table, below),
//! and the JSON body every error response carries: `{"code", "message", "details"}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use engine::catalog::CatalogError;
use engine::domain::ValidationError;
use engine::store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Every error code the API answers with. The codes are part of the public contract: clients
/// branch on them, so a code is never renamed or reused for another meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No credentials, or credentials nobody issued.
    Unauthorized,
    /// Valid credentials without the role the route needs.
    Forbidden,
    /// No such resource (or route).
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The body is not JSON.
    MalformedJson,
    /// The body holds a field the resource does not have.
    UnknownField,
    /// The body lacks a required field.
    MissingField,
    /// A field has the wrong JSON type.
    InvalidType,
    /// A field's value breaks its rules.
    InvalidValue,
    /// A field is not a phone number in E.164 form.
    InvalidPhoneNumber,
    /// A query parameter is unknown or malformed.
    InvalidQuery,
    /// A list cursor was not one this API issued.
    InvalidCursor,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than the route accepts.
    PayloadTooLarge,
    /// No business number is configured for the `to` of an inbound message.
    UnknownNumber,
    /// A provider reported on a text Switchboard did not send.
    UnknownMessage,
    /// An outbound start names no number or campaign, and the agent has no default campaign.
    SendingNumberRequired,
    /// A CSV upload that cannot be read.
    MalformedCsv,
    /// A campaign with no numbers was asked to send.
    CampaignWithoutNumbers,
    /// A bulk send that is cancelled or done was asked to change.
    SendFinished,
    /// A well-formed field that does not apply to the resource as it stands.
    FieldNotApplicable,
    /// The conversation refused the command in its current state.
    ConversationConflict,
    /// The offer was answered, expired or rescinded already, or is another agent's.
    StaleOffer,
    /// Completing needs a disposition first.
    DispositionRequired,
    /// A snooze time that is not in the future.
    SnoozeInPast,
    /// A transfer's target agent can never take this conversation (its owner, or outside
    /// the queue's team).
    InvalidTransferTarget,
    /// A transfer's target agent cannot take a conversation now (offline, away, full).
    AgentUnavailable,
    /// A resource with that id exists already.
    AlreadyExists,
    /// Another resource already holds a value that must be unique.
    ValueTaken,
    /// A referenced resource does not exist.
    ReferenceNotFound,
    /// The resource is still referenced and cannot be deleted.
    ResourceInUse,
    /// Concurrent changes kept colliding; retry.
    ConcurrentUpdate,
    /// `GET /v1/ws` without a websocket handshake.
    WebsocketRequired,
    /// A template placeholder has no value for this conversation.
    TemplatePlaceholderMissing,
    /// An `Idempotency-Key` was used before for a different request.
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still being handled.
    IdempotencyInProgress,
    /// A provider webhook's signature does not match its account's credentials.
    InvalidSignature,
    /// The customer opted out (STOP) of this number's texts.
    RecipientOptedOut,
    /// The request body did not arrive within the body timeout.
    RequestTimeout,
    /// Too many failed authentications from this client or for this token; retry after
    /// `Retry-After` seconds.
    TooManyAttempts,
    /// The server has as many connections as it serves; retry after `Retry-After`.
    ServerBusy,
    /// The store cannot be reached.
    StoreUnavailable,
    /// After a restart, closed conversations are still loading; retry after `Retry-After`.
    DirectoryLoading,
    /// A bug; the message says nothing more on purpose.
    InternalError,
}

impl ErrorCode {
    /// Every code, for documentation and the test that pins them.
    pub const ALL: [ErrorCode; 44] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::MalformedJson,
        Self::UnknownField,
        Self::MissingField,
        Self::InvalidType,
        Self::InvalidValue,
        Self::InvalidPhoneNumber,
        Self::InvalidQuery,
        Self::InvalidCursor,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::UnknownNumber,
        Self::UnknownMessage,
        Self::SendingNumberRequired,
        Self::MalformedCsv,
        Self::CampaignWithoutNumbers,
        Self::SendFinished,
        Self::FieldNotApplicable,
        Self::ConversationConflict,
        Self::StaleOffer,
        Self::DispositionRequired,
        Self::SnoozeInPast,
        Self::InvalidTransferTarget,
        Self::AgentUnavailable,
        Self::AlreadyExists,
        Self::ValueTaken,
        Self::ReferenceNotFound,
        Self::ResourceInUse,
        Self::ConcurrentUpdate,
        Self::WebsocketRequired,
        Self::TemplatePlaceholderMissing,
        Self::IdempotencyKeyReused,
        Self::IdempotencyInProgress,
        Self::InvalidSignature,
        Self::RecipientOptedOut,
        Self::RequestTimeout,
        Self::TooManyAttempts,
        Self::ServerBusy,
        Self::StoreUnavailable,
        Self::DirectoryLoading,
        Self::InternalError,
    ];

    /// The code and its HTTP status: the one table.
    pub fn describe(self) -> (&'static str, StatusCode) {
        match self {
            Self::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            Self::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            Self::NotFound => ("not_found", StatusCode::NOT_FOUND),
            Self::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            Self::MalformedJson => ("malformed_json", StatusCode::BAD_REQUEST),
            Self::UnknownField => ("unknown_field", StatusCode::BAD_REQUEST),
            Self::MissingField => ("missing_field", StatusCode::BAD_REQUEST),
            Self::InvalidType => ("invalid_type", StatusCode::BAD_REQUEST),
            Self::InvalidValue => ("invalid_value", StatusCode::BAD_REQUEST),
            Self::InvalidPhoneNumber => ("invalid_phone_number", StatusCode::BAD_REQUEST),
            Self::InvalidQuery => ("invalid_query", StatusCode::BAD_REQUEST),
            Self::InvalidCursor => ("invalid_cursor", StatusCode::BAD_REQUEST),
            Self::UnsupportedMediaType => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            Self::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            Self::UnknownNumber => ("unknown_number", StatusCode::NOT_FOUND),
            Self::UnknownMessage => ("unknown_message", StatusCode::NOT_FOUND),
            Self::SendingNumberRequired => {
                ("sending_number_required", StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::CampaignWithoutNumbers => {
                ("campaign_without_numbers", StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::SendFinished => ("send_finished", StatusCode::CONFLICT),
            Self::MalformedCsv => ("malformed_csv", StatusCode::BAD_REQUEST),
            Self::FieldNotApplicable => ("field_not_applicable", StatusCode::UNPROCESSABLE_ENTITY),
            Self::ConversationConflict => ("conversation_conflict", StatusCode::CONFLICT),
            Self::StaleOffer => ("stale_offer", StatusCode::CONFLICT),
            Self::DispositionRequired => ("disposition_required", StatusCode::CONFLICT),
            Self::SnoozeInPast => ("snooze_in_past", StatusCode::UNPROCESSABLE_ENTITY),
            Self::InvalidTransferTarget => {
                ("invalid_transfer_target", StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::AgentUnavailable => ("agent_unavailable", StatusCode::CONFLICT),
            Self::AlreadyExists => ("already_exists", StatusCode::CONFLICT),
            Self::ValueTaken => ("value_taken", StatusCode::CONFLICT),
            Self::ReferenceNotFound => ("reference_not_found", StatusCode::CONFLICT),
            Self::ResourceInUse => ("resource_in_use", StatusCode::CONFLICT),
            Self::ConcurrentUpdate => ("concurrent_update", StatusCode::CONFLICT),
            Self::WebsocketRequired => ("websocket_required", StatusCode::BAD_REQUEST),
            Self::TemplatePlaceholderMissing => (
                "template_placeholder_missing",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Self::IdempotencyKeyReused => {
                ("idempotency_key_reused", StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::IdempotencyInProgress => ("idempotency_in_progress", StatusCode::CONFLICT),
            Self::InvalidSignature => ("invalid_signature", StatusCode::FORBIDDEN),
            Self::RecipientOptedOut => ("recipient_opted_out", StatusCode::CONFLICT),
            Self::ServerBusy => ("server_busy", StatusCode::SERVICE_UNAVAILABLE),
            Self::StoreUnavailable => ("store_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            Self::DirectoryLoading => ("directory_loading", StatusCode::SERVICE_UNAVAILABLE),
            Self::RequestTimeout => ("request_timeout", StatusCode::REQUEST_TIMEOUT),
            Self::TooManyAttempts => ("too_many_attempts", StatusCode::TOO_MANY_REQUESTS),
            Self::InternalError => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        self.describe().0
    }

    /// The HTTP status it answers with.
    pub fn status(self) -> StatusCode {
        self.describe().1
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "invalid_value", "message": "offer_timeout_secs: must be between 1 and 3600", "details": {"field": "offer_timeout_secs"}}))]
pub struct ErrorBody {
    /// Stable, snake_case; clients branch on it.
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// Structured facts about the error (the field, the conflicting resources, ...).
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Which error.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// Structured facts; an empty object when there are none.
    pub details: Value,
}

impl ApiError {
    /// An error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// The same error with details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// 401 for a missing or unknown token.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "a valid bearer token is required")
    }

    /// 403 for a role that may not use the route.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404 for a resource.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{kind} {id} not found"))
            .with_details(json!({"kind": kind, "id": id}))
    }

    /// 500 for a bug: logged in full, answered in general terms.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        tracing::error!(error = %context, "internal error");
        Self::new(ErrorCode::InternalError, "internal error")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if self.code == ErrorCode::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if matches!(
            self.code,
            ErrorCode::DirectoryLoading | ErrorCode::ServerBusy
        ) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        if self.code == ErrorCode::TooManyAttempts {
            let wait = self.details["retry_after_secs"].as_u64().unwrap_or(60);
            response.insert_header((header::RETRY_AFTER, wait.to_string()));
        }
        response.json(body)
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        let code = match err {
            ValidationError::InvalidValue { .. } => ErrorCode::InvalidValue,
            ValidationError::InvalidPhoneNumber { .. } => ErrorCode::InvalidPhoneNumber,
            ValidationError::NotApplicable { .. } => ErrorCode::FieldNotApplicable,
        };
        let field = err.field().to_owned();
        Self::new(code, err.to_string()).with_details(json!({"field": field}))
    }
}

impl From<engine::runtime::EngineError> for ApiError {
    fn from(err: engine::runtime::EngineError) -> Self {
        use engine::runtime::EngineError;
        let message = err.to_string();
        match err {
            EngineError::UnknownNumber(number) => Self::new(ErrorCode::UnknownNumber, message)
                .with_details(json!({"field": "to", "number": number})),
            EngineError::NotFound { kind, id } => Self::not_found(kind, &id),
            // Another agent's offer answers exactly as one that never existed: nobody learns
            // from a refusal that an offer id is real.
            EngineError::NotYourOffer(offer)
            | EngineError::StaleOffer(offer, engine::routing::protocol::StaleReason::NotYours) => {
                let unknown = EngineError::StaleOffer(
                    offer.clone(),
                    engine::routing::protocol::StaleReason::Unknown,
                );
                Self::new(ErrorCode::StaleOffer, unknown.to_string())
                    .with_details(json!({"offer_id": offer, "reason": "unknown"}))
            }
            EngineError::StaleOffer(offer, reason) => Self::new(ErrorCode::StaleOffer, message)
                .with_details(json!({"offer_id": offer, "reason": reason.as_str()})),
            EngineError::Conversation(engine::conversation::ConversationError::SnoozeInPast) => {
                Self::new(ErrorCode::SnoozeInPast, message).with_details(json!({"field": "until"}))
            }
            EngineError::Conversation(engine::conversation::ConversationError::TransferToSelf) => {
                Self::new(ErrorCode::InvalidTransferTarget, message)
                    .with_details(json!({"field": "agent_id", "reason": "owner"}))
            }
            EngineError::InvalidTransferTarget { agent, reason } => {
                Self::new(ErrorCode::InvalidTransferTarget, message).with_details(
                    json!({"field": "agent_id", "agent_id": agent, "reason": reason.as_str()}),
                )
            }
            EngineError::AgentUnavailable { agent, reason } => {
                Self::new(ErrorCode::AgentUnavailable, message)
                    .with_details(json!({"agent_id": agent, "reason": reason.as_str()}))
            }
            EngineError::Conversation(
                engine::conversation::ConversationError::DispositionRequired,
            ) => Self::new(ErrorCode::DispositionRequired, message),
            EngineError::Conversation(engine::conversation::ConversationError::NotOwner(_)) => {
                Self::forbidden(message)
            }
            EngineError::Conversation(_) | EngineError::Agent(_) => {
                Self::new(ErrorCode::ConversationConflict, message)
            }
            EngineError::AlreadyOpen(id) => Self::new(ErrorCode::ConversationConflict, message)
                .with_details(json!({"conversation_id": id})),
            EngineError::RecipientOptedOut(number) => {
                Self::new(ErrorCode::RecipientOptedOut, message)
                    .with_details(json!({"number_id": number}))
            }
            EngineError::Catalog(e) => e.into(),
            EngineError::Store(e) => e.into(),
            EngineError::SendingNumberRequired => {
                Self::new(ErrorCode::SendingNumberRequired, message)
                    .with_details(json!({"field": "number"}))
            }
            EngineError::CampaignWithoutNumbers(campaign) => {
                Self::new(ErrorCode::CampaignWithoutNumbers, message)
                    .with_details(json!({"campaign_id": campaign}))
            }
            EngineError::SendFinished { send, state } => {
                Self::new(ErrorCode::SendFinished, message)
                    .with_details(json!({"send_id": send, "state": state}))
            }
            EngineError::Stopped => Self::new(
                ErrorCode::StoreUnavailable,
                "the routing engine is stopping",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "store unavailable");
            Self::new(
                ErrorCode::StoreUnavailable,
                "the store cannot be reached; retry shortly",
            )
        } else {
            Self::internal(err)
        }
    }
}

fn refs_json(refs: &[engine::store::ResourceRef]) -> Value {
    refs.iter()
        .map(|r| json!({"kind": r.kind.as_str(), "id": r.id}))
        .collect()
}

impl From<CatalogError> for ApiError {
    fn from(err: CatalogError) -> Self {
        let message = err.to_string();
        match err {
            CatalogError::Validation(v) => v.into(),
            CatalogError::NotFound { kind, id } => Self::not_found(kind.as_str(), &id),
            CatalogError::AlreadyExists { kind, id } => {
                Self::new(ErrorCode::AlreadyExists, message)
                    .with_details(json!({"kind": kind.as_str(), "id": id}))
            }
            CatalogError::UniqueTaken {
                kind,
                field,
                value,
                holder,
            } => Self::new(ErrorCode::ValueTaken, message).with_details(
                json!({"kind": kind.as_str(), "field": field, "value": value, "held_by": holder}),
            ),
            CatalogError::MissingReference(r) => Self::new(ErrorCode::ReferenceNotFound, message)
                .with_details(json!({"reference": {"kind": r.kind.as_str(), "id": r.id}})),
            CatalogError::InUse { target, users } => Self::new(ErrorCode::ResourceInUse, message)
                .with_details(json!({
                    "kind": target.kind.as_str(),
                    "id": target.id,
                    "referenced_by": refs_json(&users),
                })),
            CatalogError::Contended(r) => Self::new(ErrorCode::ConcurrentUpdate, message)
                .with_details(json!({"kind": r.kind.as_str(), "id": r.id})),
            CatalogError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(err: ApiError) -> (u16, Value) {
        let response = err.error_response();
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body()).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    /// Pins every code's wire form and status: changing one breaks clients, so it must break
    /// this test first.
    #[actix_rt::test]
    async fn error_codes_have_stable_json_and_status() {
        let expected = [
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("method_not_allowed", 405),
            ("malformed_json", 400),
            ("unknown_field", 400),
            ("missing_field", 400),
            ("invalid_type", 400),
            ("invalid_value", 400),
            ("invalid_phone_number", 400),
            ("invalid_query", 400),
            ("invalid_cursor", 400),
            ("unsupported_media_type", 415),
            ("payload_too_large", 413),
            ("unknown_number", 404),
            ("unknown_message", 404),
            ("sending_number_required", 422),
            ("malformed_csv", 400),
            ("campaign_without_numbers", 422),
            ("send_finished", 409),
            ("field_not_applicable", 422),
            ("conversation_conflict", 409),
            ("stale_offer", 409),
            ("disposition_required", 409),
            ("snooze_in_past", 422),
            ("invalid_transfer_target", 422),
            ("agent_unavailable", 409),
            ("already_exists", 409),
            ("value_taken", 409),
            ("reference_not_found", 409),
            ("resource_in_use", 409),
            ("concurrent_update", 409),
            ("websocket_required", 400),
            ("template_placeholder_missing", 422),
            ("idempotency_key_reused", 422),
            ("idempotency_in_progress", 409),
            ("invalid_signature", 403),
            ("recipient_opted_out", 409),
            ("request_timeout", 408),
            ("too_many_attempts", 429),
            ("server_busy", 503),
            ("store_unavailable", 503),
            ("directory_loading", 503),
            ("internal_error", 500),
        ];
        assert_eq!(ErrorCode::ALL.len(), expected.len());
        for (code, (name, status)) in ErrorCode::ALL.into_iter().zip(expected) {
            let (got_status, body) =
                body_of(ApiError::new(code, "m").with_details(json!({"k": 1}))).await;
            assert_eq!(got_status, status, "{name}");
            assert_eq!(
                body,
                json!({"code": name, "message": "m", "details": {"k": 1}}),
                "{name}"
            );
        }
    }

    #[actix_rt::test]
    async fn unauthorized_asks_for_a_bearer_token() {
        let response = ApiError::unauthorized().error_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }

    #[actix_rt::test]
    async fn resource_in_use_names_every_reference() {
        use engine::store::{ResourceKind, ResourceRef};
        let err = CatalogError::InUse {
            target: ResourceRef::new(ResourceKind::Team, "tm_1"),
            users: vec![
                ResourceRef::new(ResourceKind::Queue, "q_1"),
                ResourceRef::new(ResourceKind::Agent, "ag_1"),
            ],
        };
        let (status, body) = body_of(err.into()).await;
        assert_eq!(status, 409);
        assert_eq!(body["code"], "resource_in_use");
        assert_eq!(
            body["details"]["referenced_by"],
            json!([{"kind": "queue", "id": "q_1"}, {"kind": "agent", "id": "ag_1"}])
        );
    }

    #[actix_rt::test]
    async fn store_outage_is_503_without_internals() {
        let (status, body) = body_of(StoreError::Timeout(500).into()).await;
        assert_eq!(status, 503);
        assert_eq!(body["code"], "store_unavailable");
    }
}
