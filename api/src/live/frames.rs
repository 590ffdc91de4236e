//! The websocket's frames as text: the server writes every frame through the
//! [`protocol`] crate's types (documented in `docs/websocket.md`), so what a session sends
//! is what the contract says. Close codes are here too.

use protocol::Event;
use protocol::frame::{FrameBody, FrameError, ServerFrame};
use protocol::time::from_millis;

pub use protocol::ClientFrame;

/// A journaled event's frame.
pub fn event(id: u64, at: i64, event: &Event) -> String {
    ServerFrame::write_event(id, from_millis(at), event)
}

/// A frame that is not a journaled event, with the client's `ref` when it answers one.
pub fn frame(at: i64, reference: Option<&str>, body: FrameBody) -> String {
    ServerFrame {
        id: None,
        at: from_millis(at),
        reference: reference.map(str::to_owned),
        body,
    }
    .to_json()
}

/// An error answer.
pub fn error(at: i64, reference: Option<&str>, code: &str, message: &str) -> String {
    let body = FrameBody::Error(FrameError {
        code: code.to_owned(),
        message: message.to_owned(),
    });
    frame(at, reference, body)
}

/// Close codes (4000–4999 are the application's own; see `docs/websocket.md`).
pub mod close {
    /// The server is shutting down; reconnect with `resume`.
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent binary frames.
    pub const UNSUPPORTED: u16 = 1003;
    /// The client announced a message over the limit (64 KiB).
    pub const TOO_BIG: u16 = 1009;
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
    use protocol::frame::Pong;
    use serde_json::Value;

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
        let presence = Event::from_value(
            "agent.updated",
            serde_json::json!({"agent_id": "ann", "presence": "away", "logins": [], "reason": null}),
        )
        .unwrap();
        let e: Value = serde_json::from_str(&event(7, 0, &presence)).unwrap();
        assert_eq!(e["id"], 7);
        assert_eq!(e["type"], "agent.updated");
        assert_eq!(e["at"], "1970-01-01T00:00:00.000Z");
        let f: Value =
            serde_json::from_str(&frame(0, None, FrameBody::Pong(Pong { last_event_id: 3 })))
                .unwrap();
        assert!(f.get("id").is_none());
        assert!(f.get("ref").is_none());
        let r: Value = serde_json::from_str(&error(0, Some("x"), "stale_offer", "no")).unwrap();
        assert_eq!(r["ref"], "x");
        assert_eq!(r["data"]["code"], "stale_offer");
    }
}
