//! Who is calling: the admin (the configured token) or an agent or supervisor (an issued
//! token), read from `Authorization: Bearer <token>`.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use engine::catalog::TokenOwner;
use engine::domain::AgentRole;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The operator's admin token: configuration and everything else.
    Admin,
    /// An issued token, acting as its agent with the agent's current role.
    Agent(TokenOwner),
}

impl Principal {
    /// Whether the caller may see resources of `team`: the admin sees all, agents and
    /// supervisors their own teams'.
    pub fn sees_team(&self, team: &engine::domain::TeamId) -> bool {
        match self {
            Self::Admin => true,
            Self::Agent(owner) => owner.agent.team_ids.contains(team),
        }
    }

    /// Whether the caller may act for `agent` (presence, queue logins): the admin, the agent
    /// itself, or a supervisor of one of its teams.
    pub fn acts_for(&self, agent: &engine::domain::Agent) -> bool {
        match self {
            Self::Admin => true,
            Self::Agent(owner) => {
                owner.agent.id == agent.id
                    || (owner.agent.role == AgentRole::Supervisor
                        && agent
                            .team_ids
                            .iter()
                            .any(|t| owner.agent.team_ids.contains(t)))
            }
        }
    }

    /// The caller's role name, for logs and errors.
    pub fn role(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent(owner) => match owner.agent.role {
                AgentRole::Agent => "agent",
                AgentRole::Supervisor => "supervisor",
            },
        }
    }
}

/// The bearer token of `Authorization`, if any.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Middleware for the authenticated routes: resolves the bearer token once, before any
/// extractor runs, so that a request with a bad token is a 401 whatever else is wrong with
/// it (extractors run concurrently; a body error must not reveal itself to a stranger).
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(token) = bearer(req.request()) {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("AppState is not registered"))?;
        let client = client_address(req.request());
        let principal = resolve_limited(&state, client.as_deref(), &token).await?;
        req.extensions_mut().insert(principal);
    }
    next.call(req).await
}

/// The client's address, without its port: the forwarding proxy's account of it
/// (`Forwarded`, `X-Forwarded-For`) when there is one, else the peer's.
pub fn client_address(req: &HttpRequest) -> Option<String> {
    let info = req.connection_info();
    let raw = info.realip_remote_addr()?;
    Some(match raw.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => raw.to_owned(),
    })
}

/// [`resolve`], refused with `429 too_many_attempts` while the client or the token's prefix
/// is past its failed-authentication limit (see [`crate::auth_limit`]); a failure counts.
pub async fn resolve_limited(
    state: &AppState,
    client: Option<&str>,
    token: &str,
) -> Result<Principal, ApiError> {
    let keys = crate::auth_limit::keys(client, token);
    let now = std::time::Instant::now();
    if let Err(wait) = state.failed_auth.check(&keys, now) {
        return Err(ApiError::new(
            crate::error::ErrorCode::TooManyAttempts,
            "too many failed authentications from this client or for this token; retry later",
        )
        .with_details(serde_json::json!({"retry_after_secs": wait})));
    }
    let resolved = resolve(state, token).await;
    if let Err(e) = &resolved
        && e.code == crate::error::ErrorCode::Unauthorized
    {
        engine::metrics::metrics()
            .auth_failures
            .with_label_values(&["token"])
            .inc();
        if state.failed_auth.fail(&keys, now) {
            tracing::warn!(
                client,
                "failed authentications reached the limit; refused for the rest of the minute"
            );
        }
    }
    resolved
}

/// The principal a token stands for: the admin's, or an issued token's agent; 401 when
/// nobody issued it.
pub async fn resolve(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if state.is_admin_token(token) {
        return Ok(Principal::Admin);
    }
    match state.catalog.authenticate(token).await? {
        Some(owner) => Ok(Principal::Agent(owner)),
        None => Err(ApiError::unauthorized()),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .ok_or_else(ApiError::unauthorized),
        )
    }
}

/// A caller that must be the admin: 401 without a valid token, 403 with another role's.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            Principal::from_request(req, payload).into_inner().and_then(
                |principal| match principal {
                    Principal::Admin => Ok(Admin),
                    other => Err(ApiError::forbidden(format!(
                        "this route needs the admin token; the caller is an {}",
                        other.role()
                    ))),
                },
            ),
        )
    }
}
