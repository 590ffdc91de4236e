//! `/v1/agents`: agents and supervisors, and the API tokens issued to them
//! (`/v1/agents/{id}/tokens`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use engine::catalog::Stored;
use engine::domain::{
    Agent, AgentId, AgentRole, Capacity, Name, TeamId, Token, TokenId, ValidationError,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate, method_not_allowed};
use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::parse_json;
use crate::state::AppState;

/// A new agent or supervisor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dana Reyes", "role": "agent", "team_ids": ["billing"], "capacity": 3}))]
pub struct CreateAgent {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Display name.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
    /// Default `agent`.
    pub role: Option<AgentRole>,
    /// Teams (each must exist; at most 50, no repeats). Default none.
    #[schema(value_type = Option<Vec<crate::schema::IdText>>, max_items = 50)]
    pub team_ids: Option<Vec<String>>,
    /// Conversations held at once, 1 to 100 (default 3).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<Capacity>)]
    pub capacity: Option<i64>,
    /// The campaign the agent's outbound starts use when they name no number or campaign.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub default_campaign: Option<String>,
    /// The agent's skills: skill to level, 1 to 5 (`{"spanish": 3}`).
    #[schema(value_type = Option<BTreeMap<String, u8>>, example = json!({"spanish": 3}))]
    pub skills: Option<BTreeMap<String, i64>>,
}

/// Changes to an agent; `team_ids` replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAgent {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
    /// A new role; applies to the agent's tokens at once.
    pub role: Option<AgentRole>,
    /// The new list of teams.
    #[schema(value_type = Option<Vec<crate::schema::IdText>>, max_items = 50)]
    pub team_ids: Option<Vec<String>>,
    /// A new capacity.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<Capacity>)]
    pub capacity: Option<i64>,
    /// A new default campaign, or `null` for none.
    #[serde(default, deserialize_with = "super::crud::double_option")]
    #[schema(value_type = Option<crate::schema::NameText>, nullable)]
    pub default_campaign: Option<Option<String>>,
    /// The agent's skills, replacing the old ones: skill to level, 1 to 5.
    #[schema(value_type = Option<BTreeMap<String, u8>>, example = json!({"spanish": 3}))]
    pub skills: Option<BTreeMap<String, i64>>,
}

/// Parses a list of team ids; a team listed twice counts once (the list is a set).
fn team_ids(raw: &[String]) -> Result<Vec<TeamId>, ValidationError> {
    let mut teams: Vec<TeamId> = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let team = TeamId::parse(id.as_str()).map_err(|e| e.at(format!("team_ids[{i}]")))?;
        if !teams.contains(&team) {
            teams.push(team);
        }
    }
    Ok(teams)
}

impl ResourceApi for Agent {
    const PATH: &'static str = "/v1/agents";
    const TAG: &'static str = "agents";
    type Create = CreateAgent;
    type Patch = PatchAgent;

    fn get_route() -> actix_web::Route {
        actix_web::web::get().to(super::work::get_agent)
    }

    fn list_route() -> actix_web::Route {
        actix_web::web::get().to(super::team_agents::list_agents)
    }

    fn create(input: CreateAgent) -> Result<Self, ValidationError> {
        Ok(Agent {
            id: id_or_generate(input.id, AgentId::parse, AgentId::generate)?,
            name: Name::parse("name", &input.name)?,
            role: input.role.unwrap_or_default(),
            team_ids: team_ids(input.team_ids.as_deref().unwrap_or_default())?,
            capacity: input
                .capacity
                .map(Capacity::new)
                .transpose()?
                .unwrap_or_default(),
            default_campaign: input
                .default_campaign
                .map(|c| Name::parse("default_campaign", &c))
                .transpose()?,
            skills: super::skills_input::agent_skills(&input.skills.unwrap_or_default())?,
        })
    }

    fn patch(mut self, input: &PatchAgent) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        if let Some(role) = input.role {
            self.role = role;
        }
        if let Some(teams) = &input.team_ids {
            self.team_ids = team_ids(teams)?;
        }
        if let Some(capacity) = input.capacity {
            self.capacity = Capacity::new(capacity)?;
        }
        if let Some(campaign) = &input.default_campaign {
            self.default_campaign = campaign
                .as_deref()
                .map(|c| Name::parse("default_campaign", c))
                .transpose()?;
        }
        if let Some(skills) = &input.skills {
            self.skills = super::skills_input::agent_skills(skills)?;
        }
        Ok(self)
    }
}

/// The optional body of a token request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueTokenRequest {
    /// A note telling the agent's tokens apart, e.g. `front desk PC`.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub label: Option<String>,
}

/// A token as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The token's id, to revoke it.
    #[schema(value_type = String)]
    pub id: TokenId,
    /// The agent it acts as.
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    /// Its note.
    #[schema(value_type = Option<String>)]
    pub label: Option<Name>,
    /// When it was issued.
    pub created_at: protocol::Time,
}

impl From<&Stored<Token>> for TokenView {
    fn from(stored: &Stored<Token>) -> Self {
        Self {
            id: stored.resource.id.clone(),
            agent_id: stored.resource.agent_id.clone(),
            label: stored.resource.label.clone(),
            created_at: stored.created_at.into(),
        }
    }
}

/// A token just issued: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenView {
    /// The token's record.
    #[serde(flatten)]
    pub record: TokenView,
    /// The bearer secret; store it now, it cannot be shown again.
    #[serde(rename = "token")]
    #[schema(example = "sbt_3q2-7wEVKVeaAzXvWbGqg0yVmvCR4k7qBBdjm3tGsXU")]
    pub secret: String,
    /// The role it acts with (the agent's role, which may change later).
    pub role: AgentRole,
}

/// The list of an agent's tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// Every token, in id order.
    pub items: Vec<TokenView>,
}

fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|_| ApiError::not_found("agent", raw))
}

/// Issues a token for the agent. The secret is in this answer only; it is stored hashed.
#[utoipa::path(post, path = "/v1/agents/{id}/tokens", tag = "agents",
    params(("id" = String, Path, description = "The agent")),
    request_body(content = Option<IssueTokenRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The token, with its secret shown once", body = IssuedTokenView),
        (status = 400, description = "Bad input", body = crate::error::ErrorBody),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "No such agent", body = crate::error::ErrorBody),
    ))]
pub async fn issue_token(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let agent = agent_id(&id)?;
    // The body is optional: empty or `null` asks for a token without a label.
    let request: IssueTokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IssueTokenRequest::default()
    } else {
        parse_json::<Option<IssueTokenRequest>>(&body)?.unwrap_or_default()
    };
    let label = request
        .label
        .as_deref()
        .map(|l| Name::parse("label", l))
        .transpose()?;
    let issued = state.catalog.issue_token(&agent, label).await?;
    tracing::info!(agent_id = %agent, token_id = %issued.token.resource.id, "token issued");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(IssuedTokenView {
            record: TokenView::from(&issued.token),
            secret: issued.secret,
            role: issued.role,
        }))
}

/// Lists the agent's tokens, without secrets.
#[utoipa::path(get, path = "/v1/agents/{id}/tokens", tag = "agents",
    params(("id" = String, Path, description = "The agent")),
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "No such agent", body = crate::error::ErrorBody),
    ))]
pub async fn list_tokens(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.catalog.tokens_of(&agent_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        items: tokens.iter().map(TokenView::from).collect(),
    }))
}

/// Revokes a token: it stops working at once.
#[utoipa::path(delete, path = "/v1/agents/{id}/tokens/{token_id}", tag = "agents",
    params(("id" = String, Path, description = "The agent"), ("token_id" = String, Path, description = "The token")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "`unauthorized`", body = crate::error::ErrorBody),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "No such agent or token", body = crate::error::ErrorBody),
    ))]
pub async fn revoke_token(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (agent, token) = path.into_inner();
    let agent = agent_id(&agent)?;
    let token_id =
        TokenId::parse(token.as_str()).map_err(|_| ApiError::not_found("token", &token))?;
    state.catalog.revoke_token(&agent, &token_id).await?;
    tracing::info!(agent_id = %agent, token_id = %token_id, "token revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the token routes inside `/agents` (the agent CRUD routes come from
/// [`super::crud`]).
pub fn configure_tokens(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/tokens")
            .route(web::post().to(issue_token))
            .route(web::get().to(list_tokens))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/{id}/tokens/{token_id}")
            .route(web::delete().to(revoke_token))
            .default_service(method_not_allowed("DELETE")),
    );
}
