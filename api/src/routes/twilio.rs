//! Twilio's webhooks. `POST /webhooks/twilio/sms`: customer texts (SMS and MMS) as Twilio
//! delivers them —
//! form-encoded, signed with `X-Twilio-Signature` by the auth token of the account that owns
//! the `To` number, answered with empty TwiML once the message is durable. Twilio retries a
//! webhook it got no answer for; a retry repeats the `MessageSid`, which the store refuses
//! as a duplicate, and is acknowledged the same. `POST /webhooks/twilio/status`: Twilio's
//! reports on texts Switchboard sent, signed by the account of the `From` number; statuses
//! only move forward, so out-of-order callbacks change nothing.

use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use engine::domain::{Number, PhoneNumber, ProviderAccount, ProviderKind};
use engine::outbox::ReportOutcome;
use engine::runtime::InboundMessage;
use engine::sms::twilio_signature;
use serde_json::json;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Twilio's "nothing to do" answer.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The most media a Twilio message carries.
const MAX_MEDIA: usize = 10;

/// A parsed webhook form: every parameter, in order (names may repeat).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::new(ErrorCode::MissingField, format!("missing field `{name}`"))
                .with_details(json!({"field": name}))
        })
    }

    /// `MediaUrl0..MediaUrl{NumMedia-1}`.
    fn media_urls(&self) -> Result<Vec<String>, ApiError> {
        let count: usize = match self.get("NumMedia") {
            None | Some("") => 0,
            Some(n) => n.parse().map_err(|_| {
                ApiError::new(ErrorCode::InvalidValue, "NumMedia must be a number")
                    .with_details(json!({"field": "NumMedia"}))
            })?,
        };
        (0..count.min(MAX_MEDIA))
            .map(|i| {
                let name = format!("MediaUrl{i}");
                self.required(&name).map(str::to_owned)
            })
            .collect()
    }
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The URL Twilio signed: the configured public base URL (or, without one, the request's own
/// scheme and host) with the request's path and query.
fn signed_url(state: &AppState, req: &HttpRequest) -> String {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), ToString::to_string);
    match &state.public_url {
        Some(base) => format!("{base}{path_and_query}"),
        None => {
            let info = req.connection_info();
            format!("{}://{}{path_and_query}", info.scheme(), info.host())
        }
    }
}

/// The Twilio account that owns `number`, or 403: a number without one cannot take Twilio
/// webhooks, since nothing could prove they come from Twilio.
async fn account_of(state: &AppState, number: &Number) -> Result<ProviderAccount, ApiError> {
    let refuse = || {
        ApiError::new(
            ErrorCode::InvalidSignature,
            "the number has no Twilio provider account to check the signature with",
        )
    };
    let id = number.provider_account_id.as_deref().ok_or_else(refuse)?;
    let account = state
        .engine
        .provider_account(id)
        .await?
        .ok_or_else(refuse)?;
    if account.provider != ProviderKind::Twilio || account.auth_token.is_none() {
        return Err(refuse());
    }
    Ok(account)
}

/// The form Twilio posts (it may add more fields; all are signed, none refused).
#[derive(Debug, utoipa::ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct TwilioSmsForm {
    /// The message's id (`SM…`); retries repeat it.
    #[schema(min_length = 1, max_length = 64)]
    MessageSid: String,
    /// The sender, E.164.
    #[schema(value_type = crate::schema::PhoneText)]
    From: String,
    /// The business number, E.164.
    #[schema(value_type = crate::schema::PhoneText)]
    To: String,
    /// The text (empty for a picture-only MMS).
    Body: Option<String>,
    /// How many media follow as `MediaUrl0..`, `MediaContentType0..`.
    NumMedia: Option<String>,
    /// The first medium's URL.
    MediaUrl0: Option<String>,
    /// The account.
    AccountSid: Option<String>,
}

/// Takes a customer's text from Twilio.
#[utoipa::path(post, path = "/webhooks/twilio/sms", tag = "messages",
    request_body(content = TwilioSmsForm, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's inbound message webhook, signed with `X-Twilio-Signature`"),
    params(("X-Twilio-Signature" = String, Header, description = "HMAC-SHA1 of the public URL and the sorted parameters, keyed with the account's auth token")),
    security(()),
    responses(
        (status = 200, description = "Stored (or a retry of a stored message): empty TwiML", content_type = "text/xml", body = String,
            example = json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")),
        (status = 400, description = "Bad input (`missing_field`, `invalid_phone_number`)", body = crate::error::ErrorBody),
        (status = 403, description = "`invalid_signature`: no Twilio account's token signs the request (checked first: an unsigned request learns nothing else), or the number has no Twilio account", body = crate::error::ErrorBody),
        (status = 404, description = "`unknown_number`: a signed request for a `To` no business number has", body = crate::error::ErrorBody),
        (status = 413, description = "`payload_too_large`: over 32 KB", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not form-encoded", body = crate::error::ErrorBody),
    ))]
pub async fn inbound_sms(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (form, number) = signed_form(&req, &mut payload, &state, "To").await?;
    let to = number.phone.clone();
    let from = PhoneNumber::parse("From", form.required("From")?)?;
    let message_sid = message_sid(&form)?;
    let message = InboundMessage {
        from,
        to,
        body: form.get("Body").unwrap_or_default().to_owned(),
        media_urls: form.media_urls()?,
        provider_message_id: Some(format!("twilio:{message_sid}")),
        priority: None,
    };
    // The engine stores it and applies STOP/START/HELP, as for every inbound path.
    let ack = state.engine.receive(&number, message).await?;
    tracing::info!(conversation_id = %ack.conversation_id, duplicate = ack.duplicate, "twilio message stored");
    Ok(empty_twiml())
}

/// The status callback Twilio posts as a text moves on.
#[derive(Debug, utoipa::ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct TwilioStatusForm {
    /// The text's id, as Twilio answered the send.
    #[schema(min_length = 1, max_length = 64)]
    MessageSid: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed` (also `accepted`,
    /// `scheduled`, `read`, `canceled`).
    MessageStatus: String,
    /// The carrier or Twilio error, for `undelivered` and `failed`.
    ErrorCode: Option<String>,
    /// The business number the text left from, E.164: its account's token signs the callback.
    #[schema(value_type = crate::schema::PhoneText)]
    From: String,
    /// The customer, E.164.
    #[schema(value_type = crate::schema::PhoneText)]
    To: Option<String>,
    /// The account.
    AccountSid: Option<String>,
}

/// Takes Twilio's report on an outbound text.
#[utoipa::path(post, path = "/webhooks/twilio/status", tag = "messages",
    request_body(content = TwilioStatusForm, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's message status callback, signed with `X-Twilio-Signature`"),
    params(("X-Twilio-Signature" = String, Header, description = "HMAC-SHA1 of the public URL and the sorted parameters, keyed with the account's auth token")),
    security(()),
    responses(
        (status = 200, description = "Taken (a late or repeated status changes nothing): empty TwiML", content_type = "text/xml", body = String,
            example = json!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")),
        (status = 400, description = "Bad input (`missing_field`, `invalid_value`, `invalid_phone_number`)", body = crate::error::ErrorBody),
        (status = 403, description = "`invalid_signature` (checked first)", body = crate::error::ErrorBody),
        (status = 413, description = "`payload_too_large`: over 32 KB", body = crate::error::ErrorBody),
        (status = 404, description = "`unknown_number` (no business number has this `From`) or `unknown_message` (no text has this `MessageSid`)", body = crate::error::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not form-encoded", body = crate::error::ErrorBody),
    ))]
pub async fn status_callback(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (form, _) = signed_form(&req, &mut payload, &state, "From").await?;
    let message_sid = message_sid(&form)?;
    let raw_status = form.required("MessageStatus")?;
    let Some(status) = engine::sms::provider::twilio::delivery_status(raw_status) else {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "MessageStatus is not an outbound message status",
        )
        .with_details(json!({"field": "MessageStatus"})));
    };
    let error_code = form
        .get("ErrorCode")
        .filter(|c| !c.is_empty())
        .map(|c| c.chars().take(16).collect());
    match state
        .engine
        .outbox()
        .report(message_sid.clone(), status, error_code)
        .await?
    {
        ReportOutcome::Updated | ReportOutcome::Unchanged | ReportOutcome::Early => {
            Ok(empty_twiml())
        }
        ReportOutcome::UnknownMessage => Err(ApiError::new(
            ErrorCode::UnknownMessage,
            "no text sent through Switchboard has this MessageSid",
        )
        .with_details(json!({"field": "MessageSid"}))),
    }
}

fn empty_twiml() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/xml")))
        .body(EMPTY_TWIML)
}

/// `MessageSid`, 1 to 64 characters.
fn message_sid(form: &Form) -> Result<String, ApiError> {
    let sid = form.required("MessageSid")?;
    if sid.is_empty() || sid.len() > 64 {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            "MessageSid must be 1 to 64 characters",
        )
        .with_details(json!({"field": "MessageSid"})));
    }
    Ok(sid.to_owned())
}

/// The largest webhook body taken: Twilio's inbound form is about 20 fields plus 10 media
/// pairs, and a 1,600-character body URL-encodes to at most ~20 KB.
pub const MAX_WEBHOOK_BYTES: usize = 32 * 1024;
/// The most parameters a webhook form may have (Twilio sends about 50 at most).
pub const MAX_WEBHOOK_PARAMETERS: usize = 200;
/// The longest text a customer message may carry, in characters (Twilio's own limit).
pub const MAX_BODY_CHARS: usize = engine::sms::MAX_MESSAGE_CHARS;

/// Refused webhooks are logged at most once a minute, with how many were refused meanwhile:
/// an unsigned flood must not flood the log too.
static REFUSALS: crate::telemetry::LogThrottle = crate::telemetry::LogThrottle::new(60);

/// The body of a webhook, refused before any parsing when it is too large (413) or has too
/// many parameters (400).
async fn webhook_body(req: &HttpRequest, payload: &mut web::Payload) -> Result<Form, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a webhook body is at most {MAX_WEBHOOK_BYTES} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_WEBHOOK_BYTES) {
        return Err(too_large());
    }
    let body = crate::extract::read_body_within(payload, MAX_WEBHOOK_BYTES).await?;
    let parameters = body.iter().filter(|&&b| b == b'&').count() + 1;
    if parameters > MAX_WEBHOOK_PARAMETERS {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            format!("a webhook form has at most {MAX_WEBHOOK_PARAMETERS} parameters"),
        )
        .with_details(json!({"field": "form"})));
    }
    Ok(Form(form_urlencoded::parse(&body).into_owned().collect()))
}

/// Whether any Twilio account's token signs this request: for a request naming no number
/// that has a Twilio account, so that only Twilio learns which numbers are configured.
async fn signed_by_any_account(
    state: &AppState,
    url: &str,
    parameters: &str,
    signature: &str,
) -> Result<bool, ApiError> {
    let accounts = super::crud::every::<ProviderAccount>(state).await?;
    Ok(accounts.iter().any(|account| {
        account.provider == ProviderKind::Twilio
            && account.auth_token.as_deref().is_some_and(|token| {
                twilio_signature::is_valid_signed(token, url, parameters, signature)
            })
    }))
}

/// Reads a Twilio webhook's form and checks its signature against the auth token of the
/// account that owns the business number in `number_field` (`To` for texts in, `From` for
/// status callbacks). The signature is checked before anything else is said: an unsigned
/// request learns only `403 invalid_signature`, whatever number it names. Nothing is acted
/// on before this passes.
async fn signed_form(
    req: &HttpRequest,
    payload: &mut web::Payload,
    state: &AppState,
    number_field: &str,
) -> Result<(Form, Number), ApiError> {
    if !is_form(req) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Twilio webhooks are application/x-www-form-urlencoded",
        ));
    }
    let form = webhook_body(req, payload).await?;
    let parameters = twilio_signature::signed_parameters(&form.0);
    let signature = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let url = signed_url(state, req);
    let phone = form
        .get(number_field)
        .and_then(|raw| PhoneNumber::parse(number_field, raw).ok());
    let number = match &phone {
        Some(phone) => state.engine.number_by_phone(phone).await?,
        None => None,
    };
    let account = match &number {
        Some(number) => account_of(state, number).await.ok(),
        None => None,
    };
    let signed = match &account {
        Some(account) => twilio_signature::is_valid_signed(
            account.auth_token.as_deref().unwrap_or_default(),
            &url,
            &parameters,
            signature,
        ),
        None => signed_by_any_account(state, &url, &parameters, signature).await?,
    };
    if !signed {
        engine::metrics::metrics()
            .auth_failures
            .with_label_values(&["webhook_signature"])
            .inc();
        if let Some(suppressed) = REFUSALS.allow() {
            tracing::warn!(
                suppressed,
                "twilio webhook with an invalid signature refused (logged once a minute)"
            );
        }
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "X-Twilio-Signature does not match this request",
        ));
    }
    // Signed by one of the accounts: now say exactly what is wrong, if anything.
    PhoneNumber::parse(number_field, form.required(number_field)?)?;
    let Some(number) = number else {
        tracing::warn!(
            field = number_field,
            "signed twilio webhook for a number that is not configured; nothing stored"
        );
        return Err(ApiError::new(
            ErrorCode::UnknownNumber,
            format!("no business number has this {number_field}"),
        )
        .with_details(json!({"field": number_field})));
    };
    account_of(state, &number).await?;
    if let Some(body) = form.get("Body")
        && body.chars().count() > MAX_BODY_CHARS
    {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            format!("Body is at most {MAX_BODY_CHARS} characters"),
        )
        .with_details(json!({"field": "Body"})));
    }
    Ok((form, number))
}

/// Registers the provider webhooks (outside `/v1`: providers sign, they carry no token).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/twilio/sms")
            .route(web::post().to(inbound_sms))
            .default_service(super::crud::method_not_allowed("POST")),
    )
    .service(
        web::resource("/webhooks/twilio/status")
            .route(web::post().to(status_callback))
            .default_service(super::crud::method_not_allowed("POST")),
    );
}
