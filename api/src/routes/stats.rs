//! `/v1/stats`: statistics for desktops and wallboards that do not use Grafana. Each answer
//! has a window's cumulative figures (computed from stored conversations and the durable
//! offer counters, so a restart loses nothing) and a real-time part (waiting, longest wait,
//! agents by presence with time in state). Supervisors see their teams' queues, teams and
//! agents; an agent sees its own figures and its queues' real-time part; the admin sees all.
//! What is defined how is in `docs/statistics.md`.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use engine::domain::{Agent, AgentRole, Presence, Queue, QueueId, Team, TeamId};
use engine::stats::{Cumulative, Subject, Window};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::conversation_list::{directory_loading, parse_time};
use super::crud::{every, method_not_allowed};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::serde_urlencoded_from;
use crate::state::AppState;
use crate::visibility::visible_queue;

/// The longest window: a month.
const MAX_WINDOW_MS: i64 = 31 * 86_400_000;
/// Service-level thresholds when `split_by_wait_time` is absent.
const DEFAULT_THRESHOLDS: [u32; 3] = [30, 60, 300];
/// The most thresholds one request may ask for.
const MAX_THRESHOLDS: usize = 10;

/// The window and thresholds of a statistics request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The last this many minutes (1 to 44,640); not with `from`/`to`.
    pub minutes: Option<i64>,
    /// Window start (RFC 3339); default: today's UTC midnight.
    pub from: Option<String>,
    /// Window end (RFC 3339); default: now.
    pub to: Option<String>,
    /// Service-level thresholds in seconds, comma-separated (1 to 86,400; at most 10);
    /// default `30,60,300`.
    pub split_by_wait_time: Option<String>,
}

/// The window a statistics answer covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// Its start.
    pub from: protocol::Time,
    /// Its end.
    pub to: protocol::Time,
}

/// An agent in a real-time part.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentPresenceView {
    /// The agent.
    pub agent_id: String,
    /// Its presence.
    pub presence: Presence,
    /// Why it is away, when it said (or `missed_offers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub away_reason: Option<String>,
    /// Since when.
    pub presence_since: Option<protocol::Time>,
    /// Seconds in this presence so far.
    pub time_in_state_seconds: i64,
    /// Offered plus owned conversations.
    pub load: u16,
    /// Conversations it may hold at once.
    pub capacity: u16,
}

/// What is going on now.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Realtime {
    /// Conversations waiting in line (the queue's, or all the team's queues').
    pub waiting: usize,
    /// Seconds the longest-waiting one has waited.
    pub longest_wait_seconds: i64,
    /// Open conversations by status (`queued`, `owned`, `snoozed`): TaskRouter's tasks by
    /// status.
    pub conversations_by_status: BTreeMap<String, u64>,
    /// Agents who could take an offer now (queues only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents_ready: Option<usize>,
    /// Agents by presence (`offline`, `available`, `away`).
    pub agents_by_presence: BTreeMap<String, u64>,
    /// Away agents by reason (`unspecified` when none was given).
    pub away_by_reason: BTreeMap<String, u64>,
    /// Load over capacity of the agents not offline; absent when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<f64>,
    /// Each agent, with time in state.
    pub agents: Vec<AgentPresenceView>,
}

/// Statistics of a queue, a team or an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// `queue`, `team` or `agent`.
    pub subject: String,
    /// Its id.
    pub id: String,
    /// The window of the cumulative figures.
    pub window: WindowView,
    /// The window's figures; absent where the caller sees only the real-time part (an
    /// agent asking about a queue or team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cumulative: Option<Cumulative>,
    /// Now.
    pub realtime: Realtime,
}

/// Reads the window and thresholds.
fn window_of(query: &StatsQuery, now: i64) -> Result<(Window, Vec<u32>), ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::new(ErrorCode::InvalidQuery, message).with_details(json!({"field": field}))
    };
    let window = match (query.minutes, &query.from, &query.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(invalid("minutes", "give minutes or from/to, not both"));
        }
        (Some(minutes), None, None) => {
            if !(1..=44_640).contains(&minutes) {
                return Err(invalid("minutes", "minutes must be between 1 and 44640"));
            }
            Window {
                from: now - minutes * 60_000,
                to: now,
            }
        }
        (None, from, to) => {
            let from =
                parse_time("from", from.as_deref())?.unwrap_or(now - now.rem_euclid(86_400_000));
            let to = parse_time("to", to.as_deref())?.unwrap_or(now);
            if from > to {
                return Err(invalid("from", "from must not be after to"));
            }
            Window { from, to }
        }
    };
    if window.to - window.from > MAX_WINDOW_MS {
        return Err(invalid("from", "the window may span at most 31 days"));
    }
    let thresholds = match &query.split_by_wait_time {
        None => DEFAULT_THRESHOLDS.to_vec(),
        Some(list) => {
            let mut thresholds = Vec::new();
            for part in list.split(',') {
                match part.trim().parse::<u32>() {
                    Ok(t) if (1..=86_400).contains(&t) => thresholds.push(t),
                    _ => {
                        return Err(invalid(
                            "split_by_wait_time",
                            "split_by_wait_time is a comma-separated list of seconds, 1 to 86400",
                        ));
                    }
                }
            }
            thresholds.sort_unstable();
            thresholds.dedup();
            if thresholds.len() > MAX_THRESHOLDS {
                return Err(invalid("split_by_wait_time", "at most 10 thresholds"));
            }
            thresholds
        }
    };
    Ok((window, thresholds))
}

fn window_view(window: Window) -> WindowView {
    WindowView {
        from: protocol::time::from_millis(window.from),
        to: protocol::time::from_millis(window.to),
    }
}

/// Whether the caller is a supervisor or the admin (who see teams' figures).
fn oversees(principal: &Principal) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Agent(owner) => owner.agent.role == AgentRole::Supervisor,
    }
}

/// The window's figures, once the directory holds every conversation.
async fn figures(
    state: &AppState,
    subject: &Subject,
    window: Window,
    thresholds: &[u32],
) -> Result<Cumulative, ApiError> {
    if !state.engine.directory().is_complete() {
        return Err(directory_loading());
    }
    Ok(state
        .engine
        .window_figures(subject, window, thresholds)
        .await?)
}

/// The real-time part over `queues` and `agents`.
async fn realtime(
    state: &AppState,
    queues: &[QueueId],
    agents: &[Agent],
    with_ready: bool,
) -> Result<Realtime, ApiError> {
    let now = state.engine.now();
    let mut out = Realtime::default();
    let mut ready = 0;
    for queue in queues {
        let view = super::work::current_stats(&state.engine, queue).await?;
        out.waiting += view.waiting;
        out.longest_wait_seconds = out.longest_wait_seconds.max(view.longest_wait_secs);
        ready += view.agents_ready;
    }
    if with_ready {
        out.agents_ready = Some(ready);
    }
    for status in ["queued", "owned", "snoozed"] {
        out.conversations_by_status.insert(status.to_owned(), 0);
    }
    let scope: HashSet<QueueId> = queues.iter().cloned().collect();
    for (status, count) in state.engine.directory().open_by_status(&scope) {
        if let Some(name) = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
        {
            out.conversations_by_status.insert(name, count);
        }
    }
    for presence in ["offline", "available", "away"] {
        out.agents_by_presence.insert(presence.to_owned(), 0);
    }
    let (mut load, mut capacity) = (0u64, 0u64);
    for agent in agents {
        let snapshot = state.engine.agent_snapshot(&agent.id).await?;
        let presence = serde_json::to_value(snapshot.presence)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *out.agents_by_presence.entry(presence).or_default() += 1;
        if snapshot.presence == Presence::Away {
            let reason = snapshot
                .away_reason
                .clone()
                .unwrap_or_else(|| "unspecified".into());
            *out.away_by_reason.entry(reason).or_default() += 1;
        }
        if snapshot.presence != Presence::Offline {
            load += u64::from(snapshot.load);
            capacity += u64::from(snapshot.capacity);
        }
        out.agents.push(AgentPresenceView {
            agent_id: agent.id.to_string(),
            presence: snapshot.presence,
            away_reason: snapshot.away_reason,
            presence_since: Some(protocol::time::from_millis(snapshot.presence_since)),
            time_in_state_seconds: ((now - snapshot.presence_since) / 1000).max(0),
            load: snapshot.load,
            capacity: snapshot.capacity,
        });
    }
    out.occupancy = (capacity > 0).then(|| load as f64 / capacity as f64);
    Ok(out)
}

/// What one answer covers: its subject, the figures' subject (none: the caller sees only the
/// real-time part), and the queues and agents of the real-time part.
struct Answer<'a> {
    kind: &'static str,
    id: String,
    figures_of: Option<Subject>,
    queues: &'a [QueueId],
    agents: &'a [Agent],
    with_ready: bool,
}

/// Computes and sends an answer.
async fn answer(
    state: &AppState,
    ask: Answer<'_>,
    window: Window,
    thresholds: &[u32],
) -> Result<HttpResponse, ApiError> {
    let cumulative = match &ask.figures_of {
        Some(subject) => Some(figures(state, subject, window, thresholds).await?),
        None => None,
    };
    let realtime = realtime(state, ask.queues, ask.agents, ask.with_ready).await?;
    Ok(HttpResponse::Ok().json(StatsView {
        subject: ask.kind.into(),
        id: ask.id,
        window: window_view(window),
        cumulative,
        realtime,
    }))
}

/// The agents of `team`.
async fn team_agents(state: &AppState, team: &TeamId) -> Result<Vec<Agent>, ApiError> {
    Ok(every::<Agent>(state)
        .await?
        .into_iter()
        .filter(|a| a.team_ids.contains(team))
        .collect())
}

/// A queue's statistics: the window's figures (supervisors and the admin) and the real-time
/// part (also the agents of its team).
#[utoipa::path(get, path = "/v1/stats/queues/{id}", tag = "stats",
    params(("id" = String, Path, description = "The queue"), StatsQuery),
    responses(
        (status = 200, description = "The queue's statistics", body = StatsView),
        (status = 400, description = "`invalid_query`: a bad window or threshold", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such queue (or not visible)", body = ErrorBody),
        (status = 503, description = "`directory_loading`: closed conversations still loading after a restart", body = ErrorBody),
    ))]
pub async fn queue_stats(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: StatsQuery = serde_urlencoded_from(req.query_string())?;
    let queue = visible_queue(&state, &principal, &id).await?;
    let (window, thresholds) = window_of(&query, state.engine.now())?;
    let agents = team_agents(&state, &queue.team_id).await?;
    let ask = Answer {
        kind: "queue",
        id: queue.id.to_string(),
        figures_of: oversees(&principal)
            .then(|| Subject::Queues(HashSet::from([queue.id.clone()]))),
        queues: std::slice::from_ref(&queue.id),
        agents: &agents,
        with_ready: true,
    };
    answer(&state, ask, window, &thresholds).await
}

/// A team's statistics: the figures of all its queues and the real-time part of its queues
/// and agents.
#[utoipa::path(get, path = "/v1/stats/teams/{id}", tag = "stats",
    params(("id" = String, Path, description = "The team"), StatsQuery),
    responses(
        (status = 200, description = "The team's statistics", body = StatsView),
        (status = 400, description = "`invalid_query`: a bad window or threshold", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such team (or not visible)", body = ErrorBody),
        (status = 503, description = "`directory_loading`: closed conversations still loading after a restart", body = ErrorBody),
    ))]
pub async fn team_stats(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: StatsQuery = serde_urlencoded_from(req.query_string())?;
    let not_found = || ApiError::not_found("team", id.as_str());
    let team_id = TeamId::parse(id.as_str()).map_err(|_| not_found())?;
    if !principal.sees_team(&team_id) {
        return Err(not_found());
    }
    let team = state
        .catalog
        .find::<Team>(team_id.as_str())
        .await?
        .ok_or_else(not_found)?
        .resource;
    let (window, thresholds) = window_of(&query, state.engine.now())?;
    let queues: Vec<QueueId> = every::<Queue>(&state)
        .await?
        .into_iter()
        .filter(|q| q.team_id == team.id)
        .map(|q| q.id)
        .collect();
    let agents = team_agents(&state, &team.id).await?;
    let ask = Answer {
        kind: "team",
        id: team.id.to_string(),
        figures_of: oversees(&principal).then(|| Subject::Queues(queues.iter().cloned().collect())),
        queues: &queues,
        agents: &agents,
        with_ready: false,
    };
    answer(&state, ask, window, &thresholds).await
}

/// An agent's statistics: what it answered, handled and recorded in the window, and its
/// presence now. Its own, or (supervisors) its team's agents' — as for its presence.
#[utoipa::path(get, path = "/v1/stats/agents/{id}", tag = "stats",
    params(("id" = String, Path, description = "The agent"), StatsQuery),
    responses(
        (status = 200, description = "The agent's statistics", body = StatsView),
        (status = 400, description = "`invalid_query`: a bad window or threshold", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: a teammate's figures, asked by an agent", body = ErrorBody),
        (status = 404, description = "No such agent (or not visible)", body = ErrorBody),
        (status = 503, description = "`directory_loading`: closed conversations still loading after a restart", body = ErrorBody),
    ))]
pub async fn agent_stats(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: StatsQuery = serde_urlencoded_from(req.query_string())?;
    // Visible (404 otherwise) and the caller's own or a supervisor's of its team (403
    // otherwise), as for the agent's presence.
    let agent = super::work::agent_for(&state, &principal, &id).await?;
    let (window, thresholds) = window_of(&query, state.engine.now())?;
    let ask = Answer {
        kind: "agent",
        id: agent.id.to_string(),
        figures_of: Some(Subject::Agent(agent.id.clone())),
        queues: &[],
        agents: std::slice::from_ref(&agent),
        with_ready: false,
    };
    answer(&state, ask, window, &thresholds).await
}

/// Registers the routes (inside `/stats`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, handler) in [
        ("/queues/{id}", web::get().to(queue_stats)),
        ("/teams/{id}", web::get().to(team_stats)),
        ("/agents/{id}", web::get().to(agent_stats)),
    ] {
        cfg.service(
            web::resource(path)
                .route(handler)
                .default_service(method_not_allowed("GET")),
        );
    }
}
