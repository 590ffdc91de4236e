//! `GET /v1/conversations/{id}/transcript`: a conversation's whole record for the file — every
//! text, note, transfer, opt-out and disposition, its first acceptance and its close, each
//! with its time and who — as JSON, plain text or PDF (`format=`, or the `Accept` header).
//! Whoever may see the conversation may export it: its team and their supervisors, and the
//! admin.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use engine::conversation::Conversation;
use engine::domain::{Number, Queue};
use protocol::thread::ThreadEntry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::conversations::visible;
use super::crud::method_not_allowed;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::serde_urlencoded_from;
use crate::pdf::{self, Line};
use crate::state::AppState;

/// Thread entries read per call.
const PAGE: usize = 200;

/// How to export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// `json`, `text` or `pdf`; without it the `Accept` header chooses (`text/plain`,
    /// `application/pdf`), and JSON otherwise.
    pub format: Option<String>,
}

/// One line of the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptEntry {
    /// When.
    pub at: protocol::Time,
    /// `inbound`, `outbound`, `note`, `transfer`, `opted_out`, `accepted`, `disposition` or
    /// `closed`.
    pub kind: String,
    /// Who: `customer`, an agent's id, or `switchboard` for automatic texts.
    pub who: String,
    /// What was written or done.
    pub text: String,
}

/// A conversation's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Transcript {
    /// The conversation.
    pub conversation_id: String,
    /// The customer's number.
    pub customer: String,
    /// The business number.
    pub number: Option<String>,
    /// The campaign.
    pub campaign: String,
    /// The queue.
    pub queue_id: String,
    /// The queue's team.
    pub team_id: Option<String>,
    /// When it opened.
    pub opened_at: protocol::Time,
    /// When it closed.
    pub closed_at: Option<protocol::Time>,
    /// Everything, oldest first.
    pub entries: Vec<TranscriptEntry>,
}

fn entry(at: i64, kind: &str, who: impl Into<String>, text: impl Into<String>) -> TranscriptEntry {
    TranscriptEntry {
        at: protocol::time::from_millis(at),
        kind: kind.to_owned(),
        who: who.into(),
        text: text.into(),
    }
}

/// A thread entry as a line of the record.
fn thread_line(item: ThreadEntry) -> TranscriptEntry {
    let millis = |t: &protocol::Time| t.0.timestamp_millis();
    match item {
        ThreadEntry::Inbound(m) => {
            let mut text = m.body;
            for url in m.media_urls {
                text.push_str(&format!(" [picture: {url}]"));
            }
            entry(millis(&m.at), "inbound", "customer", text)
        }
        ThreadEntry::Outbound(m) => {
            let who = match (&m.agent_id, m.automatic) {
                (Some(agent), _) => agent.clone(),
                (None, _) => "switchboard".to_owned(),
            };
            let status = serde_json::to_value(m.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            entry(
                millis(&m.at),
                "outbound",
                who,
                format!("{} ({status})", m.body),
            )
        }
        ThreadEntry::Note(n) => entry(millis(&n.at), "note", n.agent_id, n.body),
        ThreadEntry::Transfer(t) => {
            let to = match (&t.to.agent_id, &t.to.queue_id) {
                (Some(agent), _) => format!("agent {agent}"),
                (None, Some(queue)) => format!("queue {queue}"),
                (None, None) => "the queue".to_owned(),
            };
            let mode = if t.to.warm { "warm" } else { "cold" };
            let mut text = format!("{mode} transfer to {to}");
            if let Some(from) = &t.from_agent_id {
                text.push_str(&format!(" from {from}"));
            }
            if let Some(note) = &t.note {
                text.push_str(&format!(": {note}"));
            }
            let who = t
                .by_agent_id
                .clone()
                .unwrap_or_else(|| "switchboard".into());
            entry(millis(&t.at), "transfer", who, text)
        }
        ThreadEntry::OptedOut(o) => entry(millis(&o.at), "opted_out", "customer", o.body),
    }
}

/// Builds the record: the thread, the dispositions and the milestones, in time order.
async fn transcript(state: &AppState, c: &Conversation) -> Result<Transcript, ApiError> {
    let mut entries = Vec::new();
    let mut from = 0;
    loop {
        let page = state.engine.thread(c.id(), from, PAGE).await?;
        let read = page.len();
        entries.extend(page.into_iter().map(thread_line));
        if read < PAGE {
            break;
        }
        from += read;
    }
    let m = c.milestones();
    if let (Some(at), Some(by)) = (m.first_accepted_at, &m.first_accepted_by) {
        entries.push(entry(
            at,
            "accepted",
            by.to_string(),
            "took the conversation",
        ));
    }
    for d in c.dispositions() {
        let text = match &d.note {
            Some(note) => format!("disposition {}: {note}", d.code),
            None => format!("disposition {}", d.code),
        };
        entries.push(entry(d.at, "disposition", d.agent.to_string(), text));
    }
    if let Some(at) = c.closed_at() {
        let who = m
            .handled_by
            .as_ref()
            .map_or_else(|| "switchboard".to_owned(), ToString::to_string);
        entries.push(entry(at, "closed", who, "closed the conversation"));
    }
    // Stable: entries at the same moment keep thread order.
    entries.sort_by_key(|e| e.at.0);
    let number = state
        .catalog
        .find::<Number>(c.number_id().as_str())
        .await?
        .map(|n| n.resource.phone.to_string());
    let team_id = state
        .catalog
        .find::<Queue>(c.queue_id().as_str())
        .await?
        .map(|q| q.resource.team_id.to_string());
    Ok(Transcript {
        conversation_id: c.id().to_string(),
        customer: c.customer().to_string(),
        number,
        campaign: c.campaign().to_string(),
        queue_id: c.queue_id().to_string(),
        team_id,
        opened_at: protocol::time::from_millis(c.created_at()),
        closed_at: c.closed_at().map(protocol::time::from_millis),
        entries,
    })
}

fn clock(t: &protocol::Time) -> String {
    t.0.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The record as lines: a heading, then one line per entry.
fn lines(t: &Transcript) -> Vec<Line> {
    let mut out = vec![
        Line::bold(format!("Conversation {}", t.conversation_id)),
        Line::plain(format!(
            "Customer {} texting {} ({}), queue {}{}",
            t.customer,
            t.number.as_deref().unwrap_or("a removed number"),
            t.campaign,
            t.queue_id,
            t.team_id
                .as_deref()
                .map(|team| format!(" of team {team}"))
                .unwrap_or_default(),
        )),
        Line::plain(format!(
            "Opened {}{}",
            clock(&t.opened_at),
            t.closed_at
                .as_ref()
                .map(|c| format!(", closed {}", clock(c)))
                .unwrap_or_else(|| ", still open".into()),
        )),
        Line::plain(""),
    ];
    for e in &t.entries {
        out.push(Line::bold(format!(
            "{}  {} ({})",
            clock(&e.at),
            e.who,
            e.kind
        )));
        out.push(Line::plain(format!("    {}", e.text)));
    }
    out
}

/// Which format the caller wants.
fn format_of(req: &HttpRequest, query: &TranscriptQuery) -> Result<&'static str, ApiError> {
    match query.format.as_deref() {
        Some("json") => Ok("json"),
        Some("text") => Ok("text"),
        Some("pdf") => Ok("pdf"),
        Some(_) => Err(
            ApiError::new(ErrorCode::InvalidQuery, "format is json, text or pdf")
                .with_details(json!({"field": "format"})),
        ),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Ok(if accept.contains("application/pdf") {
                "pdf"
            } else if accept.contains("text/plain") {
                "text"
            } else {
                "json"
            })
        }
    }
}

/// A conversation's transcript: every text, note, transfer, opt-out and disposition, with
/// times and who, as JSON, plain text or PDF.
#[utoipa::path(get, path = "/v1/conversations/{id}/transcript", tag = "conversations",
    params(("id" = String, Path, description = "The conversation"), TranscriptQuery),
    responses(
        (status = 200, description = "The transcript",
            content((Transcript = "application/json"), (String = "text/plain"), (Vec<u8> = "application/pdf"))),
        (status = 400, description = "`invalid_query`: an unknown format", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
    ))]
pub async fn export(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: TranscriptQuery = serde_urlencoded_from(req.query_string())?;
    let format = format_of(&req, &query)?;
    let conversation = visible(&state, &principal, &id).await?;
    let record = transcript(&state, &conversation).await?;
    let file = |ext: &str| {
        (
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{}.{ext}\"", record.conversation_id),
        )
    };
    Ok(match format {
        "text" => {
            let mut text = String::new();
            for line in lines(&record) {
                text.push_str(&line.text);
                text.push('\n');
            }
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .insert_header(file("txt"))
                .body(text)
        }
        "pdf" => {
            let title = format!("Conversation {}", record.conversation_id);
            HttpResponse::Ok()
                .content_type("application/pdf")
                .insert_header(file("pdf"))
                .body(pdf::render(&title, &lines(&record)))
        }
        _ => HttpResponse::Ok().json(&record),
    })
}

/// Registers the route (inside `/conversations`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/transcript")
            .route(web::get().to(export))
            .default_service(method_not_allowed("GET")),
    );
}
