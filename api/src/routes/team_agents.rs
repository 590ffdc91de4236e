//! `GET /v1/agents` as supervisors use it: a team's floor — each agent's configuration with
//! its routing state (presence and since when, queue logins, capacity, load, pending offers,
//! owned conversations). A supervisor sees the agents of its own teams (one of them with
//! `team=`); the admin gets the plain configuration list, or a team's floor with `team=`.
//! A plain agent is refused: its teammates are at `GET /v1/me/teammates`.

use actix_web::{HttpRequest, HttpResponse, web};
use engine::domain::{Agent, AgentRole, TeamId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::crud::{View, every_stored};
use super::work::AgentStateView;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ListQuery, encode_cursor, serde_urlencoded_from};
use crate::state::AppState;

/// The parameters of `GET /v1/agents` (the OpenAPI document adds `team` to the generic
/// list's `limit` and `cursor`, in `openapi.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentListFilter {
    /// Only this team's agents, each with its routing state (a supervisor: one of its teams).
    pub team: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Answers `GET /v1/agents`.
pub async fn list_agents(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let filter: AgentListFilter = serde_urlencoded_from(req.query_string())?;
    // Paging is checked as on every list: the same limits and cursor rules.
    let paging: String = req
        .query_string()
        .split('&')
        .filter(|pair| !pair.starts_with("team=") && *pair != "team" && !pair.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    let page = ListQuery::from_query(&paging)?;
    let team = filter
        .team
        .as_deref()
        .map(|t| {
            TeamId::parse(t).map_err(|_| {
                ApiError::new(ErrorCode::InvalidQuery, "team is not an id")
                    .with_details(json!({"field": "team"}))
            })
        })
        .transpose()?;
    let supervisor = match &principal {
        Principal::Admin => false,
        Principal::Agent(owner) => {
            if owner.agent.role != AgentRole::Supervisor {
                return Err(ApiError::forbidden(
                    "supervisors and the admin list agents; an agent's teammates are at /v1/me/teammates",
                ));
            }
            true
        }
    };
    if let Some(team) = &team
        && !principal.sees_team(team)
    {
        // Another team's id answers like one that does not exist.
        return Err(ApiError::not_found("team", team.as_str()));
    }
    if !supervisor && team.is_none() {
        return super::crud::list_page::<Agent>(&state, &page).await;
    }
    let after = page.after()?;
    // In id order already (the catalog lists by id), each with its timestamps and revision.
    let mut floor: Vec<_> = every_stored::<Agent>(&state)
        .await?
        .into_iter()
        .filter(|stored| match &team {
            Some(team) => stored.resource.team_ids.contains(team),
            None => stored
                .resource
                .team_ids
                .iter()
                .any(|t| principal.sees_team(t)),
        })
        .filter(|stored| {
            after
                .as_deref()
                .is_none_or(|a| stored.resource.id.as_str() > a)
        })
        .collect();
    let more = floor.len() > page.limit();
    floor.truncate(page.limit());
    let mut items = Vec::with_capacity(floor.len());
    for stored in &floor {
        let agent = &stored.resource;
        let routing = state.engine.agent_snapshot(&agent.id).await?;
        let mut item: Value =
            serde_json::to_value(View::from(stored)).map_err(ApiError::internal)?;
        item["state"] = serde_json::to_value(AgentStateView::new(&agent.id, routing))
            .map_err(ApiError::internal)?;
        items.push(item);
    }
    let next_cursor = more
        .then(|| floor.last().map(|s| encode_cursor(s.resource.id.as_str())))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next_cursor})))
}
