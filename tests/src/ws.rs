//! A websocket client for the black-box tests: connects to `/v1/ws` as any desktop would
//! (tokio-tungstenite, written by nobody here), and reads frames with deadlines.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::ServerFrame;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long a test waits for a frame it expects.
const FRAME_DEADLINE: Duration = Duration::from_secs(10);

/// One websocket session.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `hello` frame the server opened with.
    pub hello: Value,
}

impl WsClient {
    /// Connects to `address` (`http://…`) with `token`, optionally resuming after an id.
    pub async fn connect(address: &str, token: &str, after: Option<u64>) -> Self {
        let query = after.map(|after| format!("after={after}"));
        Self::connect_with(address, token, query.as_deref().unwrap_or("")).await
    }

    /// Connects with more of the query (`follow=own`, say) after the token.
    pub async fn connect_with(address: &str, token: &str, query: &str) -> Self {
        let mut url = format!(
            "{}/v1/ws?token={token}",
            address.replacen("http://", "ws://", 1)
        );
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let (socket, _) = connect_async(url).await.expect("websocket connects");
        let mut client = Self {
            socket,
            hello: Value::Null,
        };
        client.hello = client.next_frame().await;
        assert_eq!(client.hello["type"], "hello", "{}", client.hello);
        client
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("frame sent");
    }

    /// The next JSON frame (answering pings on the way); panics after the deadline.
    pub async fn next_frame(&mut self) -> Value {
        self.try_next_frame(FRAME_DEADLINE)
            .await
            .expect("a frame within the deadline")
    }

    /// The next JSON frame within `wait`, or `None`.
    pub async fn try_next_frame(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?
                .expect("the socket is open")
                .expect("a websocket message");
            match message {
                Message::Text(text) => return Some(held_to_contract(&text)),
                Message::Close(frame) => panic!("closed by the server: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next frame of type `kind`, skipping others (say `queue.stats`).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_frame().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Every journaled event (frames with an `id`) arriving within `wait`.
    pub async fn events_within(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        while let Some(frame) = self
            .try_next_frame(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if frame.get("id").is_some() {
                events.push(frame);
            }
        }
        events
    }

    /// Reads until the connection closes; returns the close code and reason.
    pub async fn closed(&mut self, wait: Duration) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match message {
                Ok(Message::Close(Some(frame))) => {
                    return Some((frame.code.into(), frame.reason.to_string()));
                }
                Ok(Message::Close(None)) | Err(_) => return Some((1005, String::new())),
                _ => {}
            }
        }
    }

    /// Drops the connection without a close handshake, as a crashed tab or lost network does.
    pub fn kill(self) {
        drop(self.socket);
    }
}

/// A server frame as JSON, after checking it against the wire contract: it reads into the
/// [`protocol`] crate's types, and those write it back exactly as received (no field the
/// types do not know, none they would add). Every frame every test receives is checked.
fn held_to_contract(text: &str) -> Value {
    let received: Value = serde_json::from_str(text).expect("frames are JSON");
    let frame = ServerFrame::parse(text)
        .unwrap_or_else(|e| panic!("a frame outside the wire contract ({e}): {text}"));
    let rewritten: Value = serde_json::from_str(&frame.to_json()).expect("frames are JSON");
    assert_eq!(
        rewritten, received,
        "the protocol types do not hold this frame exactly"
    );
    received
}
