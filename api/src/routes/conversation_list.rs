//! `GET /v1/conversations`: the Message Center's conversation list — views, filters, text
//! search and cursor pages, newest activity first — over the engine's directory, limited to
//! the caller's teams' queues.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::DateTime;
use engine::conversation::Direction;
use engine::directory::{Directory, ListQuery, Position, Summary, View};
use engine::domain::{AgentId, QueueId, TeamId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::serde_urlencoded_from;
use crate::schema::time;
use crate::state::AppState;
use crate::visibility::{queue_teams, visible_among};

/// The filters of `GET /v1/conversations`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationFilter {
    /// `open` (default), `waiting`, `unassigned`, `mine`, `closed` or `all`.
    pub view: Option<View>,
    /// One queue.
    #[param(value_type = Option<crate::schema::IdText>)]
    pub queue: Option<String>,
    /// One campaign (case-insensitive).
    #[param(max_length = 100)]
    pub campaign: Option<String>,
    /// Handled by this agent (owner or subscriber).
    #[param(value_type = Option<crate::schema::IdText>)]
    pub agent: Option<String>,
    /// Carrying this disposition code.
    #[param(value_type = Option<crate::schema::SlugText>)]
    pub tag: Option<String>,
    /// `true`: with unread customer messages; `false`: without.
    pub unread: Option<bool>,
    /// Active at or after this time (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub from: Option<String>,
    /// Active before this time (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    pub to: Option<String>,
    /// Text in the customer's number, contact name, campaign or last message.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,15}\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    pub cursor: Option<String>,
}

/// The newest message, as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessageView {
    /// `inbound` (from the customer) or `outbound`.
    pub direction: String,
    /// Its first 160 characters.
    pub preview: String,
    /// When.
    pub at: protocol::Time,
}

/// One row of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationRow {
    /// The conversation.
    pub id: String,
    /// The customer's number.
    pub customer: String,
    /// The contact's name, when the card has one.
    pub contact_name: Option<String>,
    /// The campaign.
    pub campaign: String,
    /// The queue.
    pub queue_id: String,
    /// The queue's team.
    pub team_id: Option<String>,
    /// `queued`, `owned`, `snoozed` or `closed`.
    pub status: String,
    /// The owner.
    pub owner: Option<String>,
    /// Back in the queue after public minutes.
    pub public: bool,
    /// The newest message.
    pub last_message: Option<LastMessageView>,
    /// Customer messages no agent has read.
    pub unread: u32,
    /// Alerts raised.
    pub alerts: Vec<String>,
    /// When the customer's oldest unanswered message arrived.
    pub waiting_since: Option<protocol::Time>,
    /// When anything last happened (the list's order).
    pub last_activity_at: protocol::Time,
    /// When it opened.
    pub created_at: protocol::Time,
    /// When it closed.
    pub closed_at: Option<protocol::Time>,
}

/// A page of rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    /// The rows, newest activity first.
    pub items: Vec<ConversationRow>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Rows for `conversations`, naming teams and contacts.
pub async fn rows(
    state: &AppState,
    conversations: &[Summary],
    teams: &HashMap<QueueId, TeamId>,
) -> Result<Vec<ConversationRow>, ApiError> {
    let mut names: HashMap<&str, Option<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(conversations.len());
    for c in conversations {
        let phone = c.customer.as_str();
        if !names.contains_key(phone) {
            names.insert(phone, state.contacts.get(&c.customer).await?.name);
        }
        rows.push(ConversationRow {
            id: c.id.to_string(),
            customer: phone.to_owned(),
            contact_name: names.get(phone).cloned().flatten(),
            campaign: c.campaign.to_string(),
            queue_id: c.queue_id.to_string(),
            team_id: teams.get(&c.queue_id).map(ToString::to_string),
            status: label(&c.status),
            owner: c.owner.as_ref().map(ToString::to_string),
            public: c.public,
            last_message: c.last_message.as_ref().map(|m| LastMessageView {
                direction: match m.direction {
                    Direction::Inbound => "inbound",
                    Direction::Outbound => "outbound",
                }
                .to_owned(),
                preview: m.preview.clone(),
                at: time(m.at),
            }),
            unread: c.unread,
            alerts: c.alerts.iter().map(label).collect(),
            waiting_since: c.waiting_since.map(time),
            last_activity_at: time(c.activity_at()),
            created_at: time(c.created_at),
            closed_at: c.closed_at.map(time),
        });
    }
    Ok(rows)
}

/// Whether `view` can be answered now: not while a restarted server still loads closed
/// conversations and the view could show them (it would silently lack some).
fn listable(directory: &Directory, view: View) -> Result<(), ApiError> {
    if Directory::needs_complete(view) && !directory.is_complete() {
        return Err(directory_loading());
    }
    Ok(())
}

/// 503 `directory_loading`, answered with `Retry-After`.
pub fn directory_loading() -> ApiError {
    ApiError::new(
        ErrorCode::DirectoryLoading,
        "closed conversations are still loading after a restart; retry shortly",
    )
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, message).with_details(json!({"field": field}))
}

/// Reads a time of a time-range filter.
pub fn parse_time(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|_| invalid(field, format!("{field} must be an RFC 3339 time")))
        })
        .transpose()
}

/// Reads limit and cursor.
pub fn page_position(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(usize, Option<Position>), ApiError> {
    let limit = match limit {
        None => 50,
        Some(l) if (1..=200).contains(&l) => l as usize,
        Some(_) => return Err(invalid("limit", "limit must be between 1 and 200")),
    };
    let after = cursor
        .map(|c| {
            Position::decode(c).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidCursor,
                    "cursor is not one this API issued",
                )
                .with_details(json!({"field": "cursor"}))
            })
        })
        .transpose()?;
    Ok((limit, after))
}

fn filter_from(req: &HttpRequest) -> Result<ConversationFilter, ApiError> {
    let filter: ConversationFilter = serde_urlencoded_from(req.query_string())?;
    // The form decoder reads `cursor=` as absent; it is a malformed cursor.
    if req
        .query_string()
        .split('&')
        .any(|pair| pair == "cursor" || pair == "cursor=")
    {
        return Err(ApiError::new(
            ErrorCode::InvalidCursor,
            "cursor is not one this API issued",
        )
        .with_details(json!({"field": "cursor"})));
    }
    Ok(filter)
}

/// Lists conversations of the caller's teams' queues.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations",
    params(ConversationFilter),
    responses(
        (status = 200, description = "A page of conversations, newest activity first", body = ConversationPage,
            example = json!({"items": [{"id": "cv_01jd8x", "customer": "+15550001111", "contact_name": "Maria Lopez",
                "campaign": "Spring", "queue_id": "inbound", "team_id": "support", "status": "queued", "owner": null,
                "public": false, "last_message": {"direction": "inbound", "preview": "Where is my order?", "at": "2026-11-23T10:00:00.000Z"},
                "unread": 1, "alerts": ["unclaimed"], "waiting_since": "2026-11-23T10:00:00.000Z",
                "last_activity_at": "2026-11-23T10:00:00.000Z", "created_at": "2026-11-23T10:00:00.000Z", "closed_at": null}],
                "next_cursor": null})),
        (status = 400, description = "`invalid_query` or `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: `view=mine` with the admin token", body = ErrorBody),
        (status = 503, description = "`directory_loading`: `view=closed` or `all` just after a restart, while closed conversations load; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn list(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_from(&req)?;
    let (limit, after) = page_position(filter.limit, filter.cursor.as_deref())?;
    let view = filter.view.unwrap_or_default();
    let me = match &principal {
        Principal::Agent(owner) => Some(owner.agent.id.clone()),
        Principal::Admin => None,
    };
    if matches!(view, View::Mine) && me.is_none() {
        return Err(ApiError::forbidden(
            "view=mine is an agent's own view; the admin can filter by agent",
        ));
    }
    let id_filter = |field: &str, value: Option<&String>| -> Result<Option<String>, ApiError> {
        match value {
            Some(v) if v.is_empty() || v.len() > 64 => {
                Err(invalid(field, format!("{field} is not an id")))
            }
            other => Ok(other.cloned()),
        }
    };
    // An id of another team's queue (or no queue) simply selects nothing: never a 404 that
    // would tell another team's ids apart from made-up ones.
    let queue = id_filter("queue", filter.queue.as_ref())?
        .map(|q| QueueId::parse(q.as_str()).map_err(|_| invalid("queue", "queue is not an id")))
        .transpose()?;
    let agent = id_filter("agent", filter.agent.as_ref())?
        .map(|a| AgentId::parse(a.as_str()).map_err(|_| invalid("agent", "agent is not an id")))
        .transpose()?;
    let text_filter = |field: &str, value: Option<String>| match value {
        Some(v) if v.chars().count() > 100 => {
            Err(invalid(field, format!("{field} is at most 100 characters")))
        }
        Some(v) if v.trim().is_empty() => Ok(None),
        other => Ok(other.map(|v| v.trim().to_owned())),
    };
    let teams = queue_teams(&state).await?;
    let query = ListQuery {
        view,
        me,
        visible_queues: visible_among(&teams, &principal),
        queue,
        campaign: text_filter("campaign", filter.campaign)?,
        agent,
        tag: filter
            .tag
            .map(|t| {
                engine::domain::Slug::parse("tag", &t)
                    .map(|slug| slug.as_str().to_owned())
                    .map_err(|_| invalid("tag", "tag is a disposition code: a-z, 0-9, _ and -"))
            })
            .transpose()?,
        unread: filter.unread,
        from: parse_time("from", filter.from.as_deref())?,
        to: parse_time("to", filter.to.as_deref())?,
        q: text_filter("q", filter.q)?,
        customer: None,
        after,
        limit,
    };
    page(&state, &query, &teams).await
}

/// Answers a page of `query`, naming each row's team from `teams`.
pub async fn page(
    state: &AppState,
    query: &ListQuery,
    teams: &HashMap<QueueId, TeamId>,
) -> Result<HttpResponse, ApiError> {
    let directory = state.engine.directory();
    listable(directory, query.view)?;
    let found = directory.list(query);
    Ok(HttpResponse::Ok().json(ConversationPage {
        items: rows(state, &found.items, teams).await?,
        next_cursor: found.next.map(|p| p.encode()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_views_that_show_closed_conversations_wait_for_the_directory() {
        let loading = Directory::new();
        for view in [View::Open, View::Waiting, View::Unassigned, View::Mine] {
            assert!(listable(&loading, view).is_ok(), "{view:?}");
        }
        for view in [View::Closed, View::All] {
            let refused = listable(&loading, view).unwrap_err();
            assert_eq!(refused.code, ErrorCode::DirectoryLoading, "{view:?}");
        }
    }
}
