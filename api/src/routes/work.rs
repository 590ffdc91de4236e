//! Agent work: presence, queue logins, answering offers, and a queue's live stats (the
//! beacon). Visibility follows teams: what the caller may not see is 404, what it sees but may
//! not do is 403.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use engine::domain::{Agent, AgentId, Presence, Slug, Team, ValidationError};
use engine::routing::protocol::Answer;
use engine::runtime::AgentSnapshot;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ValidJson;
use crate::state::AppState;
use crate::visibility::visible_queue;

/// A presence change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// `available` takes offers; `away` and `offline` take none.
    pub presence: Presence,
    /// With `away`: why (one of the agent's teams' `away_reasons`, e.g. `break`, `lunch`);
    /// reported in statistics and metrics. Not allowed with another presence.
    #[schema(value_type = Option<String>, example = "lunch")]
    pub reason: Option<String>,
}

/// The away reason of a presence change, checked against the agent's teams' reasons.
async fn away_reason(
    state: &AppState,
    agent: &Agent,
    request: &PresenceRequest,
) -> Result<Option<String>, ApiError> {
    let Some(reason) = &request.reason else {
        return Ok(None);
    };
    if request.presence != Presence::Away {
        return Err(ValidationError::NotApplicable {
            field: "reason".into(),
            message: "is given only with presence away".into(),
        }
        .into());
    }
    let reason = Slug::parse("reason", reason)?;
    let mut allowed = Vec::new();
    for team in &agent.team_ids {
        if let Some(team) = state.catalog.find::<Team>(team.as_str()).await? {
            allowed.extend(team.resource.away_reasons);
        }
    }
    if !allowed.contains(&reason) {
        let mut names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        names.sort();
        names.dedup();
        return Err(ValidationError::invalid(
            "reason",
            format!(
                "is not an away reason of the agent's teams ({})",
                names.join(", ")
            ),
        )
        .into());
    }
    Ok(Some(reason.to_string()))
}

/// The queues to be logged into (replaces the current set; `[]` logs out of all).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueuesRequest {
    /// Queues of the agent's teams.
    #[schema(value_type = Vec<crate::schema::IdText>, max_items = 100)]
    pub queue_ids: Vec<String>,
}

/// One offer holding a slot of the agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    /// Answer it with `POST /v1/offers/{offer_id}/accept` or `/reject`.
    pub offer_id: String,
    /// The conversation offered.
    pub conversation_id: String,
}

/// An agent's routing state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStateView {
    /// The agent.
    pub agent_id: String,
    /// `offline`, `available` or `away`.
    pub presence: Presence,
    /// Since when (time in state counts up from it; this process's start for an agent not
    /// seen since).
    pub presence_since: Option<protocol::Time>,
    /// Why it is away: the reason it gave (one of its teams' `away_reasons`) or
    /// `missed_offers`; absent when not away or no reason was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub away_reason: Option<String>,
    /// Queues logged into.
    pub queue_ids: Vec<String>,
    /// Conversations it may hold at once.
    pub capacity: u16,
    /// Offered plus owned now.
    pub load: u16,
    /// Pending offers.
    pub offers: Vec<OfferView>,
    /// Conversations it owns.
    pub owned_conversation_ids: Vec<String>,
}

impl AgentStateView {
    pub(crate) fn new(agent: &AgentId, state: AgentSnapshot) -> Self {
        Self {
            agent_id: agent.to_string(),
            presence: state.presence,
            presence_since: chrono::DateTime::from_timestamp_millis(state.presence_since)
                .map(protocol::Time),
            away_reason: state.away_reason.clone(),
            queue_ids: state.logins.iter().map(ToString::to_string).collect(),
            capacity: state.capacity,
            load: state.load,
            offers: state
                .offers
                .iter()
                .map(|(o, c)| OfferView {
                    offer_id: o.to_string(),
                    conversation_id: c.to_string(),
                })
                .collect(),
            owned_conversation_ids: state.owned.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A queue's live numbers: the REST answer and the websocket's `queue.stats`.
pub use protocol::frame::QueueStats as QueueStatsView;

/// The agent `id`, if the caller may see it (404 otherwise) and act for it (403 otherwise).
pub(crate) async fn agent_for(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Agent, ApiError> {
    let not_found = || ApiError::not_found("agent", id);
    let Ok(agent_id) = AgentId::parse(id) else {
        return Err(not_found());
    };
    let agent = state
        .catalog
        .find::<Agent>(agent_id.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    let visible = matches!(principal, Principal::Admin)
        || agent.team_ids.iter().any(|t| principal.sees_team(t))
        || matches!(principal, Principal::Agent(owner) if owner.agent.id == agent.id);
    if !visible {
        return Err(not_found());
    }
    if !principal.acts_for(&agent) {
        return Err(ApiError::forbidden(
            "only the agent itself, a supervisor of its team or the admin may do this",
        ));
    }
    Ok(agent)
}

/// An agent as the desktop and the admin see it: its configuration, and under `state` its
/// routing state (presence, queue logins, capacity, load, pending offers, owned
/// conversations). `state.load == 0` with no offers and presence `available` means nothing
/// waits for it.
pub async fn get_agent(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::crud::checked_path_id::<Agent>(&id)?;
    let agent = agent_for(&state, &principal, &id).await?;
    let stored = state.catalog.get::<Agent>(agent.id.as_str()).await?;
    let routing = state.engine.agent_snapshot(&agent.id).await?;
    let mut body =
        serde_json::to_value(super::crud::View::from(&stored)).map_err(ApiError::internal)?;
    body["state"] = serde_json::to_value(AgentStateView::new(&agent.id, routing))
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(body))
}

/// Sets an agent's presence.
#[utoipa::path(put, path = "/v1/agents/{id}/presence", tag = "work",
    params(("id" = String, Path, description = "The agent")),
    request_body = PresenceRequest,
    responses(
        (status = 200, description = "The agent's routing state", body = AgentStateView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another agent", body = ErrorBody),
        (status = 404, description = "No such agent (or not visible)", body = ErrorBody),
        (status = 422, description = "`field_not_applicable`: a reason with a presence other than away", body = ErrorBody),
    ))]
pub async fn set_presence(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<PresenceRequest>,
) -> Result<HttpResponse, ApiError> {
    let agent = agent_for(&state, &principal, &id).await?;
    let reason = away_reason(&state, &agent, &body.0).await?;
    let view = state
        .engine
        .set_presence(&agent.id, body.0.presence, reason)
        .await?;
    tracing::info!(agent_id = %agent.id, presence = ?view.presence, "presence set");
    Ok(HttpResponse::Ok().json(AgentStateView::new(&agent.id, view)))
}

/// An agent's routing state: presence, queue logins, load, pending offers, owned conversations.
#[utoipa::path(get, path = "/v1/agents/{id}/presence", tag = "work",
    params(("id" = String, Path, description = "The agent")),
    responses(
        (status = 200, description = "The agent's routing state", body = AgentStateView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another agent", body = ErrorBody),
        (status = 404, description = "No such agent (or not visible)", body = ErrorBody),
    ))]
pub async fn get_presence(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let agent = agent_for(&state, &principal, &id).await?;
    let view = state.engine.agent_snapshot(&agent.id).await?;
    Ok(HttpResponse::Ok().json(AgentStateView::new(&agent.id, view)))
}

/// Replaces the queues an agent is logged into; each must belong to one of its teams.
#[utoipa::path(put, path = "/v1/agents/{id}/queues", tag = "work",
    params(("id" = String, Path, description = "The agent")),
    request_body = QueuesRequest,
    responses(
        (status = 200, description = "The agent's routing state", body = AgentStateView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another agent, or a queue of another team", body = ErrorBody),
        (status = 404, description = "No such agent or queue (or not visible)", body = ErrorBody),
    ))]
pub async fn set_queues(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<QueuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let agent = agent_for(&state, &principal, &id).await?;
    let mut queues = BTreeSet::new();
    for raw in &body.0.queue_ids {
        let queue = visible_queue(&state, &principal, raw).await?;
        if !agent.team_ids.contains(&queue.team_id) {
            return Err(ApiError::forbidden(format!(
                "queue {raw} belongs to a team the agent is not in"
            ))
            .with_details(json!({"queue_id": raw})));
        }
        queues.insert(queue.id);
    }
    let view = state.engine.set_logins(&agent.id, queues).await?;
    Ok(HttpResponse::Ok().json(AgentStateView::new(&agent.id, view)))
}

async fn answer(
    principal: Principal,
    state: &AppState,
    offer: &str,
    answer: Answer,
) -> Result<HttpResponse, ApiError> {
    let Principal::Agent(owner) = principal else {
        return Err(ApiError::forbidden(
            "offers are answered with the agent's own token",
        ));
    };
    state
        .engine
        .answer_offer(&owner.agent.id, offer, answer)
        .await?;
    tracing::info!(agent_id = %owner.agent.id, ?answer, "offer answered");
    Ok(HttpResponse::NoContent().finish())
}

/// Accepts an offer: the conversation becomes the agent's.
#[utoipa::path(post, path = "/v1/offers/{id}/accept", tag = "work",
    params(("id" = String, Path, description = "The offer")),
    responses(
        (status = 204, description = "Accepted"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 409, description = "`stale_offer`: answered, expired, rescinded or another agent's", body = ErrorBody),
    ))]
pub async fn accept(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer(principal, &state, &id, Answer::Accept).await
}

/// Rejects an offer: it goes to the next agent.
#[utoipa::path(post, path = "/v1/offers/{id}/reject", tag = "work",
    params(("id" = String, Path, description = "The offer")),
    responses(
        (status = 204, description = "Rejected"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 409, description = "`stale_offer`: answered, expired, rescinded or another agent's", body = ErrorBody),
    ))]
pub async fn reject(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer(principal, &state, &id, Answer::Reject).await
}

/// A queue's live numbers (the beacon).
#[utoipa::path(get, path = "/v1/queues/{id}/stats", tag = "work",
    params(("id" = String, Path, description = "The queue")),
    responses(
        (status = 200, description = "Live numbers", body = QueueStatsView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such queue (or not visible)", body = ErrorBody),
    ))]
pub async fn queue_stats(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let queue = visible_queue(&state, &principal, &id).await?;
    Ok(HttpResponse::Ok().json(current_stats(&state.engine, &queue.id).await?))
}

/// The numbers of `queue` now.
pub async fn current_stats(
    engine: &engine::runtime::Engine,
    queue: &engine::domain::QueueId,
) -> Result<QueueStatsView, engine::runtime::EngineError> {
    let view = engine.queue_snapshot(queue).await?;
    let longest = view
        .oldest_waiting_since
        .map_or(0, |since| ((engine.now() - since) / 1000).max(0));
    Ok(QueueStatsView {
        queue_id: queue.to_string(),
        waiting: view.waiting,
        longest_wait_secs: longest,
        oldest_waiting_since: view.oldest_waiting_since.map(protocol::time::from_millis),
        agents_ready: view.agents_ready,
        waiting_by_campaign: view.waiting_by_campaign,
        offers_by_outcome: view
            .offers_by_outcome
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    })
}

/// Registers the agents' routes (inside `/agents`).
pub fn configure_agents(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/presence")
            .route(web::put().to(set_presence))
            .route(web::get().to(get_presence))
            .default_service(method_not_allowed("GET, PUT")),
    )
    .service(
        web::resource("/{id}/queues")
            .route(web::put().to(set_queues))
            .default_service(method_not_allowed("PUT")),
    );
}

/// Registers the offers' routes (inside `/offers`).
pub fn configure_offers(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/accept")
            .route(web::post().to(accept))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/{id}/reject")
            .route(web::post().to(reject))
            .default_service(method_not_allowed("POST")),
    );
}

/// Registers the queues' live numbers (inside `/queues`).
pub fn configure_queues(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/stats")
            .route(web::get().to(queue_stats))
            .default_service(method_not_allowed("GET")),
    );
}
