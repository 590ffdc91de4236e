//! The websocket's frames (`GET /v1/ws`, documented in `docs/websocket.md`).
//!
//! A server frame is `{"id"?, "type", "at", "ref"?, "data"}`: journaled events carry their
//! journal `id`; snapshots (`hello`, `queue.stats`) and answers (`reply`, `error`, `pong`,
//! `resumed`, `resume.gap`) have none, and answers echo the client's `ref`. Client frames are
//! `{"type", ...}` and are read strictly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::event::{Event, EventError};
use crate::time::Time;
use crate::vocabulary::{CallerRole, Follow};

/// One frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFrame {
    /// The journal id, for events.
    pub id: Option<u64>,
    /// When it was sent (events: when they happened).
    pub at: Time,
    /// The client's `ref` being answered.
    pub reference: Option<String>,
    /// The frame's type and data.
    pub body: FrameBody,
}

/// What a server frame says.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameBody {
    /// A journaled event.
    Event(Event),
    /// The first frame of every session.
    Hello(Hello),
    /// A queue's live numbers (the beacon).
    QueueStats(QueueStats),
    /// An `accept` or `reject` that worked.
    Reply(Reply),
    /// A client frame that failed.
    Error(FrameError),
    /// The answer to a `ping`.
    Pong(Pong),
    /// The replay asked for is complete.
    Resumed(Resumed),
    /// Events the journal no longer holds.
    ResumeGap(ResumeGap),
}

/// The types of the frames that are not events.
pub const FRAME_KINDS: &[&str] = &[
    "hello",
    "queue.stats",
    "reply",
    "error",
    "pong",
    "resumed",
    "resume.gap",
];

impl FrameBody {
    /// The frame's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(event) => event.kind(),
            Self::Hello(_) => "hello",
            Self::QueueStats(_) => "queue.stats",
            Self::Reply(_) => "reply",
            Self::Error(_) => "error",
            Self::Pong(_) => "pong",
            Self::Resumed(_) => "resumed",
            Self::ResumeGap(_) => "resume.gap",
        }
    }
}

/// The data of `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// This session.
    pub session_id: String,
    /// The newest event in the journal when the session opened.
    pub last_event_id: u64,
    /// Who the token is.
    pub role: CallerRole,
    /// The agent, for agents' and supervisors' tokens.
    pub agent_id: Option<String>,
    /// How often the server pings.
    pub heartbeat_secs: u64,
    /// What the session follows (`?follow=`); absent from servers before it existed, which
    /// behave as `team`.
    #[serde(default)]
    pub follow: Follow,
}

/// A queue's live numbers: the `queue.stats` frame and `GET /v1/queues/{id}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueueStats {
    /// The queue.
    pub queue_id: String,
    /// Conversations waiting (not being offered).
    pub waiting: usize,
    /// Seconds the longest-waiting one has waited.
    pub longest_wait_secs: i64,
    /// Since when the longest-waiting one waits (a desktop counts the wait up from it).
    pub oldest_waiting_since: Option<Time>,
    /// Agents who could take an offer now.
    pub agents_ready: usize,
    /// Waiting conversations per campaign (the beacon).
    pub waiting_by_campaign: BTreeMap<String, usize>,
    /// Today's (UTC) offers by outcome (`created`, `accepted`, `rejected`, `expired`,
    /// `rescinded`), kept across restarts.
    pub offers_by_outcome: BTreeMap<String, u64>,
}

/// How an answered offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// The agent owns the conversation now.
    Accepted,
    /// The conversation goes to the next agent.
    Rejected,
}

/// The data of `reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The offer answered.
    pub offer_id: String,
    /// What came of it.
    pub outcome: ReplyOutcome,
}

/// The data of `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameError {
    /// The REST API's codes (`stale_offer`, `forbidden`, ...) plus `invalid_frame`,
    /// `invalid_resume`, `resume_too_late`.
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
}

/// The data of `pong`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// The newest event id the session has passed.
    pub last_event_id: u64,
}

/// The data of `resumed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    /// The cursor the client resumed from.
    pub after: u64,
    /// The newest event replayed (or passed).
    pub last_event_id: u64,
}

/// The data of `resume.gap`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeGap {
    /// The cursor the client resumed from.
    pub after: u64,
    /// The oldest event still held; delivery continues from it.
    pub oldest_event_id: u64,
    /// The first event lost.
    pub missed_from: u64,
    /// The last event lost.
    pub missed_to: u64,
}

/// A frame as written: the common fields around typed data.
#[derive(Serialize)]
struct Written<'a, D: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(rename = "type")]
    kind: &'a str,
    at: Time,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    data: D,
}

impl ServerFrame {
    /// A journaled event's frame, written without copying the event.
    pub fn write_event(id: u64, at: Time, event: &Event) -> String {
        write(Some(id), event.kind(), at, None, event.data())
    }

    /// The frame as its JSON text.
    pub fn to_json(&self) -> String {
        let reference = self.reference.as_deref();
        write(
            self.id,
            self.body.kind(),
            self.at,
            reference,
            BodyData(&self.body),
        )
    }

    /// Reads a server frame.
    pub fn parse(text: &str) -> Result<Self, FrameParseError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Read {
            #[serde(default)]
            id: Option<u64>,
            #[serde(rename = "type")]
            kind: String,
            at: Time,
            #[serde(rename = "ref", default)]
            reference: Option<String>,
            data: serde_json::Value,
        }
        let read: Read = serde_json::from_str(text).map_err(FrameParseError::Shape)?;
        let data = read.data;
        let typed = |error: serde_json::Error| FrameParseError::Data {
            kind: read.kind.clone(),
            error,
        };
        let body = match read.kind.as_str() {
            "hello" => FrameBody::Hello(serde_json::from_value(data).map_err(typed)?),
            "queue.stats" => FrameBody::QueueStats(serde_json::from_value(data).map_err(typed)?),
            "reply" => FrameBody::Reply(serde_json::from_value(data).map_err(typed)?),
            "error" => FrameBody::Error(serde_json::from_value(data).map_err(typed)?),
            "pong" => FrameBody::Pong(serde_json::from_value(data).map_err(typed)?),
            "resumed" => FrameBody::Resumed(serde_json::from_value(data).map_err(typed)?),
            "resume.gap" => FrameBody::ResumeGap(serde_json::from_value(data).map_err(typed)?),
            kind => {
                FrameBody::Event(Event::from_value(kind, data).map_err(FrameParseError::Event)?)
            }
        };
        if matches!(body, FrameBody::Event(_)) != read.id.is_some() {
            return Err(FrameParseError::Id(read.kind));
        }
        Ok(Self {
            id: read.id,
            at: read.at,
            reference: read.reference,
            body,
        })
    }
}

/// A frame body's data alone, serialisable.
struct BodyData<'a>(&'a FrameBody);

impl Serialize for BodyData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            FrameBody::Event(event) => event.data().serialize(serializer),
            FrameBody::Hello(data) => data.serialize(serializer),
            FrameBody::QueueStats(data) => data.serialize(serializer),
            FrameBody::Reply(data) => data.serialize(serializer),
            FrameBody::Error(data) => data.serialize(serializer),
            FrameBody::Pong(data) => data.serialize(serializer),
            FrameBody::Resumed(data) => data.serialize(serializer),
            FrameBody::ResumeGap(data) => data.serialize(serializer),
        }
    }
}

fn write<D: Serialize>(
    id: Option<u64>,
    kind: &str,
    at: Time,
    reference: Option<&str>,
    data: D,
) -> String {
    serde_json::to_string(&Written {
        id,
        kind,
        at,
        reference,
        data,
    })
    .expect("frames serialise")
}

/// A server frame that does not read as the contract says.
#[derive(Debug, thiserror::Error)]
pub enum FrameParseError {
    /// Not `{"type", "at", "data", "id"?, "ref"?}`.
    #[error("frame: {0}")]
    Shape(serde_json::Error),
    /// A frame that is not an event with its data wrong.
    #[error("{kind} data: {error}")]
    Data {
        /// The frame type.
        kind: String,
        /// What did not match.
        error: serde_json::Error,
    },
    /// An event that does not read.
    #[error(transparent)]
    Event(EventError),
    /// An event without `id`, or another frame with one.
    #[error("{0}: only journaled events carry an id")]
    Id(String),
}

/// What a client may send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Replay every event after `after`, then continue live. Must be the first frame.
    Resume {
        /// The id of the last event the client received.
        after: u64,
    },
    /// Accept an offer, as `POST /v1/offers/{id}/accept`.
    Accept {
        /// The offer.
        offer_id: String,
        /// Echoed in the answer, to match it.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Reject an offer, as `POST /v1/offers/{id}/reject`.
    Reject {
        /// The offer.
        offer_id: String,
        /// Echoed in the answer.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// An application-level ping for clients that cannot see websocket pings (browsers).
    Ping {
        /// Echoed in the `pong`.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
}
