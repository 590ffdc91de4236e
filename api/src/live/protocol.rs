//! The websocket's frames, as JSON text messages (documented in `docs/websocket.md`).
//!
//! Server frames carrying a journaled event have an `id`; snapshots (`hello`, `queue.stats`)
//! and answers (`reply`, `error`, `resume.gap`, `resumed`, `pong`) have none, because they are
//! not part of the journal and are never replayed.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::schema::{wire_time, wire_times};

/// What a client may send.
#[derive(Debug, Deserialize, PartialEq)]
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
        #[serde(default, rename = "ref")]
        reference: Option<String>,
    },
    /// Reject an offer, as `POST /v1/offers/{id}/reject`.
    Reject {
        /// The offer.
        offer_id: String,
        /// Echoed in the answer.
        #[serde(default, rename = "ref")]
        reference: Option<String>,
    },
    /// An application-level ping for clients that cannot see websocket pings (browsers).
    Ping {
        /// Echoed in the `pong`.
        #[serde(default, rename = "ref")]
        reference: Option<String>,
    },
}

/// A journaled event: `{"id", "type", "at", "data"}`.
pub fn event(id: u64, kind: &str, at: i64, data: &Value) -> String {
    let mut data = data.clone();
    wire_times(&mut data);
    json!({"id": id, "type": kind, "at": wire_time(at), "data": data}).to_string()
}

/// A frame that is not a journaled event: `{"type", "at", "data"}` plus `ref` when answering.
pub fn frame(kind: &str, at: i64, reference: Option<&str>, mut data: Value) -> String {
    wire_times(&mut data);
    let mut frame = json!({"type": kind, "at": wire_time(at), "data": data});
    if let Some(reference) = reference {
        frame["ref"] = json!(reference);
    }
    frame.to_string()
}

/// An error answer: `{"type": "error", "ref", "data": {"code", "message"}}`.
pub fn error(at: i64, reference: Option<&str>, code: &str, message: &str) -> String {
    frame(
        "error",
        at,
        reference,
        json!({"code": code, "message": message}),
    )
}

/// Close codes (4000–4999 are the application's own; see `docs/websocket.md`).
pub mod close {
    /// The server is shutting down; reconnect with `resume`.
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent binary frames.
    pub const UNSUPPORTED: u16 = 1003;
    /// The token was revoked or its agent deleted.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Nothing heard from the client (no pong, no frame) within the timeout.
    pub const HEARTBEAT_TIMEOUT: u16 = 4408;
    /// The client did not read: its buffer stayed full beyond the send timeout.
    pub const TOO_SLOW: u16 = 4429;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_strictly() {
        let parse = |text: &str| serde_json::from_str::<ClientFrame>(text);
        assert_eq!(
            parse(r#"{"type":"resume","after":41}"#).unwrap(),
            ClientFrame::Resume { after: 41 }
        );
        assert_eq!(
            parse(r#"{"type":"accept","offer_id":"of_1","ref":"r"}"#).unwrap(),
            ClientFrame::Accept {
                offer_id: "of_1".into(),
                reference: Some("r".into())
            }
        );
        assert!(parse(r#"{"type":"resume","after":-1}"#).is_err());
        assert!(parse(r#"{"type":"resume","after":1,"x":2}"#).is_err());
        assert!(parse(r#"{"type":"dance"}"#).is_err());
        assert!(parse(r#"{"type":"accept"}"#).is_err());
    }

    #[test]
    fn frames_carry_ids_only_for_journaled_events() {
        let e: Value = serde_json::from_str(&event(7, "offer.created", 0, &json!({}))).unwrap();
        assert_eq!(e["id"], 7);
        assert_eq!(e["at"], "1970-01-01T00:00:00.000Z");
        let f: Value =
            serde_json::from_str(&frame("queue.stats", 0, None, json!({"waiting": 1}))).unwrap();
        assert!(f.get("id").is_none());
        let r: Value = serde_json::from_str(&error(0, Some("x"), "stale_offer", "no")).unwrap();
        assert_eq!(r["ref"], "x");
        assert_eq!(r["data"]["code"], "stale_offer");
    }
}
