//! One websocket session: delivers the events its caller may see, in journal order, from a
//! cursor it keeps; answers offers; keeps the connection honest with pings.
//!
//! The session pulls from the [`EventFeed`] rather than having events pushed into a queue:
//! whatever the client's speed, it holds at most one batch, and a client that falls behind
//! catches up from the journal instead of losing events. A client that stops reading blocks
//! the send; past the send timeout it is dropped.

use std::time::Duration;

use actix_ws::{
    AggregatedMessage as Message, AggregatedMessageStream as MessageStream, CloseCode, CloseReason,
    Session,
};
use engine::feed::Viewer;
use engine::routing::protocol::Answer;
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, timeout};

use super::Live;
use super::frames::{self, ClientFrame, close};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use protocol::frame::{FrameBody, Hello, Pong, Reply, ReplyOutcome, ResumeGap, Resumed};
use protocol::vocabulary::{CallerRole, Follow};

/// Events read from the feed per step.
const BATCH: usize = 200;

/// Timings of a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// How often the server pings.
    pub heartbeat: Duration,
    /// A client silent (no pong, no frame) this long is dropped.
    pub client_timeout: Duration,
    /// A send blocked this long (the client does not read) drops the client.
    pub send_timeout: Duration,
    /// Without `?after=`, how long the session waits for a first `resume` frame before it
    /// starts delivering live events (which it then does from the moment of connection, so
    /// nothing is lost either way).
    pub resume_grace: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(20),
            client_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(10),
            resume_grace: Duration::from_millis(300),
        }
    }
}

/// Why a session ended.
enum End {
    /// The client went away.
    Client,
    /// The client sent a close frame: it is answered with one (RFC 6455 §5.5.1).
    ClientClosed(Option<CloseReason>),
    /// The server closes with this code and reason.
    Close(u16, &'static str),
    /// The client stopped reading: the connection is dropped (a close frame could not get
    /// through a full buffer).
    Stuck,
}

/// Who the session serves.
pub struct Caller {
    /// As authenticated at connection.
    pub principal: Principal,
    /// The token presented, to re-check now and then (revocation, changed teams).
    pub token: String,
    /// What it follows.
    pub follow: Follow,
}

/// A running session.
pub struct SessionTask {
    live: Live,
    state: AppState,
    session: Session,
    caller: Caller,
    viewer: Viewer,
    cursor: u64,
    delivered_any: bool,
    last_heard: Instant,
    /// Set by the connection's frame guard when it cut an oversized message.
    oversized: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The connection's socket, cut when the client stops reading (see `connections`).
    socket: Option<crate::connections::SocketHandle>,
}

/// Whom a caller's session shows events to.
pub fn viewer_of(caller: &Caller) -> Viewer {
    match &caller.principal {
        Principal::Admin => Viewer::Admin,
        Principal::Agent(owner) => Viewer::Member {
            agent: owner.agent.id.clone(),
            role: owner.agent.role,
            teams: owner.agent.team_ids.to_vec(),
            follow: caller.follow,
        },
    }
}

impl SessionTask {
    /// A session for `caller`, delivering events after `after` (or from now).
    pub fn new(
        live: Live,
        state: AppState,
        session: Session,
        caller: Caller,
        oversized: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        let viewer = viewer_of(&caller);
        let cursor = live.feed.latest();
        Self {
            live,
            state,
            session,
            caller,
            viewer,
            cursor,
            delivered_any: false,
            last_heard: Instant::now(),
            oversized,
            socket: None,
        }
    }

    /// The connection's socket, to cut if the client stops reading.
    pub fn with_socket(self, socket: Option<crate::connections::SocketHandle>) -> Self {
        Self { socket, ..self }
    }

    /// Runs the session until it ends, then closes the connection.
    pub async fn run(mut self, mut stream: MessageStream, after: Option<u64>) {
        super::metrics::sessions().inc();
        let end = self.serve(&mut stream, after).await;
        super::metrics::sessions().dec();
        let grace = self.live.config.send_timeout;
        let Self {
            session, socket, ..
        } = self;
        // The session (the sender of the connection's frames) is gone after the match, so
        // actix sees the end of the frames.
        match end {
            End::Client => drop(session),
            End::ClientClosed(reason) => {
                // Echo the client's code, as the RFC asks; then the connection ends.
                let echo = reason.map(|r| CloseReason {
                    code: r.code,
                    description: None,
                });
                let _ = timeout(Duration::from_secs(1), session.close(echo)).await;
            }
            End::Close(code, reason) => {
                tracing::info!(code, reason, "websocket closed by the server");
                super::metrics::dropped(reason);
                let reason = CloseReason {
                    code: CloseCode::from(code),
                    description: Some(reason.to_owned()),
                };
                let _ = timeout(Duration::from_secs(1), session.close(Some(reason))).await;
            }
            End::Stuck => {
                tracing::info!("websocket client stopped reading; connection cut");
                super::metrics::dropped("too slow");
                drop(session);
                if let Some(socket) = &socket {
                    socket.cut();
                }
            }
        }
        // Actix cannot end a connection whose client does not read (it waits to write what
        // is queued first, however long): once the session is over, the connection must be
        // gone within the send timeout, or it is cut.
        if let Some(socket) = socket {
            socket.finish_within(grace).await;
        }
    }

    async fn serve(&mut self, stream: &mut MessageStream, after: Option<u64>) -> End {
        let config = self.live.config;
        let (role, agent_id) = match &self.caller.principal {
            Principal::Agent(owner) => (
                CallerRole::from(owner.agent.role),
                Some(owner.agent.id.to_string()),
            ),
            Principal::Admin => (CallerRole::Admin, None),
        };
        let hello = FrameBody::Hello(Hello {
            session_id: format!("ws_{}", ulid::Ulid::generate().to_string().to_lowercase()),
            last_event_id: self.cursor,
            role,
            agent_id,
            heartbeat_secs: config.heartbeat.as_secs(),
            follow: self.caller.follow,
        });
        if let Err(end) = self.send(frames::frame(self.now(), None, hello)).await {
            return end;
        }
        let mut beacon = self.live.beacon.subscribe();
        // The numbers of every queue the caller sees, including queues nothing has happened
        // in yet: a desktop draws its beacon from these without asking.
        let queues = match crate::visibility::queue_teams(&self.state).await {
            Ok(teams) => {
                let mut queues: Vec<String> = teams
                    .iter()
                    .filter(|(_, team)| self.caller.principal.sees_team(team))
                    .map(|(queue, _)| queue.to_string())
                    .collect();
                queues.sort();
                queues
            }
            // The store is down: the beacon's pushes bring the numbers once it is back.
            Err(_) => Vec::new(),
        };
        for queue in queues {
            let Some(frame) = self
                .live
                .beacon
                .numbers_of(&self.live.feed, &self.state.engine, &queue)
                .await
            else {
                continue;
            };
            if let Err(end) = self.send_stats(&frame).await {
                return end;
            }
        }
        match after {
            Some(after) => {
                if let Err(end) = self.resume(after).await {
                    return end;
                }
            }
            None => {
                // A reconnecting client says `resume` first; wait a moment for it so that the
                // replay comes before anything live.
                if let Ok(first) = timeout(config.resume_grace, stream.next()).await {
                    match first {
                        Some(Ok(message)) => {
                            if let Err(end) = self.on_message(message).await {
                                return end;
                            }
                        }
                        Some(Err(e)) => return self.stream_error(&e),
                        None => return End::Client,
                    }
                }
            }
        }
        // Woken only by events this caller may see (the feed works out each one's audience).
        let watcher = self.live.feed.watch(self.viewer.clone());
        let mut stopping = self.live.stopping.subscribe();
        let mut heartbeat = tokio::time::interval(config.heartbeat);
        heartbeat.reset();
        loop {
            if let Err(end) = self.deliver().await {
                return end;
            }
            tokio::select! {
                message = stream.next() => match message {
                    Some(Ok(message)) => {
                        if let Err(end) = self.on_message(message).await {
                            return end;
                        }
                    }
                    // A protocol error (oversized frame, bad framing) or the end of stream.
                    Some(Err(e)) => return self.stream_error(&e),
                    None => return End::Client,
                },
                _ = stopping.wait_for(|stop| *stop) => {
                    return End::Close(close::GOING_AWAY, "server stopping");
                }
                result = watcher.changed() => {
                    if result.is_err() {
                        return End::Close(close::GOING_AWAY, "server stopping");
                    }
                }
                stats = beacon.recv() => match stats {
                    Ok(frame) => {
                        if let Err(end) = self.send_stats(&frame).await {
                            return end;
                        }
                    }
                    // Stats supersede each other: a lagging receiver resends the newest.
                    Err(RecvError::Lagged(_)) => {
                        for frame in self.live.beacon.latest() {
                            if let Err(end) = self.send_stats(&frame).await {
                                return end;
                            }
                        }
                    }
                    Err(RecvError::Closed) => return End::Close(close::GOING_AWAY, "server stopping"),
                },
                _ = heartbeat.tick() => {
                    if self.last_heard.elapsed() > config.client_timeout {
                        return End::Close(close::HEARTBEAT_TIMEOUT, "no answer to pings");
                    }
                    if let Err(end) = self.recheck_caller().await {
                        return end;
                    }
                    watcher.set_viewer(self.viewer.clone());
                    match timeout(config.send_timeout, self.session.ping(b"")).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return End::Client,
                        Err(_) => return End::Stuck,
                    }
                }
            }
        }
    }

    /// How a session ends on a protocol error: 1009 for a message over the limit (cut by
    /// the frame guard), 1002 for anything else (bad framing).
    fn stream_error(&self, e: &actix_ws::ProtocolError) -> End {
        if self.oversized.load(std::sync::atomic::Ordering::Acquire) {
            return End::Close(close::TOO_BIG, "message too big");
        }
        tracing::info!(error = %e, "websocket protocol error");
        End::Close(1002, "protocol error")
    }

    fn now(&self) -> i64 {
        self.state.engine.now()
    }

    /// Sends every event after the cursor the caller may see.
    async fn deliver(&mut self) -> Result<(), End> {
        loop {
            let batch = match self.live.feed.after(self.cursor, BATCH).await {
                Ok(batch) => batch,
                Err(e) => {
                    // The journal is unreachable (Redis down): try again on the next change
                    // or heartbeat; the cursor has not moved, so nothing is skipped.
                    tracing::warn!(error = %e, "websocket cannot read events yet");
                    return Ok(());
                }
            };
            if let Some(gap) = batch.gap {
                let data = FrameBody::ResumeGap(ResumeGap {
                    after: gap.after,
                    oldest_event_id: gap.oldest,
                    missed_from: gap.after + 1,
                    missed_to: gap.oldest - 1,
                });
                self.send(frames::frame(self.now(), None, data)).await?;
            }
            let full = batch.events.len() == BATCH;
            for entry in batch.events {
                self.cursor = entry.id;
                if let Some(event) = &entry.event
                    && entry.audience.admits(&self.viewer)
                {
                    self.send(frames::event(entry.id, entry.at, event)).await?;
                    self.delivered_any = true;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Replays everything after `after` (the client's last seen id), then says so.
    async fn resume(&mut self, after: u64) -> Result<(), End> {
        if self.delivered_any {
            let message = "resume must come before any event is delivered: reconnect with ?after=<last id> or send resume first";
            return self
                .send(frames::error(self.now(), None, "resume_too_late", message))
                .await;
        }
        let latest = self.live.feed.latest();
        if after > latest {
            let message = format!("no event {after} exists yet; the newest is {latest}");
            return self
                .send(frames::error(self.now(), None, "invalid_resume", &message))
                .await;
        }
        self.cursor = after;
        self.deliver().await?;
        let data = FrameBody::Resumed(Resumed {
            after,
            last_event_id: self.cursor,
        });
        self.send(frames::frame(self.now(), None, data)).await
    }

    async fn on_message(&mut self, message: Message) -> Result<(), End> {
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => self.on_frame(&text).await,
            // Bounded like every send: a client flooding pings without reading must not
            // wedge the session past its heartbeat.
            Message::Ping(bytes) => {
                match timeout(self.live.config.send_timeout, self.session.pong(&bytes)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(End::Client),
                    Err(_) => Err(End::Stuck),
                }
            }
            Message::Pong(_) => Ok(()),
            Message::Binary(_) => Err(End::Close(
                close::UNSUPPORTED,
                "frames are JSON text; binary is not supported",
            )),
            Message::Close(reason) => Err(End::ClientClosed(reason)),
        }
    }

    async fn on_frame(&mut self, text: &str) -> Result<(), End> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                let message = format!("not a client frame: {e}");
                return self
                    .send(frames::error(self.now(), None, "invalid_frame", &message))
                    .await;
            }
        };
        match frame {
            ClientFrame::Resume { after } => self.resume(after).await,
            ClientFrame::Ping { reference } => {
                let pong = FrameBody::Pong(Pong {
                    last_event_id: self.cursor,
                });
                self.send(frames::frame(self.now(), reference.as_deref(), pong))
                    .await
            }
            ClientFrame::Accept {
                offer_id,
                reference,
            } => self.answer(&offer_id, Answer::Accept, reference).await,
            ClientFrame::Reject {
                offer_id,
                reference,
            } => self.answer(&offer_id, Answer::Reject, reference).await,
        }
    }

    /// Answers an offer as the REST route does, replying `reply` or `error` with the same
    /// codes.
    async fn answer(
        &mut self,
        offer: &str,
        answer: Answer,
        reference: Option<String>,
    ) -> Result<(), End> {
        let result = match &self.caller.principal {
            Principal::Agent(owner) => self
                .state
                .engine
                .answer_offer(&owner.agent.id, offer, answer)
                .await
                .map_err(ApiError::from),
            Principal::Admin => Err(ApiError::forbidden(
                "offers are answered with the agent's own token",
            )),
        };
        let frame = match result {
            Ok(()) => {
                let outcome = match answer {
                    Answer::Accept => ReplyOutcome::Accepted,
                    _ => ReplyOutcome::Rejected,
                };
                let reply = FrameBody::Reply(Reply {
                    offer_id: offer.to_owned(),
                    outcome,
                });
                frames::frame(self.now(), reference.as_deref(), reply)
            }
            Err(e) => frames::error(
                self.now(),
                reference.as_deref(),
                e.code.as_str(),
                &e.message,
            ),
        };
        self.send(frame).await
    }

    /// Re-reads the caller's token: a revoked token or deleted agent ends the session, and
    /// changed teams or role take effect.
    async fn recheck_caller(&mut self) -> Result<(), End> {
        if matches!(self.caller.principal, Principal::Admin) {
            return Ok(());
        }
        match self.state.catalog.authenticate(&self.caller.token).await {
            Ok(Some(owner)) => {
                self.caller.principal = Principal::Agent(owner);
                self.viewer = viewer_of(&self.caller);
                Ok(())
            }
            Ok(None) => Err(End::Close(close::UNAUTHORIZED, "token no longer valid")),
            // The store is down: keep serving with what we know.
            Err(_) => Ok(()),
        }
    }

    async fn send_stats(&mut self, frame: &super::beacon::StatsFrame) -> Result<(), End> {
        if !frame.audience.admits(&self.viewer) {
            return Ok(());
        }
        let stats = FrameBody::QueueStats(frame.data.clone());
        self.send(frames::frame(frame.at, None, stats)).await
    }

    async fn send(&mut self, text: String) -> Result<(), End> {
        match timeout(self.live.config.send_timeout, self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Client),
            Err(_) => Err(End::Stuck),
        }
    }
}
