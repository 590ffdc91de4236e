//! `/v1/contacts/{phone}`: the contact card of a customer's number and the history of its
//! conversations. A caller sees a contact only when the customer has texted one of its teams'
//! queues (the admin sees all); any other number is 404, like an unknown one.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use engine::contacts::{Contact, ContactPatch};
use engine::directory::{ListQuery, View};
use engine::domain::{PhoneNumber, QueueId, TeamId, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::conversation_list::{page, page_position, parse_time};
use super::crud::{double_option, method_not_allowed};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ValidJson, serde_urlencoded_from};
use crate::schema::time;
use crate::state::AppState;
use crate::visibility::{queue_teams, visible_among};

/// The longest free-text field of a card.
const MAX_FIELD_CHARS: usize = 500;
/// The most custom fields or external ids a card holds.
const MAX_ENTRIES: usize = 50;

/// A contact card.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    /// The customer's number (E.164): the card's key.
    pub phone: String,
    /// Full name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
    /// IANA time zone, e.g. `America/Chicago`.
    pub time_zone: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Ids in other systems, by system.
    pub external_ids: BTreeMap<String, String>,
    /// Custom fields; templates use them as `{{contact.<field>}}`.
    pub custom_fields: BTreeMap<String, String>,
    /// Business numbers the contact opted out of (STOP), with when; set by the SMS channel.
    pub opted_out: BTreeMap<String, protocol::Time>,
    /// When the card last changed; absent when never filled in.
    pub updated_at: Option<protocol::Time>,
}

impl ContactView {
    fn new(phone: &PhoneNumber, card: Contact) -> Self {
        Self {
            phone: phone.to_string(),
            name: card.name,
            email: card.email,
            address: card.address,
            time_zone: card.time_zone,
            date_of_birth: card.date_of_birth,
            external_ids: card.external_ids,
            custom_fields: card.custom_fields,
            opted_out: card
                .opted_out
                .into_iter()
                .map(|(number, at)| (number, time(at)))
                .collect(),
            updated_at: (card.updated_at > 0).then(|| time(card.updated_at)),
        }
    }
}

/// A change to a card: absent fields stay, `null` clears; in the maps a `null` value removes
/// the key and other keys stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatchRequest {
    /// Full name (1 to 500 characters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, min_length = 1, max_length = 500)]
    pub name: Option<Option<String>>,
    /// Email (`name@domain`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, max_length = 254, pattern = r"^[^@\s]+@[^@\s]+$")]
    pub email: Option<Option<String>>,
    /// Postal address.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, min_length = 1, max_length = 500)]
    pub address: Option<Option<String>>,
    /// IANA time zone (`Area/City`, or `UTC`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(
        nullable,
        max_length = 64,
        pattern = r"^(UTC|[A-Za-z]+(/[A-Za-z0-9_+\-]+)+)$"
    )]
    pub time_zone: Option<Option<String>>,
    /// `YYYY-MM-DD`, a real date in the past.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, format = Date)]
    pub date_of_birth: Option<Option<String>>,
    /// External ids to set (`null` removes one; the whole map `null` changes nothing).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    pub external_ids: Option<BTreeMap<String, Option<String>>>,
    /// Custom fields to set (`null` removes one). Keys: letters, digits, `_`, up to 64.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    pub custom_fields: Option<BTreeMap<String, Option<String>>>,
}

fn text_field(
    field: &str,
    value: Option<Option<String>>,
) -> Result<Option<Option<String>>, ValidationError> {
    match value {
        Some(Some(v)) => {
            let v = v.trim().to_owned();
            if v.is_empty() || v.chars().count() > MAX_FIELD_CHARS {
                return Err(ValidationError::invalid(
                    field,
                    format!("must be 1 to {MAX_FIELD_CHARS} characters, or null to clear"),
                ));
            }
            if v.chars().any(engine::sms::is_forbidden_control) {
                return Err(ValidationError::invalid(
                    field,
                    "must not contain control characters other than line breaks and tabs",
                ));
            }
            Ok(Some(Some(v)))
        }
        other => Ok(other),
    }
}

fn checked(
    field: &str,
    value: Option<Option<String>>,
    ok: impl Fn(&str) -> bool,
    rule: &str,
) -> Result<Option<Option<String>>, ValidationError> {
    let value = text_field(field, value)?;
    if let Some(Some(v)) = &value
        && !ok(v)
    {
        return Err(ValidationError::invalid(field, rule.to_owned()));
    }
    Ok(value)
}

fn entries(
    field: &str,
    map: BTreeMap<String, Option<String>>,
) -> Result<BTreeMap<String, Option<String>>, ValidationError> {
    if map.len() > MAX_ENTRIES {
        return Err(ValidationError::invalid(
            field,
            format!("at most {MAX_ENTRIES} keys at once"),
        ));
    }
    for (key, value) in &map {
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(ValidationError::invalid(
                format!("{field}.{key}"),
                "keys are 1 to 64 letters, digits or _",
            ));
        }
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > MAX_FIELD_CHARS)
        {
            return Err(ValidationError::invalid(
                format!("{field}.{key}"),
                format!("values are at most {MAX_FIELD_CHARS} characters"),
            ));
        }
    }
    Ok(map)
}

impl ContactPatchRequest {
    fn validate(self, today: NaiveDate) -> Result<ContactPatch, ValidationError> {
        Ok(ContactPatch {
            name: text_field("name", self.name)?,
            email: checked(
                "email",
                self.email,
                |v| {
                    v.len() <= 254
                        && v.split_once('@').is_some_and(|(local, domain)| {
                            !local.is_empty()
                                && !domain.is_empty()
                                && !domain.contains('@')
                                && !v.contains(char::is_whitespace)
                        })
                },
                "must be an email address, name@domain",
            )?,
            address: text_field("address", self.address)?,
            time_zone: checked(
                "time_zone",
                self.time_zone,
                |v| {
                    v == "UTC"
                        || (v.len() <= 64
                            && v.split('/').count() >= 2
                            && v.split('/').all(|part| {
                                !part.is_empty()
                                    && part
                                        .chars()
                                        .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
                            }))
                },
                "must be an IANA time zone such as America/Chicago",
            )?,
            date_of_birth: checked(
                "date_of_birth",
                self.date_of_birth,
                |v| NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok_and(|d| d <= today),
                "must be a date YYYY-MM-DD, not in the future",
            )?,
            external_ids: entries("external_ids", self.external_ids.unwrap_or_default())?,
            custom_fields: entries("custom_fields", self.custom_fields.unwrap_or_default())?,
        })
    }
}

/// The number `raw` if the caller may see its contact (given every queue's team); 404
/// otherwise.
fn visible_contact(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    teams: &HashMap<QueueId, TeamId>,
) -> Result<PhoneNumber, ApiError> {
    let not_found = || ApiError::not_found("contact", raw);
    let phone = PhoneNumber::parse("phone", raw).map_err(|_| not_found())?;
    let directory = state.engine.directory();
    let visible = match visible_among(teams, principal) {
        None => true,
        Some(queues) => directory.customer_seen_in(&phone, Some(&queues)),
    };
    match (visible, directory.is_complete()) {
        (true, _) => Ok(phone),
        // The conversation that would show it may be among those still loading.
        (false, false) => Err(super::conversation_list::directory_loading()),
        (false, true) => Err(not_found()),
    }
}

/// A contact card.
#[utoipa::path(get, path = "/v1/contacts/{phone}", tag = "contacts",
    params(("phone" = String, Path, description = "The customer's number, E.164 (`+` may be sent as `%2B`)")),
    responses(
        (status = 200, description = "The card", body = ContactView,
            example = json!({"phone": "+15550001111", "name": "Maria Lopez", "email": "maria@example.com",
                "address": null, "time_zone": "America/Chicago", "date_of_birth": "1990-04-01",
                "external_ids": {"crm": "0031"}, "custom_fields": {"order": "A-1042"}, "opted_out": {},
                "updated_at": "2026-11-23T10:00:00.000Z"})),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No conversation of the caller's teams with this number", body = ErrorBody),
        (status = 503, description = "`directory_loading`: just after a restart, while closed conversations load; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn get(
    principal: Principal,
    state: web::Data<AppState>,
    phone: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let teams = queue_teams(&state).await?;
    let phone = visible_contact(&state, &principal, &phone, &teams)?;
    let card = state.contacts.get(&phone).await?;
    Ok(HttpResponse::Ok().json(ContactView::new(&phone, card)))
}

/// Changes a contact card.
#[utoipa::path(patch, path = "/v1/contacts/{phone}", tag = "contacts",
    params(("phone" = String, Path, description = "The customer's number, E.164")),
    request_body(content = ContactPatchRequest,
        example = json!({"name": "Maria Lopez", "custom_fields": {"order": "A-1042", "old_field": null}})),
    responses(
        (status = 200, description = "The new card", body = ContactView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No conversation of the caller's teams with this number", body = ErrorBody),
        (status = 503, description = "`directory_loading`: just after a restart, while closed conversations load; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn patch(
    principal: Principal,
    state: web::Data<AppState>,
    phone: web::Path<String>,
    body: ValidJson<ContactPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let teams = queue_teams(&state).await?;
    let phone = visible_contact(&state, &principal, &phone, &teams)?;
    let today = time(state.engine.now()).0.date_naive();
    let patch = body.0.validate(today)?;
    let card = state
        .contacts
        .update(&phone, patch, state.engine.now())
        .await?;
    Ok(HttpResponse::Ok().json(ContactView::new(&phone, card)))
}

/// The range and page of a contact's history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Active at or after (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// Active before (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,15}\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    pub cursor: Option<String>,
}

/// A contact's conversations with the caller's teams, open and closed, newest first.
#[utoipa::path(get, path = "/v1/contacts/{phone}/conversations", tag = "contacts",
    params(("phone" = String, Path, description = "The customer's number, E.164"), HistoryQuery),
    responses(
        (status = 200, description = "A page of conversations", body = super::conversation_list::ConversationPage),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No conversation of the caller's teams with this number", body = ErrorBody),
        (status = 503, description = "`directory_loading`: just after a restart, while closed conversations load; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn history(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    phone: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let query: HistoryQuery = serde_urlencoded_from(req.query_string())?;
    let teams = queue_teams(&state).await?;
    let phone = visible_contact(&state, &principal, &phone, &teams)?;
    let (limit, after) = page_position(query.limit, query.cursor.as_deref())?;
    let list = ListQuery {
        view: View::All,
        visible_queues: visible_among(&teams, &principal),
        from: parse_time("from", query.from.as_deref())?,
        to: parse_time("to", query.to.as_deref())?,
        customer: Some(phone),
        after,
        limit,
        ..ListQuery::default()
    };
    page(&state, &list, &teams).await
}

/// Registers the routes (inside `/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{phone}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .default_service(method_not_allowed("GET, PATCH")),
    )
    .service(
        web::resource("/{phone}/conversations")
            .route(web::get().to(history))
            .default_service(method_not_allowed("GET")),
    );
}
