//! `GET /v1/conversations/{id}/routing`: why each offer of a conversation went to its agent —
//! the supervisor's "why did this conversation go to that agent?".

use actix_web::{HttpResponse, web};
use engine::domain::AgentRole;
use protocol::routing::RoutingDecision;
use serde::Serialize;
use utoipa::ToSchema;

use super::conversations::visible;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A conversation's routing history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingHistory {
    /// One decision per offer, oldest first (the newest 50).
    pub items: Vec<RoutingDecision>,
}

/// A conversation's routing history: for each offer, how the agent was chosen, what the
/// conversation needed at the escalation step in force, and the rule that kept each other
/// agent from it. For supervisors of its team and the admin.
#[utoipa::path(get, path = "/v1/conversations/{id}/routing", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    responses(
        (status = 200, description = "Its routing decisions, oldest first", body = RoutingHistory),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent who is not a supervisor", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
    ))]
pub async fn history(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let conversation = visible(&state, &principal, &id).await?;
    if let Principal::Agent(agent) = &principal
        && agent.agent.role != AgentRole::Supervisor
    {
        return Err(ApiError::forbidden(
            "the routing history is for supervisors",
        ));
    }
    let items = state.engine.routing_history(conversation.id()).await?;
    Ok(HttpResponse::Ok().json(RoutingHistory { items }))
}
