//! What a desktop reads with an agent's token to draw its screens: the caller itself (its
//! teams, the queues it may log into, its default campaign and routing state), the
//! disposition codes a queue's agents choose from, the templates an outbound start may use,
//! and the teammates it can chat with or transfer to. Everything here is scoped by the
//! caller's teams, as the rest of the API is; the admin sees every team.

use actix_web::{HttpRequest, HttpResponse, web};
use engine::domain::{Agent, AgentRole, Disposition, PhoneNumber, Presence, Queue, Team};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::crud::{every, method_not_allowed};
use super::quick_replies::{QuickReplyList, RenderContext, applicable};
use super::work::AgentStateView;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::visibility::visible_queue;

/// A team, as members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamBrief {
    /// The team.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The reasons its agents may give for being away (`PUT /v1/agents/{id}/presence`).
    pub away_reasons: Vec<String>,
}

/// A queue the caller may log into.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueBrief {
    /// The queue.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its team.
    pub team_id: String,
    /// Whether completing its conversations needs a disposition.
    pub disposition_required: bool,
}

/// The caller's agent, as configured.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentBrief {
    /// The agent.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `agent` or `supervisor`.
    pub role: AgentRole,
    /// Its teams.
    pub team_ids: Vec<String>,
    /// Conversations it may hold at once.
    pub capacity: u16,
    /// The campaign its outbound starts use when they name no number or campaign.
    pub default_campaign: Option<String>,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// `admin`, `agent` or `supervisor`.
    pub role: String,
    /// The caller's agent; `null` for the admin token.
    pub agent: Option<AgentBrief>,
    /// The teams it sees (the admin: every team).
    pub teams: Vec<TeamBrief>,
    /// The queues it may log into (those of its teams).
    pub queues: Vec<QueueBrief>,
    /// Its routing state (presence, logins, load, offers, owned conversations); `null` for
    /// the admin token.
    pub state: Option<AgentStateView>,
}

/// A disposition code agents choose from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispositionChoice {
    /// The code to send (`POST /v1/conversations/{id}/dispositions`).
    pub code: String,
    /// What to show.
    pub label: String,
}

/// The codes of one queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispositionChoices {
    /// The queue.
    pub queue_id: String,
    /// Whether completing needs at least one disposition.
    pub required: bool,
    /// The active codes, by label.
    pub items: Vec<DispositionChoice>,
}

/// A teammate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeammateView {
    /// The agent.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `agent` or `supervisor`.
    pub role: AgentRole,
    /// Its teams (among the caller's).
    pub team_ids: Vec<String>,
    /// `offline`, `available` or `away`.
    pub presence: Presence,
    /// Offered plus owned conversations now.
    pub load: u16,
    /// Conversations it may hold at once.
    pub capacity: u16,
    /// Its whole routing state (logins, offers, owned conversations, time in state): for
    /// supervisors and the admin only.
    pub state: Option<AgentStateView>,
}

/// The caller's teammates.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeammateList {
    /// By id; the caller itself is left out.
    pub items: Vec<TeammateView>,
}

/// Which outbound start the templates are for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboundTemplatesQuery {
    /// The business number the text would leave from (E.164 or id).
    pub number: Option<String>,
    /// Or its campaign; with neither, the agent's default campaign.
    pub campaign: Option<String>,
    /// The customer, to render their contact fields (`{{contact.first_name}}`).
    pub to: Option<String>,
}

/// Who calls: `GET /v1/me`.
#[utoipa::path(get, path = "/v1/me", tag = "directory",
    responses(
        (status = 200, description = "The caller, its teams and queues, and its routing state", body = MeView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn me(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let teams = every::<Team>(&state)
        .await?
        .into_iter()
        .filter(|t| principal.sees_team(&t.id))
        .map(|t| TeamBrief {
            id: t.id.to_string(),
            name: t.name.to_string(),
            away_reasons: t.away_reasons.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let queues = every::<Queue>(&state)
        .await?
        .into_iter()
        .filter(|q| principal.sees_team(&q.team_id))
        .map(|q| QueueBrief {
            id: q.id.to_string(),
            name: q.name.to_string(),
            team_id: q.team_id.to_string(),
            disposition_required: q.disposition_required,
        })
        .collect();
    let (agent, routing) = match &principal {
        Principal::Admin => (None, None),
        Principal::Agent(owner) => {
            let agent = &owner.agent;
            let routing = state.engine.agent_snapshot(&agent.id).await?;
            (
                Some(AgentBrief {
                    id: agent.id.to_string(),
                    name: agent.name.to_string(),
                    role: agent.role,
                    team_ids: agent.team_ids.iter().map(ToString::to_string).collect(),
                    capacity: agent.capacity.get(),
                    default_campaign: agent.default_campaign.as_ref().map(ToString::to_string),
                }),
                Some(AgentStateView::new(&agent.id, routing)),
            )
        }
    };
    Ok(HttpResponse::Ok().json(MeView {
        role: principal.role().to_owned(),
        agent,
        teams,
        queues,
        state: routing,
    }))
}

/// The disposition codes a queue's agents choose from: `GET /v1/queues/{id}/dispositions`.
#[utoipa::path(get, path = "/v1/queues/{id}/dispositions", tag = "directory",
    params(("id" = String, Path, description = "The queue")),
    responses(
        (status = 200, description = "The active codes, and whether one is required to complete", body = DispositionChoices),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such queue (or another team's)", body = ErrorBody),
    ))]
pub async fn queue_dispositions(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let queue = visible_queue(&state, &principal, &id).await?;
    let mut items: Vec<DispositionChoice> = every::<Disposition>(&state)
        .await?
        .into_iter()
        .filter(|d| d.active)
        .map(|d| DispositionChoice {
            code: d.code.to_string(),
            label: d.label.to_string(),
        })
        .collect();
    items.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.code.cmp(&b.code)));
    Ok(HttpResponse::Ok().json(DispositionChoices {
        queue_id: queue.id.to_string(),
        required: queue.disposition_required,
        items,
    }))
}

/// The templates an outbound start may use: `GET /v1/me/templates`.
#[utoipa::path(get, path = "/v1/me/templates", tag = "directory",
    params(OutboundTemplatesQuery),
    responses(
        (status = 200, description = "Templates that apply to a text from that number (campaign, its queue, its team, global), rendered for the caller and, with `to`, the customer", body = QuickReplyList),
        (status = 400, description = "`invalid_query`, `invalid_phone_number`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such number or campaign in the caller's teams", body = ErrorBody),
        (status = 422, description = "`sending_number_required`: no `number` or `campaign`, and the agent has no `default_campaign`", body = ErrorBody),
    ))]
pub async fn outbound_templates(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: OutboundTemplatesQuery = crate::extract::serde_urlencoded_from(req.query_string())?;
    let Principal::Agent(owner) = &principal else {
        return Err(ApiError::forbidden(
            "outbound templates are for an agent's token",
        ));
    };
    let campaign = query.campaign.clone().or_else(|| {
        owner
            .agent
            .default_campaign
            .as_ref()
            .map(ToString::to_string)
    });
    let number = super::outbound::sending_number(
        &state,
        &principal,
        query.number.as_deref(),
        campaign.as_deref(),
    )
    .await?;
    let customer = match &query.to {
        Some(raw) => PhoneNumber::parse("to", raw)?,
        // Without a customer, contact placeholders stay unfilled (listed as missing).
        None => number.phone.clone(),
    };
    let mut context = RenderContext::for_parts(
        &state,
        &principal,
        customer,
        number.campaign.to_string(),
        number.queue_id.clone(),
    )
    .await?;
    if query.to.is_none() {
        context.forget_contact();
    }
    let items = applicable(&state, &context).await?;
    Ok(HttpResponse::Ok().json(QuickReplyList { items }))
}

/// The caller's teammates: `GET /v1/me/teammates`.
#[utoipa::path(get, path = "/v1/me/teammates", tag = "directory",
    responses(
        (status = 200, description = "Agents sharing a team with the caller, with presence and load; supervisors (and the admin) also get each one's routing state and time in state", body = TeammateList),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn teammates(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (me, supervises) = match &principal {
        Principal::Admin => (None, true),
        Principal::Agent(owner) => (
            Some(owner.agent.id.clone()),
            owner.agent.role == AgentRole::Supervisor,
        ),
    };
    let mut items = Vec::new();
    for agent in every::<Agent>(&state).await? {
        let shared: Vec<String> = agent
            .team_ids
            .iter()
            .filter(|t| principal.sees_team(t))
            .map(ToString::to_string)
            .collect();
        if shared.is_empty() || me.as_ref() == Some(&agent.id) {
            continue;
        }
        let routing = state.engine.agent_snapshot(&agent.id).await?;
        items.push(TeammateView {
            id: agent.id.to_string(),
            name: agent.name.to_string(),
            role: agent.role,
            team_ids: shared,
            presence: routing.presence,
            load: routing.load,
            capacity: routing.capacity,
            state: supervises.then(|| AgentStateView::new(&agent.id, routing)),
        });
    }
    Ok(HttpResponse::Ok().json(TeammateList { items }))
}

/// Registers the routes (inside `/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("")
            .route(web::get().to(me))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/templates")
            .route(web::get().to(outbound_templates))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/teammates")
            .route(web::get().to(teammates))
            .default_service(method_not_allowed("GET")),
    );
}

/// Registers a queue's dispositions for its agents (inside `/queues`).
pub fn configure_queues(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/dispositions")
            .route(web::get().to(queue_dispositions))
            .default_service(method_not_allowed("GET")),
    );
}
