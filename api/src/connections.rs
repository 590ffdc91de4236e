//! Each TCP connection's own record, made when it is accepted (actix's `on_connect`): its
//! place under the server's connection limit, and a handle to its socket.
//!
//! - **The limit.** Past `SWITCHBOARD_MAX_CONNECTIONS` open connections, a new one is still
//!   accepted, but each of its requests is answered `503 server_busy` with `Retry-After` and
//!   `Connection: close` — a clear answer instead of a connect that hangs in the kernel's
//!   backlog. (Actix's own per-worker cap sits a margin above, as the hard stop.)
//! - **The socket handle.** A websocket session that gives up on a client which stopped
//!   reading cannot end the connection through actix: the connection's writer waits for the
//!   socket to drain before it looks at the session again, and a client that never reads
//!   keeps it ESTABLISHED, megabytes unsent, for as long as it likes. The record keeps a
//!   duplicate of the socket's descriptor so the session can [`SocketHandle::cut`] it: linger
//!   zero and shutdown, after which the writer fails, actix drops the connection and the
//!   kernel resets it. The duplicate is taken at accept time (a descriptor number read later
//!   could already name another connection) and closed with the record.

use std::any::Any;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::{ApiError, ErrorCode};

/// The default for `SWITCHBOARD_MAX_CONNECTIONS`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The server's open connections, against its limit.
#[derive(Debug)]
pub struct Connections {
    open: AtomicUsize,
    limit: usize,
}

impl Connections {
    /// No connections yet; at most `limit` served.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            limit: limit.max(1),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Records a connection just accepted (`HttpServer::on_connect`).
    pub fn on_connect(self: &Arc<Self>, connection: &dyn Any, data: &mut Extensions) {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        let (alive, served) = tokio::sync::watch::channel(());
        let socket = connection
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|tcp| tcp.as_fd().try_clone_to_owned().ok())
            .map(|fd| SocketHandle {
                fd: Arc::new(fd),
                served,
            });
        data.insert(ConnectionRecord {
            _slot: Slot(Arc::clone(self)),
            _alive: alive,
            over_limit: before >= self.limit,
            socket,
        });
    }
}

/// A connection's place in the count, given back when the connection ends.
#[derive(Debug)]
struct Slot(Arc<Connections>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the server knows of one connection (actix's connection data).
#[derive(Debug)]
pub struct ConnectionRecord {
    _slot: Slot,
    /// Dropped with the record, when actix lets go of the connection: its handles hear it.
    _alive: tokio::sync::watch::Sender<()>,
    over_limit: bool,
    socket: Option<SocketHandle>,
}

impl ConnectionRecord {
    /// A handle to cut the connection (none for a connection that is not TCP).
    pub fn socket(&self) -> Option<SocketHandle> {
        self.socket.clone()
    }
}

/// A duplicate of a connection's socket descriptor.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    fd: Arc<OwnedFd>,
    /// Closed when actix drops the connection (its record).
    served: tokio::sync::watch::Receiver<()>,
}

impl SocketHandle {
    /// Ends the connection at once: unsent data is dropped and the peer gets a reset, so a
    /// client that stopped reading cannot hold it.
    pub fn cut(&self) {
        let socket = socket2::SockRef::from(&*self.fd);
        let _ = socket.set_linger(Some(std::time::Duration::ZERO));
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }

    /// Gives actix `grace` to finish the connection (a client that reads takes its close
    /// frame and goes), then cuts it if it is still there: whatever the session ended on, a
    /// client that does not read must not keep the connection.
    pub async fn finish_within(mut self, grace: std::time::Duration) {
        // `changed` fails once the record is dropped; nothing else ever sends.
        let finished = tokio::time::timeout(grace, self.served.changed()).await;
        if finished.is_err() {
            tracing::info!("websocket connection still open after its session ended; cut");
            self.cut();
        }
    }
}

/// Middleware answering every request of a connection accepted over the limit with `503
/// server_busy`, and closing it.
pub async fn refuse_over_limit(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let over = req
        .conn_data::<ConnectionRecord>()
        .is_some_and(|record| record.over_limit);
    if !over {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let error = ApiError::new(
        ErrorCode::ServerBusy,
        "the server has as many connections as it serves; retry shortly",
    );
    let mut response = actix_web::ResponseError::error_response(&error);
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_over_the_limit_are_marked_and_slots_come_back() {
        let connections = Connections::new(2);
        let records: Vec<ConnectionRecord> = (0..3)
            .map(|_| {
                let mut data = Extensions::new();
                connections.on_connect(&(), &mut data);
                data.remove::<ConnectionRecord>().unwrap()
            })
            .collect();
        assert_eq!(
            records.iter().map(|r| r.over_limit).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert!(records.iter().all(|r| r.socket().is_none()), "not TCP");
        assert_eq!(connections.open(), 3);
        drop(records);
        assert_eq!(connections.open(), 0);
    }
}
