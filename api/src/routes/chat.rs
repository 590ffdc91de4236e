//! `/v1/chat/{agent_id}/messages`: internal chat between the caller and a teammate, never
//! sent to a customer. Agents chat with agents who share a team; anyone else is 404.

use actix_web::{HttpRequest, HttpResponse, web};
use engine::domain::{Agent, AgentId};
use protocol::ChatEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ValidJson, serde_urlencoded_from};
use crate::state::AppState;

/// A chat message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Can you take the Lopez text? I'm off at 5."}))]
pub struct ChatRequest {
    /// 1 to 1600 characters.
    #[schema(min_length = 1, max_length = 1600, pattern = r"[^\s\u0085]")]
    pub body: String,
}

/// A page of a chat thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatThread {
    /// Entries, oldest first.
    pub items: Vec<ChatEntry>,
}

/// `?from=&limit=` of a thread.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChatQuery {
    /// Position of the first entry (default 0).
    #[param(minimum = 0)]
    pub from: Option<u32>,
    /// Entries to return, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The caller and the teammate `raw`: 403 for the admin (chat is between agents), 404 for
/// an agent who shares no team with the caller, and for the caller itself.
async fn partners(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> Result<(AgentId, AgentId), ApiError> {
    let Principal::Agent(owner) = principal else {
        return Err(ApiError::forbidden("internal chat is between agents"));
    };
    let not_found = || ApiError::not_found("agent", raw);
    let id = AgentId::parse(raw).map_err(|_| not_found())?;
    let other = state
        .catalog
        .find::<Agent>(id.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    if !other.team_ids.iter().any(|t| principal.sees_team(t)) {
        return Err(not_found());
    }
    if other.id == owner.agent.id {
        // A chat is with a teammate; oneself is not one.
        return Err(ApiError::not_found("teammate", raw));
    }
    Ok((owner.agent.id.clone(), other.id))
}

/// Sends an internal chat message to a teammate.
#[utoipa::path(post, path = "/v1/chat/{agent_id}/messages", tag = "chat",
    params(("agent_id" = String, Path, description = "The teammate")),
    request_body = ChatRequest,
    responses(
        (status = 201, description = "The message, also pushed to both agents as `chat.message`", body = ChatEntry),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such agent in the caller's teams", body = ErrorBody),
    ))]
pub async fn send(
    principal: Principal,
    state: web::Data<AppState>,
    agent_id: web::Path<String>,
    body: ValidJson<ChatRequest>,
) -> Result<HttpResponse, ApiError> {
    let text = super::conversations::text("body", &body.0.body)?;
    let (me, other) = partners(&state, &principal, &agent_id).await?;
    let entry = state
        .chat
        .send(&me, &other, &text, state.engine.now())
        .await?;
    Ok(HttpResponse::Created().json(entry))
}

/// The chat thread with a teammate, oldest first.
#[utoipa::path(get, path = "/v1/chat/{agent_id}/messages", tag = "chat",
    params(("agent_id" = String, Path, description = "The teammate"), ChatQuery),
    responses(
        (status = 200, description = "The thread", body = ChatThread),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such agent in the caller's teams", body = ErrorBody),
    ))]
pub async fn thread(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    agent_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let query: ChatQuery = serde_urlencoded_from(req.query_string())?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "limit must be between 1 and 200",
        ));
    }
    let (me, other) = partners(&state, &principal, &agent_id).await?;
    let items = state
        .chat
        .thread(
            &me,
            &other,
            query.from.unwrap_or(0) as usize,
            limit as usize,
        )
        .await?;
    Ok(HttpResponse::Ok().json(ChatThread { items }))
}

/// Registers the routes (inside `/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{agent_id}/messages")
            .route(web::get().to(thread))
            .route(web::post().to(send))
            .default_service(method_not_allowed("GET, POST")),
    );
}
