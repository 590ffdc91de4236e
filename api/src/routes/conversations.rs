//! `/v1/conversations/{id}`: a conversation's detail and thread, and what an agent does with
//! it — claim, reply, note, disposition, save for later, transfer, complete. A conversation
//! of another team's queue is 404; acting needs an agent's token (the admin sees, agents act).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use engine::conversation::Conversation;
use engine::domain::{AgentId, AgentRole, ConversationId, QueueId, Slug};
use engine::runtime::{Engine, EngineError, TransferTarget};
use protocol::ThreadEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ValidJson;
use crate::schema::time;
use crate::state::AppState;
use crate::visibility::visible_queue;

/// The longest reply or note, in characters.
pub const MAX_TEXT_CHARS: usize = engine::sms::MAX_MESSAGE_CHARS;

/// One recorded disposition.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedDisposition {
    /// The code.
    pub code: String,
    /// The agent's note.
    pub note: Option<String>,
    /// Who recorded it.
    pub agent_id: String,
    /// When.
    pub at: protocol::Time,
}

/// A conversation as desktops see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    /// Its id.
    pub id: String,
    /// The customer's number (E.164).
    pub customer: String,
    /// The business number resource.
    pub number_id: String,
    /// The campaign.
    pub campaign: String,
    /// The queue serving it.
    pub queue_id: String,
    /// `queued`, `owned`, `snoozed` or `closed`.
    pub status: String,
    /// Its owner.
    pub owner: Option<String>,
    /// Agents who see its messages besides the owner.
    pub subscribers: Vec<String>,
    /// Owned but back in the queue after public minutes: claimable by the team.
    pub public: bool,
    /// When the customer's oldest unanswered message arrived.
    pub waiting_since: Option<protocol::Time>,
    /// When a snooze ends.
    pub snoozed_until: Option<protocol::Time>,
    /// Alerts raised: `unclaimed`, `awaiting_reply`.
    pub alerts: Vec<String>,
    /// The target of a warm transfer waiting to be accepted.
    pub pending_transfer: Option<String>,
    /// Its own priority within its queue, 0 (default) to 100: higher goes ahead of
    /// conversations that waited longer.
    pub priority: u8,
    /// Recorded outcomes.
    pub dispositions: Vec<RecordedDisposition>,
    /// When it opened.
    pub created_at: protocol::Time,
    /// When it closed.
    pub closed_at: Option<protocol::Time>,
    /// The skills it needs of its own (its number's, its first text's keywords, or set by an
    /// agent); its queue adds its own.
    pub required_skills: Vec<protocol::event::RequiredSkill>,
}

fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl From<&Conversation> for ConversationView {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id().to_string(),
            customer: c.customer().to_string(),
            number_id: c.number_id().to_string(),
            campaign: c.campaign().to_string(),
            queue_id: c.queue_id().to_string(),
            status: label(&c.status()),
            owner: c.owner().as_ref().map(ToString::to_string),
            subscribers: c.subscribers().iter().map(ToString::to_string).collect(),
            public: c.public(),
            waiting_since: c.waiting_since().map(time),
            snoozed_until: c.snoozed_until().map(time),
            alerts: c.alerts().iter().map(label).collect(),
            pending_transfer: c.pending_transfer().as_ref().map(ToString::to_string),
            priority: c.conversation_priority(),
            dispositions: c
                .dispositions()
                .iter()
                .map(|d| RecordedDisposition {
                    code: d.code.to_string(),
                    note: d.note.clone(),
                    agent_id: d.agent.to_string(),
                    at: time(d.at),
                })
                .collect(),
            created_at: time(c.created_at()),
            closed_at: c.closed_at().map(time),
            required_skills: c
                .required_skills()
                .iter()
                .map(|need| protocol::event::RequiredSkill {
                    skill: need.skill.to_string(),
                    min_level: need.min_level.get(),
                })
                .collect(),
        }
    }
}

/// The conversation `id` if the caller may see it (its queue's team), else 404.
pub async fn visible(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Conversation, ApiError> {
    let not_found = || ApiError::not_found("conversation", id);
    let conversation_id = ConversationId::parse(id).map_err(|_| not_found())?;
    let conversation = state
        .engine
        .conversation(&conversation_id)
        .await
        .map_err(|e| match e {
            engine::runtime::EngineError::NotFound { .. } => not_found(),
            other => other.into(),
        })?;
    // The admin sees every conversation, even one whose queue is gone.
    if matches!(principal, Principal::Admin) {
        return Ok(conversation);
    }
    visible_queue(state, principal, conversation.queue_id().as_str())
        .await
        .map_err(|_| not_found())?;
    Ok(conversation)
}

/// The agent acting: conversations are worked with an agent's own token.
fn actor(principal: &Principal) -> Result<AgentId, ApiError> {
    match principal {
        Principal::Agent(owner) => Ok(owner.agent.id.clone()),
        Principal::Admin => Err(ApiError::forbidden(
            "conversations are worked with an agent's token",
        )),
    }
}
/// A reply, note or chat text: 1 to 1600 characters, not blank, no control characters but
/// line breaks and tabs (`engine::sms::is_forbidden_control`).
pub fn text(field: &str, value: &str) -> Result<String, ApiError> {
    let chars = value.chars().count();
    if crate::schema::is_blank(value) || chars > MAX_TEXT_CHARS {
        return Err(engine::domain::ValidationError::invalid(
            field,
            format!("must be 1 to {MAX_TEXT_CHARS} characters, not blank"),
        )
        .into());
    }
    if value.chars().any(engine::sms::is_forbidden_control) {
        return Err(engine::domain::ValidationError::invalid(
            field,
            "must not contain control characters other than line breaks and tabs",
        )
        .into());
    }
    Ok(value.to_owned())
}

/// An optional note: blank means none.
fn optional_note(note: Option<String>) -> Result<Option<String>, ApiError> {
    note.filter(|n| !crate::schema::is_blank(n))
        .map(|n| text("note", &n))
        .transpose()
}

async fn view(state: &AppState, id: &ConversationId) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(ConversationView::from(
        &state.engine.conversation(id).await?,
    )))
}

/// A conversation's state.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
    ))]
pub async fn get(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let conversation = visible(&state, &principal, &id).await?;
    Ok(HttpResponse::Ok().json(ConversationView::from(&conversation)))
}

/// Changes to a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"priority": 50, "required_skills": [{"skill": "spanish", "min_level": 3}]}))]
pub struct ConversationPatch {
    /// Its own priority within its queue, 0 to 100: a waiting conversation takes its new
    /// place in line at once, keeping its waiting since.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub priority: Option<i64>,
    /// The skills it needs of its own, replacing the old ones (`[]` for none): a waiting
    /// conversation is offered from then on only to agents who have them (as its queue's
    /// escalation steps allow), keeping its place.
    pub required_skills: Option<Vec<super::skills_input::RequirementInput>>,
}

/// Changes a conversation's priority or the skills it needs: its owner, a supervisor of its
/// team, or the admin.
#[utoipa::path(patch, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = ConversationPatch,
    responses(
        (status = 200, description = "The conversation as it is now", body = ConversationView),
        (status = 400, description = "Bad input (`invalid_value`: priority outside 0 to 100)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent who does not own it", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`: closed", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
    ))]
pub async fn patch(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<ConversationPatch>,
) -> Result<HttpResponse, ApiError> {
    let conversation = visible(&state, &principal, &id).await?;
    // Everything is read before anything changes: a bad field changes nothing.
    let priority = body
        .0
        .priority
        .map(|p| engine::domain::Priority::new(p).map(|p| p.get()))
        .transpose()?;
    let skills = body
        .0
        .required_skills
        .as_deref()
        .map(|raw| super::skills_input::requirements("required_skills", raw))
        .transpose()?;
    // An agent changes its own conversations; a supervisor any of its team's.
    let by = match &principal {
        Principal::Agent(owner) if owner.agent.role != AgentRole::Supervisor => {
            Some(owner.agent.id.clone())
        }
        _ => None,
    };
    if let Some(priority) = priority {
        state
            .engine
            .set_priority(conversation.id(), priority, by.as_ref())
            .await?;
    }
    if let Some(skills) = skills {
        state
            .engine
            .set_required_skills(conversation.id(), skills, by.as_ref())
            .await?;
    }
    view(&state, conversation.id()).await
}

/// A page of a conversation's thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadPage {
    /// Entries, oldest first.
    pub items: Vec<ThreadEntry>,
}

/// `?from=&limit=` of the thread.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ThreadQuery {
    /// Position of the first entry (default 0).
    #[param(minimum = 0)]
    pub from: Option<u32>,
    /// Entries to return, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The thread: customer and agent messages, notes and system entries, oldest first.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "The conversation"), ThreadQuery),
    responses(
        (status = 200, description = "Entries, oldest first", body = ThreadPage),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
    ))]
pub async fn thread(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<ThreadQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("bad query string: {e}")))?
        .into_inner();
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "limit must be between 1 and 200",
        ));
    }
    let conversation = visible(&state, &principal, &id).await?;
    let entries = state
        .engine
        .thread(
            conversation.id(),
            query.from.unwrap_or(0) as usize,
            limit as usize,
        )
        .await?;
    Ok(HttpResponse::Ok().json(ThreadPage { items: entries }))
}

/// Text for a reply or a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    /// 1 to 1600 characters.
    #[schema(min_length = 1, max_length = 1600, pattern = r"[^\s\u0085]")]
    pub body: String,
}

/// A text to the customer: `body`, or `template_id` alone to send the template rendered
/// (a `body` with a `template_id` is the template as the agent edited it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Hi Maria, your order ships today.", "template_id": "tp_ships"}))]
pub struct ReplyRequest {
    /// 1 to 1600 characters.
    #[schema(min_length = 1, max_length = 1600, pattern = r"[^\s\u0085]")]
    pub body: Option<String>,
    /// Media to attach (MMS): up to 10 `https://` or `http://` URLs.
    #[serde(default)]
    #[schema(value_type = Vec<crate::schema::MediaUrlText>, max_items = 10)]
    pub media_urls: Vec<String>,
    /// The template this text comes from.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub template_id: Option<String>,
}

/// The body of actions that take no input: nothing, or an empty object.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

/// Mark the customer's messages read.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The id of the last message read (a thread entry's `id`); absent: everything.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub up_to: Option<String>,
}

/// A disposition to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionRequest {
    /// An active disposition code.
    #[schema(value_type = crate::schema::SlugText)]
    pub code: String,
    /// A note.
    #[schema(max_length = 1600)]
    pub note: Option<String>,
}

/// Save for later.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// When to serve it again (RFC 3339, in the future).
    pub until: DateTime<Utc>,
}

/// A transfer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// To this agent. With `to_queue` too: to that queue, offered to this agent first there.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub to_agent: Option<String>,
    /// To this queue.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub to_queue: Option<String>,
    /// `cold` (default) or `warm` (to `to_agent` alone: the owner keeps it until the agent
    /// accepts).
    pub mode: Option<TransferMode>,
    /// A note for the target, kept in the thread.
    #[schema(max_length = 1600)]
    pub note: Option<String>,
}

/// How a transfer hands over.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// At once.
    Cold,
    /// When the target accepts.
    Warm,
}

async fn act(
    principal: Principal,
    state: &AppState,
    id: &str,
    work: impl AsyncFnOnce(&Engine, AgentId, ConversationId) -> Result<Option<ThreadEntry>, EngineError>,
) -> Result<HttpResponse, ApiError> {
    let conversation = visible(state, &principal, id).await?;
    let agent = actor(&principal)?;
    match work(&state.engine, agent, conversation.id().clone()).await? {
        Some(entry) => Ok(HttpResponse::Created().json(entry)),
        None => view(state, conversation.id()).await,
    }
}

/// Claim a waiting or public conversation; the first claim wins.
#[utoipa::path(post, path = "/v1/conversations/{id}/claim", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 201, description = "The new thread entry (replies and notes)", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict` or `disposition_required`", body = ErrorBody),
    ))]
pub async fn claim(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _: crate::extract::OptionalJson<EmptyRequest>,
) -> Result<HttpResponse, ApiError> {
    act(principal, &state, &id, async |engine, agent, c| {
        engine.claim(&agent, &c).await.map(|()| None)
    })
    .await
}

/// Reply to the customer.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = ReplyRequest,
    responses(
        (status = 201, description = "The new thread entry, `status` `outbox` until the SMS channel sends it", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation or template (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`, or `recipient_opted_out`: the customer texted STOP", body = ErrorBody),
        (status = 422, description = "`template_placeholder_missing`: `details.missing` names them", body = ErrorBody),
    ))]
pub async fn reply(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<ReplyRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let media_urls = media_urls(request.media_urls)?;
    let conversation = visible(&state, &principal, &id).await?;
    let template = match &request.template_id {
        Some(template_id) => {
            let context =
                super::quick_replies::RenderContext::load(&state, &principal, &conversation)
                    .await?;
            let template = context.applicable(&state, template_id).await?;
            Some((context, template))
        }
        None => None,
    };
    let body = match (request.body, &template) {
        (Some(body), _) => text("body", &body)?,
        (None, Some((context, template))) => context.render(template)?,
        // A picture alone (MMS without text).
        (None, None) if !media_urls.is_empty() => String::new(),
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::MissingField,
                "missing field `body` (or a `template_id` or `media_urls` to send)",
            )
            .with_details(serde_json::json!({"field": "body"})));
        }
    };
    let outgoing = engine::runtime::OutgoingText {
        body,
        media_urls,
        template_id: template.map(|(_, t)| t.id.to_string()),
    };
    // Visible already (read once above): act on it without reading it again.
    let agent = actor(&principal)?;
    let entry = state
        .engine
        .reply_in(&agent, &conversation, outgoing)
        .await?;
    Ok(HttpResponse::Created().json(entry))
}

/// Checks media URLs: at most 10, each an absolute http(s) URL of at most 2000 characters.
pub fn media_urls(urls: Vec<String>) -> Result<Vec<String>, ApiError> {
    if urls.len() > 10 {
        return Err(engine::domain::ValidationError::invalid(
            "media_urls",
            "at most 10 media URLs",
        )
        .into());
    }
    for (i, url) in urls.iter().enumerate() {
        if url.len() > 2000 || !crate::schema::is_media_url(url) {
            return Err(engine::domain::ValidationError::invalid(
                format!("media_urls[{i}]"),
                "must be an http:// or https:// URL with a public host name",
            )
            .into());
        }
    }
    Ok(urls)
}

/// Mark the customer's messages read, up to one of them or all.
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body(content = Option<ReadRequest>, description = "Optional: without a body, everything is read"),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`reference_not_found`: `up_to` is no message of this conversation", body = ErrorBody),
    ))]
pub async fn read(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: crate::extract::OptionalJson<ReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let up_to = body.0.up_to;
    let conversation = visible(&state, &principal, &id).await?;
    let through = match &up_to {
        Some(message) => Some(inbound_through(&state, conversation.id(), message).await?),
        None => None,
    };
    act(principal, &state, &id, async |engine, agent, c| {
        engine.mark_read(&agent, &c, through).await.map(|()| None)
    })
    .await
}

/// How many customer messages the thread holds up to and including `message`.
async fn inbound_through(
    state: &AppState,
    conversation: &ConversationId,
    message: &str,
) -> Result<u32, ApiError> {
    let mut inbound = 0u32;
    let mut from = 0usize;
    loop {
        let entries = state.engine.thread(conversation, from, 500).await?;
        for entry in &entries {
            if let ThreadEntry::Inbound(_) = entry {
                inbound += 1;
            }
            if entry.id() == message {
                return Ok(inbound);
            }
        }
        if entries.len() < 500 {
            return Err(ApiError::new(
                ErrorCode::ReferenceNotFound,
                format!("message {message} is not in this conversation"),
            )
            .with_details(serde_json::json!({"field": "up_to", "id": message})));
        }
        from += entries.len();
    }
}

/// Add an internal note, never sent.
#[utoipa::path(post, path = "/v1/conversations/{id}/notes", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = TextRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 201, description = "The new thread entry (replies and notes)", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict` or `disposition_required`", body = ErrorBody),
    ))]
pub async fn note(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<TextRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = text("body", &body.0.body)?;
    act(principal, &state, &id, async |engine, agent, c| {
        engine.add_note(&agent, &c, body).await.map(Some)
    })
    .await
}

/// Record a disposition.
#[utoipa::path(post, path = "/v1/conversations/{id}/dispositions", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = DispositionRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 201, description = "The new thread entry (replies and notes)", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict` or `disposition_required`", body = ErrorBody),
    ))]
pub async fn disposition(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<DispositionRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = Slug::parse("code", &body.0.code)?;
    let note = optional_note(body.0.note)?;
    act(principal, &state, &id, async |engine, agent, c| {
        engine
            .add_disposition(&agent, &c, code, note)
            .await
            .map(|()| None)
    })
    .await
}

/// Save for later, until a time.
#[utoipa::path(post, path = "/v1/conversations/{id}/snooze", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = SnoozeRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 201, description = "The new thread entry (replies and notes)", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict` or `disposition_required`", body = ErrorBody),
    ))]
pub async fn snooze(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<SnoozeRequest>,
) -> Result<HttpResponse, ApiError> {
    let until = body.0.until.timestamp_millis();
    act(principal, &state, &id, async |engine, agent, c| {
        engine.snooze(&agent, &c, until).await.map(|()| None)
    })
    .await
}

/// Transfer to an agent or a queue, cold or warm. The owner transfers its own; a supervisor
/// of the conversation's team reassigns any of them to an agent (an owned one as its owner
/// would; a waiting one straight to the agent, cold). A transfer to an agent is offered to that agent
/// directly (no login to the queue needed), with the queue's offer timeout: declined or
/// expired, a cold one goes back to the queue (not to the sender first) and a warm one stays
/// with its owner (`transfer.declined`).
#[utoipa::path(post, path = "/v1/conversations/{id}/transfer", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner (nor a supervisor of its team), or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation, queue or agent (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`: not in a state to transfer; `agent_unavailable`: the target agent is offline, away or at capacity (`details.reason`)", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_transfer_target`: the target is the owner, or outside the queue's team (`details.reason`)", body = ErrorBody),
    ))]
pub async fn transfer(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<TransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let warm = request.mode == Some(TransferMode::Warm);
    let agent = request
        .to_agent
        .map(|a| AgentId::parse(a.as_str()).map_err(|e| ApiError::from(e.at("to_agent"))))
        .transpose()?;
    let queue = request
        .to_queue
        .map(|q| QueueId::parse(q.as_str()).map_err(|e| ApiError::from(e.at("to_queue"))))
        .transpose()?;
    // Warm transfers go to an agent; with a queue too, the agent is offered it first there.
    let target = match (agent, queue) {
        (Some(agent), None) => TransferTarget::Agent(agent),
        (Some(agent), Some(queue)) if !warm => TransferTarget::AgentInQueue(agent, queue),
        (None, Some(queue)) if !warm => TransferTarget::Queue(queue),
        (Some(_), Some(_)) | (None, Some(_)) => {
            return Err(engine::domain::ValidationError::invalid(
                "mode",
                "a warm transfer goes to one agent: give only to_agent",
            )
            .into());
        }
        (None, None) => {
            return Err(engine::domain::ValidationError::invalid(
                "to_agent",
                "give to_agent, to_queue or both",
            )
            .into());
        }
    };
    let note = optional_note(request.note)?;
    transfer_target_visible(&state, &principal, &target).await?;
    let conversation = visible(&state, &principal, &id).await?;
    let agent = actor(&principal)?;
    let supervises =
        matches!(&principal, Principal::Agent(owner) if owner.agent.role == AgentRole::Supervisor);
    // A supervisor hands a conversation of its team to an agent; moving one to another queue
    // stays its owner's decision.
    let to_agent = matches!(target, TransferTarget::Agent(_));
    if supervises && to_agent && conversation.owner().as_ref() != Some(&agent) {
        state
            .engine
            .reassign(&agent, conversation.id(), target, warm, note)
            .await?;
    } else {
        state
            .engine
            .transfer(&agent, conversation.id(), target, warm, note)
            .await?;
    }
    view(&state, conversation.id()).await
}

/// Follow a conversation of the team (CallTools' "join"): the caller is listed among its
/// `subscribers` and may then reply to the customer, add notes and record dispositions beside
/// the owner; only the owner completes, snoozes or transfers it. (Every teammate's socket
/// already receives the conversation's events, alerts included.) Replying subscribes too.
#[utoipa::path(post, path = "/v1/conversations/{id}/subscribe", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    responses(
        (status = 200, description = "The conversation, with the caller among its `subscribers`", body = ConversationView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`: closed", body = ErrorBody),
    ))]
pub async fn subscribe(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _: crate::extract::OptionalJson<EmptyRequest>,
) -> Result<HttpResponse, ApiError> {
    act(principal, &state, &id, async |engine, agent, c| {
        engine.subscribe(&agent, &c, true).await.map(|()| None)
    })
    .await
}

/// Stop following a conversation.
#[utoipa::path(post, path = "/v1/conversations/{id}/unsubscribe", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    responses(
        (status = 200, description = "The conversation, without the caller among its `subscribers`", body = ConversationView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`: closed", body = ErrorBody),
    ))]
pub async fn unsubscribe(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _: crate::extract::OptionalJson<EmptyRequest>,
) -> Result<HttpResponse, ApiError> {
    act(principal, &state, &id, async |engine, agent, c| {
        engine.subscribe(&agent, &c, false).await.map(|()| None)
    })
    .await
}

/// A transfer may go to any queue (conversations move between teams), but to an agent only
/// when the caller sees the agent (a shared team) or the agent works the queue named with it;
/// any other agent is 404, like one that does not exist.
async fn transfer_target_visible(
    state: &AppState,
    principal: &Principal,
    target: &TransferTarget,
) -> Result<(), ApiError> {
    let (agent, queue) = match target {
        TransferTarget::Agent(agent) => (agent, None),
        TransferTarget::AgentInQueue(agent, queue) => (agent, Some(queue)),
        TransferTarget::Queue(_) => return Ok(()),
    };
    let not_found = || ApiError::not_found("agent", agent.as_str());
    let target = state
        .catalog
        .find::<engine::domain::Agent>(agent.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    if target.team_ids.iter().any(|t| principal.sees_team(t)) {
        return Ok(());
    }
    if let Some(queue) = queue
        && let Some(stored) = state
            .catalog
            .find::<engine::domain::Queue>(queue.as_str())
            .await?
        && target.team_ids.contains(&stored.resource.team_id)
    {
        return Ok(());
    }
    Err(not_found())
}

/// Complete; needs a disposition where the queue says so.
#[utoipa::path(post, path = "/v1/conversations/{id}/complete", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    request_body(content = Option<EmptyRequest>, description = "Optional: no body, or `{}`"),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 201, description = "The new thread entry (replies and notes)", body = ThreadEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner, or not an agent token", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
        (status = 409, description = "`conversation_conflict` or `disposition_required`", body = ErrorBody),
    ))]
pub async fn complete(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _: crate::extract::OptionalJson<EmptyRequest>,
) -> Result<HttpResponse, ApiError> {
    act(principal, &state, &id, async |engine, agent, c| {
        engine.complete(&agent, &c).await.map(|()| None)
    })
    .await
}

/// Registers the routes (inside `/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let post_only = |path: &str, route: actix_web::Route| {
        web::resource(format!("/{{id}}/{path}"))
            .route(route)
            .default_service(method_not_allowed("POST"))
    };
    cfg.service(
        web::resource("")
            .route(web::get().to(super::conversation_list::list))
            .route(web::post().to(super::outbound::start))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .default_service(method_not_allowed("GET, PATCH")),
    )
    .service(
        web::resource("/{id}/messages")
            .route(web::get().to(thread))
            .route(web::post().to(reply))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/{id}/routing")
            .route(web::get().to(super::conversation_routing::history))
            .default_service(method_not_allowed("GET")),
    )
    .service(post_only("claim", web::post().to(claim)))
    .service(post_only("read", web::post().to(read)))
    .service(post_only("notes", web::post().to(note)))
    .service(post_only("dispositions", web::post().to(disposition)))
    .service(post_only("snooze", web::post().to(snooze)))
    .service(post_only("transfer", web::post().to(transfer)))
    .service(post_only("subscribe", web::post().to(subscribe)))
    .service(post_only("unsubscribe", web::post().to(unsubscribe)))
    .service(post_only("complete", web::post().to(complete)));
}
