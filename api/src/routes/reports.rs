//! `GET /v1/reports/conversations`: the SMS Conversations report — one row per conversation
//! opened in a time range, with who, where, when it was offered, taken and answered, how it
//! ended and what was recorded. As JSON pages, or as `text/csv` streamed a batch of stored
//! conversations at a time, so a month of conversations never sits in memory.
//! Supervisors see their teams' queues; the admin every queue; agents are refused.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use engine::conversation::Conversation;
use engine::directory::{Involving, Span};
use engine::domain::{AgentId, AgentRole, Number, NumberId, Queue, QueueId, TeamId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::conversation_list::{directory_loading, parse_time};
use super::crud::{every, method_not_allowed};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::serde_urlencoded_from;
use crate::state::AppState;

/// The longest range one report covers.
const MAX_RANGE_MS: i64 = 92 * 86_400_000;

/// What a report covers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Conversations opened at or after (RFC 3339); default today's UTC midnight.
    pub from: Option<String>,
    /// ... and at or before (RFC 3339); default now. At most 92 days.
    pub to: Option<String>,
    /// Only this queue's.
    pub queue: Option<String>,
    /// Only this team's queues'.
    pub team: Option<String>,
    /// Only this campaign's.
    pub campaign: Option<String>,
    /// Only those this agent took or handled.
    pub agent: Option<String>,
    /// Only these outcomes: `open`, `handled`, `abandoned`, `closed`.
    pub outcome: Option<String>,
    /// `json` (default) or `csv` (also chosen by `Accept: text/csv`).
    pub format: Option<String>,
    /// JSON rows per page, 1 to 1,000 (default 100).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous JSON page.
    pub cursor: Option<String>,
}

/// One conversation in the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRow {
    /// The conversation.
    pub conversation_id: String,
    /// The customer's number (E.164).
    pub customer: String,
    /// The business number it texted (E.164).
    pub number: Option<String>,
    /// The number's campaign.
    pub campaign: String,
    /// The queue.
    pub queue_id: String,
    /// The queue's team.
    pub team_id: Option<String>,
    /// When it opened.
    pub opened_at: protocol::Time,
    /// When it was first offered to an agent.
    pub first_offered_at: Option<protocol::Time>,
    /// Who first took it.
    pub accepted_by: Option<String>,
    /// When.
    pub accepted_at: Option<protocol::Time>,
    /// Seconds it waited in line until then (speed of answer).
    pub speed_of_answer_seconds: Option<f64>,
    /// The first agent text after the customer's first.
    pub first_response_at: Option<protocol::Time>,
    /// Seconds from the customer's first text to it.
    pub first_response_seconds: Option<f64>,
    /// Who owned it when it closed.
    pub handled_by: Option<String>,
    /// Seconds that owner had it (handle time).
    pub handle_seconds: Option<f64>,
    /// When it closed.
    pub closed_at: Option<protocol::Time>,
    /// Disposition codes, in the order recorded.
    pub dispositions: Vec<String>,
    /// Customer texts.
    pub texts_in: u32,
    /// Agent texts.
    pub texts_out: u32,
    /// `open`, `handled` (closed by its owner), `abandoned` (closed still waiting, never
    /// taken) or `closed` (otherwise, e.g. opted out unowned after a hand-back).
    pub outcome: String,
}

/// A page of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    /// Rows, oldest first.
    pub items: Vec<ReportRow>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// What rows are made from besides the conversation.
struct Context {
    numbers: HashMap<NumberId, String>,
    teams: HashMap<QueueId, TeamId>,
}

const OUTCOMES: [&str; 4] = ["open", "handled", "abandoned", "closed"];

fn outcome(c: &Conversation) -> &'static str {
    let m = c.milestones();
    if c.is_open() {
        "open"
    } else if m.abandoned {
        "abandoned"
    } else if m.handle_time.is_some() {
        "handled"
    } else {
        "closed"
    }
}

fn time(ms: Option<i64>) -> Option<protocol::Time> {
    ms.map(protocol::time::from_millis)
}

fn seconds(ms: Option<i64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 1000.0)
}

impl ReportRow {
    fn of(c: &Conversation, context: &Context) -> Self {
        let m = c.milestones();
        Self {
            conversation_id: c.id().to_string(),
            customer: c.customer().to_string(),
            number: context.numbers.get(c.number_id()).cloned(),
            campaign: c.campaign().to_string(),
            queue_id: c.queue_id().to_string(),
            team_id: context.teams.get(c.queue_id()).map(ToString::to_string),
            opened_at: protocol::time::from_millis(c.created_at()),
            first_offered_at: time(m.first_offered_at),
            accepted_by: m.first_accepted_by.as_ref().map(ToString::to_string),
            accepted_at: time(m.first_accepted_at),
            speed_of_answer_seconds: seconds(m.first_answer_wait),
            first_response_at: time(m.first_response_at),
            first_response_seconds: seconds(
                m.first_response_at
                    .zip(m.first_customer_at)
                    .map(|(a, b)| a - b),
            ),
            handled_by: m.handled_by.as_ref().map(ToString::to_string),
            handle_seconds: seconds(m.handle_time),
            closed_at: time(c.closed_at()),
            dispositions: c
                .dispositions()
                .iter()
                .map(|d| d.code.to_string())
                .collect(),
            texts_in: c.inbound_count(),
            texts_out: c.outbound_count(),
            outcome: outcome(c).to_owned(),
        }
    }
}

/// The CSV columns, in order.
const COLUMNS: [&str; 20] = [
    "conversation_id",
    "customer",
    "number",
    "campaign",
    "queue_id",
    "team_id",
    "opened_at",
    "first_offered_at",
    "accepted_by",
    "accepted_at",
    "speed_of_answer_seconds",
    "first_response_at",
    "first_response_seconds",
    "handled_by",
    "handle_seconds",
    "closed_at",
    "dispositions",
    "texts_in",
    "texts_out",
    "outcome",
];

/// A CSV cell: quoted when it holds a comma, quote or line break.
fn cell(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

impl ReportRow {
    /// The row as a CSV line (with its line break).
    fn csv_line(&self, out: &mut String) {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let t =
            |v: &Option<protocol::Time>| v.as_ref().map(|t| t.0.to_rfc3339()).unwrap_or_default();
        let n = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        let cells = [
            self.conversation_id.clone(),
            self.customer.clone(),
            opt(&self.number),
            self.campaign.clone(),
            self.queue_id.clone(),
            opt(&self.team_id),
            self.opened_at.0.to_rfc3339(),
            t(&self.first_offered_at),
            opt(&self.accepted_by),
            t(&self.accepted_at),
            n(self.speed_of_answer_seconds),
            t(&self.first_response_at),
            n(self.first_response_seconds),
            opt(&self.handled_by),
            n(self.handle_seconds),
            t(&self.closed_at),
            self.dispositions.join(";"),
            self.texts_in.to_string(),
            self.texts_out.to_string(),
            self.outcome.clone(),
        ];
        for (i, value) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            cell(out, value);
        }
        out.push_str("\r\n");
    }
}

/// The header line.
fn csv_header() -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    out
}

/// The checked parts of a report request.
struct Selection {
    from: i64,
    to: i64,
    queues: HashSet<QueueId>,
    campaign: Option<String>,
    agent: Option<AgentId>,
    outcomes: Option<HashSet<String>>,
}

impl Selection {
    fn keeps(&self, c: &Conversation) -> bool {
        self.queues.contains(c.queue_id())
            && self
                .campaign
                .as_deref()
                .is_none_or(|x| c.campaign().as_str() == x)
            && self.agent.as_ref().is_none_or(|a| {
                let m = c.milestones();
                m.first_accepted_by.as_ref() == Some(a) || m.handled_by.as_ref() == Some(a)
            })
            && self
                .outcomes
                .as_ref()
                .is_none_or(|o| o.contains(outcome(c)))
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, message).with_details(json!({"field": field}))
}

/// Checks the request and works out which queues the caller may report on.
async fn select(
    state: &AppState,
    principal: &Principal,
    query: &ReportQuery,
) -> Result<(Selection, Context), ApiError> {
    if let Principal::Agent(owner) = principal
        && owner.agent.role != AgentRole::Supervisor
    {
        return Err(ApiError::forbidden(
            "reports are for supervisors and the admin",
        ));
    }
    let now = state.engine.now();
    let from =
        parse_time("from", query.from.as_deref())?.unwrap_or(now - now.rem_euclid(86_400_000));
    let to = parse_time("to", query.to.as_deref())?.unwrap_or(now);
    if from > to {
        return Err(invalid("from", "from must not be after to"));
    }
    if to - from > MAX_RANGE_MS {
        return Err(invalid("from", "a report covers at most 92 days"));
    }
    let queues = every::<Queue>(state).await?;
    let teams: HashMap<QueueId, TeamId> = queues
        .iter()
        .map(|q| (q.id.clone(), q.team_id.clone()))
        .collect();
    let mut selected: HashSet<QueueId> = queues
        .iter()
        .filter(|q| principal.sees_team(&q.team_id))
        .map(|q| q.id.clone())
        .collect();
    if let Some(queue) = &query.queue {
        let id = QueueId::parse(queue).map_err(|_| invalid("queue", "queue is not an id"))?;
        if !selected.contains(&id) {
            return Err(ApiError::not_found("queue", queue));
        }
        selected.retain(|q| *q == id);
    }
    if let Some(team) = &query.team {
        let id = TeamId::parse(team).map_err(|_| invalid("team", "team is not an id"))?;
        if !principal.sees_team(&id) {
            return Err(ApiError::not_found("team", team));
        }
        selected.retain(|q| teams.get(q) == Some(&id));
    }
    let agent = query
        .agent
        .as_deref()
        .map(|a| AgentId::parse(a).map_err(|_| invalid("agent", "agent is not an id")))
        .transpose()?;
    let outcomes = match &query.outcome {
        None => None,
        Some(list) => {
            let set: HashSet<String> = list.split(',').map(|o| o.trim().to_owned()).collect();
            if let Some(bad) = set.iter().find(|o| !OUTCOMES.contains(&o.as_str())) {
                return Err(invalid(
                    "outcome",
                    format!("{bad} is not an outcome (open, handled, abandoned, closed)"),
                ));
            }
            Some(set)
        }
    };
    let numbers = every::<Number>(state)
        .await?
        .into_iter()
        .map(|n| (n.id, n.phone.to_string()))
        .collect();
    Ok((
        Selection {
            from,
            to,
            queues: selected,
            campaign: query.campaign.clone(),
            agent,
            outcomes,
        },
        Context { numbers, teams },
    ))
}

/// Whether the caller asked for CSV.
fn wants_csv(req: &HttpRequest, query: &ReportQuery) -> Result<bool, ApiError> {
    match query.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(invalid("format", "format is json or csv")),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
    }
}

/// The report of conversations opened in a range: JSON pages, or the whole range as a
/// streamed CSV (`format=csv` or `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/reports/conversations", tag = "stats",
    params(ReportQuery),
    responses(
        (status = 200, description = "A page of rows (JSON), or every row (text/csv)",
            content((ReportPage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_query`: a bad range, filter or cursor", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent", body = ErrorBody),
        (status = 404, description = "No such queue or team (or not visible)", body = ErrorBody),
        (status = 503, description = "`directory_loading`: closed conversations still loading after a restart", body = ErrorBody),
    ))]
pub async fn conversations(
    principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: ReportQuery = serde_urlencoded_from(req.query_string())?;
    let csv = wants_csv(&req, &query)?;
    let (selection, context) = select(&state, &principal, &query).await?;
    if !state.engine.directory().is_complete() {
        return Err(directory_loading());
    }
    let ids = state.engine.directory().select(
        &Involving::Queues(&selection.queues),
        Span::Opened,
        selection.from,
        selection.to,
    );
    if csv {
        return Ok(stream_csv(state.into_inner(), ids, selection, context));
    }
    let limit = match query.limit {
        None => 100,
        Some(l) if (1..=1000).contains(&l) => l as usize,
        Some(_) => return Err(invalid("limit", "limit must be between 1 and 1000")),
    };
    let start = match &query.cursor {
        None => 0,
        Some(cursor) => {
            let (at, id) = cursor
                .split_once('.')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidCursor,
                        "cursor is not one this API issued",
                    )
                })?;
            ids.partition_point(|(t, i)| (*t, i.as_str()) <= (at, id))
        }
    };
    let mut items = Vec::new();
    let mut last_examined = None;
    let mut next = start;
    // Read a page's worth at a time until the page is full (filters may drop rows).
    'page: while next < ids.len() {
        let end = (next + limit).min(ids.len());
        let batch: Vec<_> = ids[next..end].iter().map(|(_, id)| id.clone()).collect();
        let read = state.engine.read_conversations(&batch).await?;
        let by_id: HashMap<&str, &Conversation> =
            read.iter().map(|c| (c.id().as_str(), c)).collect();
        for (i, (_, id)) in ids[next..end].iter().enumerate() {
            last_examined = Some(next + i);
            if let Some(c) = by_id.get(id.as_str())
                && selection.keeps(c)
            {
                items.push(ReportRow::of(c, &context));
                if items.len() == limit {
                    break 'page;
                }
            }
        }
        next = end;
    }
    let next_cursor = match last_examined {
        Some(i) if items.len() == limit && i + 1 < ids.len() => {
            Some(format!("{}.{}", ids[i].0, ids[i].1))
        }
        _ => None,
    };
    Ok(HttpResponse::Ok().json(ReportPage { items, next_cursor }))
}

/// What the CSV stream carries from one batch to the next.
struct CsvCursor {
    state: std::sync::Arc<AppState>,
    batches: std::collections::VecDeque<Vec<engine::domain::ConversationId>>,
    selection: Selection,
    context: Context,
    header_sent: bool,
}

/// The whole report as CSV, read from the store and written a batch at a time: memory holds
/// the ids and one batch of conversations, however long the range.
fn stream_csv(
    state: std::sync::Arc<AppState>,
    ids: Vec<(i64, engine::domain::ConversationId)>,
    selection: Selection,
    context: Context,
) -> HttpResponse {
    let batches = ids
        .chunks(engine::runtime::READ_BATCH)
        .map(|chunk| chunk.iter().map(|(_, id)| id.clone()).collect())
        .collect();
    drop(ids);
    let cursor = CsvCursor {
        state,
        batches,
        selection,
        context,
        header_sent: false,
    };
    let stream = futures_util::stream::unfold(Some(cursor), |cursor| async move {
        let mut cursor = cursor?;
        if !cursor.header_sent {
            cursor.header_sent = true;
            return Some((Ok(web::Bytes::from(csv_header())), Some(cursor)));
        }
        let batch = cursor.batches.pop_front()?;
        match cursor.state.engine.read_conversations(&batch).await {
            Ok(conversations) => {
                let mut out = String::with_capacity(conversations.len() * 256);
                for c in conversations.iter().filter(|c| cursor.selection.keeps(c)) {
                    ReportRow::of(c, &cursor.context).csv_line(&mut out);
                }
                Some((Ok(web::Bytes::from(out)), Some(cursor)))
            }
            Err(e) => {
                // The status line is gone: the client sees the body end early.
                tracing::error!(error = %e, "conversation report cut short");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"conversations.csv\"",
        ))
        .streaming(stream)
}

/// Registers the routes (inside `/reports`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/conversations")
            .route(web::get().to(conversations))
            .default_service(method_not_allowed("GET")),
    );
}
