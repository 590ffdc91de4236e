//! `/v1/campaigns/{id}/sends`: a campaign's bulk sends. A send is made from a list of
//! recipients (JSON, or a CSV upload) and a template; every row is checked first and refused
//! rows are reported, never sent; the rest go out at the campaign's rate inside each
//! recipient's quiet hours, exactly once. Supervisors of the campaign's team and the admin
//! make, watch, pause, resume and cancel sends.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use engine::campaign_sends::SendJob;
use engine::campaign_sends::recipients::{self, RecipientInput, RefusedRow};
use engine::domain::campaign::Campaign;
use engine::domain::{AgentRole, CampaignId, TemplateBody, TemplateId, ValidationError};
use engine::runtime::{RecipientRow, SendCommand, SendTemplate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

/// A new send as JSON: the template (a campaign template, or a body) and the recipients.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Hi {{first_name}}, your {{campaign}} renewal is due. Reply here with questions.",
    "recipients": [{"to": "+15550001111", "fields": {"first_name": "Ann"}}, {"to": "+15550002222", "fields": {"first_name": "Bob"}}]}))]
pub struct NewSend {
    /// One of the campaign's templates.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub template_id: Option<String>,
    /// The text, with `{{placeholders}}` filled per recipient from its `fields`, its contact
    /// card (`contact.name`, `contact.<custom field>`) and `campaign`.
    pub body: Option<String>,
    /// 1 to 100,000 recipients.
    #[schema(value_type = Vec<RecipientInputSchema>)]
    pub recipients: Vec<RecipientInput>,
}

/// One recipient.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // the schema of `RecipientInput`, which the engine owns
pub struct RecipientInputSchema {
    /// The customer's number (E.164, or national with a default region).
    to: String,
    /// Values for the template's placeholders.
    fields: Option<std::collections::BTreeMap<String, String>>,
}

/// `?template_id=` or `?body=` of a CSV upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CsvTemplate {
    /// One of the campaign's templates.
    pub template_id: Option<String>,
    /// The text with placeholders.
    pub body: Option<String>,
}

/// A send as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendView {
    /// The send.
    pub id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// The queue replies are served in.
    pub queue_id: String,
    /// `running`, `paused`, `cancelled` or `done`.
    pub state: String,
    /// The template as given.
    pub template: String,
    /// The template resource, if one was named.
    pub template_id: Option<String>,
    /// Rows given.
    pub total: u32,
    /// Rows refused before sending.
    pub refused: u32,
    /// Rows accepted.
    pub accepted: u32,
    /// Texts sent.
    pub sent: u32,
    /// Rows not sent: the customer opted out meanwhile.
    pub opted_out: u32,
    /// Rows that could not be sent.
    pub failed: u32,
    /// Rows not sent: cancelled.
    pub cancelled: u32,
    /// Rows still to send.
    pub pending: u32,
    /// When the next text may go, when it waits for quiet hours.
    pub next_at: Option<protocol::Time>,
    /// When it was made.
    pub created_at: protocol::Time,
    /// When it was cancelled or finished.
    pub finished_at: Option<protocol::Time>,
}

impl From<&SendJob> for SendView {
    fn from(job: &SendJob) -> Self {
        Self {
            id: job.id.clone(),
            campaign_id: job.campaign_id.to_string(),
            queue_id: job.queue_id.to_string(),
            state: job.state.as_str().to_owned(),
            template: job.template.clone(),
            template_id: job.template_id.clone(),
            total: job.total,
            refused: job.refused,
            accepted: job.accepted,
            sent: job.progress.sent,
            opted_out: job.progress.opted_out,
            failed: job.progress.failed,
            cancelled: job.progress.cancelled,
            pending: job.pending(),
            next_at: job.next_at.map(crate::schema::time),
            created_at: crate::schema::time(job.created_at),
            finished_at: job.finished_at.map(crate::schema::time),
        }
    }
}

/// A refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedView {
    /// Its place in the list, from 1.
    pub row: u32,
    /// The number as given.
    pub to: String,
    /// `invalid_phone_number`, `duplicate`, `opted_out` or `missing_field`.
    pub reason: String,
    /// What exactly.
    pub detail: String,
}

impl From<&RefusedRow> for RefusedView {
    fn from(row: &RefusedRow) -> Self {
        Self {
            row: row.row,
            to: row.to.clone(),
            reason: serde_json::to_value(row.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            detail: row.detail.clone(),
        }
    }
}

/// A new send: its state, and every refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendMade {
    /// The send.
    pub send: SendView,
    /// Rows refused, never sent.
    pub refused_rows: Vec<RefusedView>,
}

/// A page of a send's rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientsPage {
    /// Rows, in order.
    pub items: Vec<RecipientView>,
}

/// One row and its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    /// Its place in the list, from 1.
    pub row: u32,
    /// The customer (as given, for a refused row).
    pub to: String,
    /// `pending`, `sent`, `opted_out`, `failed`, `cancelled` or `refused`.
    pub status: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// More about why.
    pub detail: Option<String>,
    /// The conversation it went into.
    pub conversation_id: Option<String>,
    /// The thread message.
    pub message_id: Option<String>,
}

impl From<RecipientRow> for RecipientView {
    fn from(row: RecipientRow) -> Self {
        Self {
            row: row.row,
            to: row.to,
            status: row.status.to_owned(),
            reason: row.reason,
            detail: row.detail,
            conversation_id: row.conversation_id,
            message_id: row.message_id,
        }
    }
}

/// A campaign the caller may send for: the admin, or a supervisor of its queue's team.
async fn campaign_for(
    state: &AppState,
    principal: &Principal,
    raw_id: &str,
) -> Result<Campaign, ApiError> {
    let not_found = || ApiError::not_found("campaign", raw_id);
    let id = CampaignId::parse(raw_id).map_err(|_| not_found())?;
    let campaign = state
        .catalog
        .find::<Campaign>(id.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    if let Principal::Agent(agent) = principal {
        crate::visibility::visible_queue(state, principal, campaign.queue_id.as_str())
            .await
            .map_err(|_| not_found())?;
        if agent.agent.role != AgentRole::Supervisor {
            return Err(ApiError::forbidden("bulk sends are for supervisors"));
        }
    }
    Ok(campaign)
}

fn template(template_id: Option<&str>, body: Option<&str>) -> Result<SendTemplate, ApiError> {
    Ok(match (template_id, body) {
        (Some(id), None) => {
            SendTemplate::Template(TemplateId::parse(id).map_err(|e| e.at("template_id"))?)
        }
        (None, Some(body)) => SendTemplate::Body(TemplateBody::parse("body", body)?),
        _ => {
            return Err(ValidationError::invalid(
                "template_id",
                "give exactly one of template_id and body",
            )
            .into());
        }
    })
}

/// Makes a bulk send. JSON ([`NewSend`]), or `text/csv` with a header row naming `to` and
/// the fields, the template in `?template_id=` or `?body=`. Every row is checked first:
/// refused rows (bad numbers, duplicates, opted-out customers, placeholders left empty) are
/// listed and never sent; the others go out at the campaign's rate inside each recipient's
/// quiet hours.
#[utoipa::path(post, path = "/v1/campaigns/{id}/sends", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), CsvTemplate),
    request_body(content(
        (NewSend = "application/json"),
        (String = "text/csv", example = "to,first_name\n+15550001111,Ann\n+15550002222,Bob\n"),
    )),
    responses(
        (status = 201, description = "The send, and the rows refused", body = SendMade),
        (status = 400, description = "Bad input (`invalid_value`: no template or body, a bad template, no recipients or more than 100,000; `malformed_json`, `malformed_csv`)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent who is not a supervisor", body = ErrorBody),
        (status = 404, description = "No such campaign (or another team's)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: more than 32 MiB", body = ErrorBody),
        (status = 422, description = "`campaign_without_numbers`", body = ErrorBody),
    ))]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let campaign = campaign_for(&state, &principal, &id).await?;
    let csv = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let body =
        crate::extract::read_body_within(&mut payload, crate::extract::MAX_SEND_BYTES).await?;
    let (template, rows) = if csv {
        let query = web::Query::<CsvTemplate>::from_query(req.query_string())
            .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("bad query: {e}")))?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::new(ErrorCode::MalformedCsv, "the CSV is not UTF-8"))?;
        let rows =
            recipients::from_csv(text).map_err(|e| ApiError::new(ErrorCode::MalformedCsv, e))?;
        (
            template(query.template_id.as_deref(), query.body.as_deref())?,
            rows,
        )
    } else {
        let input: NewSend = crate::extract::parse_json(&body)?;
        (
            template(input.template_id.as_deref(), input.body.as_deref())?,
            input.recipients,
        )
    };
    let (job, rows) = state
        .engine
        .create_send(&campaign.id, template, rows)
        .await?;
    tracing::info!(send_id = %job.id, "bulk send made");
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/campaigns/{}/sends/{}", campaign.id, job.id),
        ))
        .json(SendMade {
            send: SendView::from(&job),
            refused_rows: rows.refused.iter().map(RefusedView::from).collect(),
        }))
}

/// A campaign's sends, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendList {
    /// The sends.
    pub items: Vec<SendView>,
}

/// A campaign's sends, newest first.
#[utoipa::path(get, path = "/v1/campaigns/{id}/sends", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign")),
    responses(
        (status = 200, description = "Its sends", body = SendList),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let campaign = campaign_for(&state, &principal, &id).await?;
    let sends = state.engine.campaign_sends(&campaign.id).await?;
    Ok(HttpResponse::Ok().json(SendList {
        items: sends.iter().map(SendView::from).collect(),
    }))
}

/// A send of `campaign`, or 404.
async fn send_of(state: &AppState, campaign: &Campaign, send: &str) -> Result<SendJob, ApiError> {
    match state.engine.send_job(send).await {
        Ok(job) if job.campaign_id == campaign.id => Ok(job),
        Ok(_) | Err(engine::runtime::EngineError::NotFound { .. }) => {
            Err(ApiError::not_found("send", send))
        }
        Err(e) => Err(e.into()),
    }
}

/// A send's state and progress.
#[utoipa::path(get, path = "/v1/campaigns/{id}/sends/{send_id}", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), ("send_id" = String, Path, description = "The send")),
    responses(
        (status = 200, description = "The send", body = SendView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign or send", body = ErrorBody),
    ))]
pub async fn get(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (campaign, send) = path.into_inner();
    let campaign = campaign_for(&state, &principal, &campaign).await?;
    let job = send_of(&state, &campaign, &send).await?;
    Ok(HttpResponse::Ok().json(SendView::from(&job)))
}

/// `?from=&limit=` of a send's rows.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RowsQuery {
    /// The first row, from 1 (default 1).
    #[param(minimum = 1)]
    pub from: Option<u32>,
    /// Rows to return, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A send's rows with their outcomes: refused (and why), pending, sent (into which
/// conversation), opted out meanwhile, failed, cancelled.
#[utoipa::path(get, path = "/v1/campaigns/{id}/sends/{send_id}/recipients", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), ("send_id" = String, Path, description = "The send"), RowsQuery),
    responses(
        (status = 200, description = "The rows", body = RecipientsPage),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign or send", body = ErrorBody),
    ))]
pub async fn recipients(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (campaign, send) = path.into_inner();
    let query = web::Query::<RowsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("bad query: {e}")))?;
    let from = query.from.unwrap_or(1).max(1);
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(
            ApiError::new(ErrorCode::InvalidQuery, "limit must be between 1 and 1000")
                .with_details(serde_json::json!({"field": "limit"})),
        );
    }
    let campaign = campaign_for(&state, &principal, &campaign).await?;
    let job = send_of(&state, &campaign, &send).await?;
    let rows = state.engine.send_recipients(&job.id, from, limit).await?;
    Ok(HttpResponse::Ok().json(RecipientsPage {
        items: rows.into_iter().map(RecipientView::from).collect(),
    }))
}

async fn command(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    command: SendCommand,
) -> Result<HttpResponse, ApiError> {
    let (campaign, send) = path.into_inner();
    let campaign = campaign_for(&state, &principal, &campaign).await?;
    let job = send_of(&state, &campaign, &send).await?;
    let job = state.engine.command_send(&job.id, command).await?;
    tracing::info!(send_id = %job.id, state = job.state.as_str(), "bulk send changed");
    Ok(HttpResponse::Ok().json(SendView::from(&job)))
}

/// Pauses a send: nothing more goes out until it is resumed.
#[utoipa::path(post, path = "/v1/campaigns/{id}/sends/{send_id}/pause", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), ("send_id" = String, Path, description = "The send")),
    responses(
        (status = 200, description = "The send, paused", body = SendView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign or send", body = ErrorBody),
        (status = 409, description = "`send_finished`: cancelled or done", body = ErrorBody),
    ))]
pub async fn pause(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    command(principal, state, path, SendCommand::Pause).await
}

/// Resumes a paused send where it stopped.
#[utoipa::path(post, path = "/v1/campaigns/{id}/sends/{send_id}/resume", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), ("send_id" = String, Path, description = "The send")),
    responses(
        (status = 200, description = "The send, running", body = SendView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign or send", body = ErrorBody),
        (status = 409, description = "`send_finished`: cancelled or done", body = ErrorBody),
    ))]
pub async fn resume(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    command(principal, state, path, SendCommand::Resume).await
}

/// Cancels a send for good: the rows not sent yet never will be.
#[utoipa::path(post, path = "/v1/campaigns/{id}/sends/{send_id}/cancel", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign"), ("send_id" = String, Path, description = "The send")),
    responses(
        (status = 200, description = "The send, cancelled", body = SendView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`", body = ErrorBody),
        (status = 404, description = "No such campaign or send", body = ErrorBody),
        (status = 409, description = "`send_finished`: cancelled or done already", body = ErrorBody),
    ))]
pub async fn cancel(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    command(principal, state, path, SendCommand::Cancel).await
}

/// Mounts the sends under `/campaigns/{id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/sends")
            .route(web::post().to(create))
            .route(web::get().to(list))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/{id}/sends/{send_id}")
            .route(web::get().to(get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/{id}/sends/{send_id}/recipients")
            .route(web::get().to(recipients))
            .default_service(method_not_allowed("GET")),
    );
    for (verb, handler) in [
        ("pause", web::post().to(pause)),
        ("resume", web::post().to(resume)),
        ("cancel", web::post().to(cancel)),
    ] {
        cfg.service(
            web::resource(format!("/{{id}}/sends/{{send_id}}/{verb}"))
                .route(handler)
                .default_service(method_not_allowed("POST")),
        );
    }
}
