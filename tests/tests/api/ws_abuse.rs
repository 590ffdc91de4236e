//! What one websocket client can do to the server, driven byte by byte over a raw TCP
//! connection: a frame announcing a gigabyte is refused from its header with 1009 (the
//! server never buffers it) while other clients are served; a client's close frame is
//! answered with the server's own; a client that stops reading has its connection cut
//! (not left open with megabytes unsent).

use std::time::Duration;

use futures_util::StreamExt;
use harness::{ADMIN_TOKEN, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a websocket on a raw connection (the handshake by hand) and returns it after the
/// server's 101.
async fn raw_socket(address: &str) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let tcp = TcpStream::connect(host).await.unwrap();
    handshake(tcp, host, "").await
}

/// The websocket handshake on `tcp`, with `query` added to the path.
async fn handshake(mut tcp: TcpStream, host: &str, query: &str) -> TcpStream {
    let request = format!(
        "GET /v1/ws?token={ADMIN_TOKEN}{query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A server that gives up on a websocket client quickly: pings every second, a client
/// silent for 3 s or not reading for 1 s is dropped.
async fn impatient_app(test: &str) -> harness::TestApp {
    let mut settings =
        harness::test_settings(&harness::shared_redis_url(), &harness::unique_prefix(test));
    settings.websocket.heartbeat = Duration::from_secs(1);
    settings.websocket.client_timeout = Duration::from_secs(3);
    settings.websocket.send_timeout = Duration::from_secs(1);
    harness::spawn_app_with(settings).await
}

/// A websocket (with `query`) on a connection whose receive buffer is as small as the
/// kernel allows: a client that means not to read.
async fn reluctant_socket(address: &str, query: &str) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(host.parse().unwrap()).await.unwrap();
    handshake(tcp, host, query).await
}

/// Reads server frames until a close frame; returns its code.
async fn close_code(tcp: &mut TcpStream) -> u16 {
    loop {
        let mut header = [0u8; 2];
        tcp.read_exact(&mut header).await.unwrap();
        let len = match header[1] & 0x7f {
            126 => u64::from(tcp.read_u16().await.unwrap()),
            127 => tcp.read_u64().await.unwrap(),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        tcp.read_exact(&mut payload).await.unwrap();
        if header[0] & 0x0f == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

/// A masked client frame header.
fn header(opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![0x80 | opcode, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    h
}

#[tokio::test]
async fn a_gigabyte_frame_is_refused_from_its_header_with_1009() {
    let app = spawn_app().await;
    let mut tcp = raw_socket(&app.address).await;
    tcp.write_all(&header(0x2, 1 << 30)).await.unwrap();
    // The payload starts to follow (the server reads none of it past the header's verdict).
    let _ = tcp.write_all(&vec![0u8; 16 * 1024]).await;
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut tcp))
        .await
        .expect("a close frame within 5 s");
    assert_eq!(code, 1009);
    // Others are served meanwhile.
    app.get("/healthz").await.expect_status(200);
}

#[tokio::test]
async fn a_fragmented_message_over_the_limit_is_refused_too() {
    let app = spawn_app().await;
    let mut tcp = raw_socket(&app.address).await;
    // Three 30 KiB fragments of one text message: 90 KiB in all, over 64 KiB.
    for (i, opcode) in [0x1u8, 0x0, 0x0].into_iter().enumerate() {
        let mut frame = vec![if i == 2 { 0x80 } else { 0 } | opcode, 0x80 | 126];
        frame.extend_from_slice(&(30u16 * 1024).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend(std::iter::repeat_n(b' ', 30 * 1024));
        if tcp.write_all(&frame).await.is_err() {
            break;
        }
    }
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut tcp))
        .await
        .expect("a close frame within 5 s");
    assert_eq!(code, 1009);
}

#[tokio::test]
async fn a_clients_close_frame_is_answered_with_the_servers() {
    let app = spawn_app().await;
    let mut tcp = raw_socket(&app.address).await;
    // A masked close frame with code 1000 (mask 0: the payload as is).
    tcp.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .await
        .unwrap();
    let code = tokio::time::timeout(Duration::from_secs(5), close_code(&mut tcp))
        .await
        .expect("the server answers the close");
    assert_eq!(code, 1000);
}

/// Stopping the server (as SIGTERM does) closes every websocket with 1001 at once, and the
/// server is down well within its shutdown timeout instead of waiting it out for the
/// sessions.
#[tokio::test]
async fn stopping_closes_websockets_with_1001_and_does_not_wait_for_them() {
    let mut settings = harness::test_settings(
        &harness::shared_redis_url(),
        &harness::unique_prefix("stop"),
    );
    settings.shutdown_timeout = Duration::from_secs(10);
    let app = harness::spawn_app_with(settings).await;
    let mut first = app.ws(ADMIN_TOKEN).await;
    let mut second = app.ws(ADMIN_TOKEN).await;
    let started = std::time::Instant::now();
    let (_, a, b) = tokio::join!(
        app.stop(),
        first.closed(Duration::from_secs(5)),
        second.closed(Duration::from_secs(5))
    );
    for closed in [a, b] {
        let (code, reason) = closed.expect("a close frame");
        assert_eq!((code, reason.as_str()), (1001, "server stopping"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped after {:?}",
        started.elapsed()
    );
}

/// A client that stops reading is dropped once its unread frames fill the connection's
/// buffers (after the send timeout), and its TCP connection is cut with it: the server does
/// not keep it ESTABLISHED with megabytes unsent for as long as the client likes. Other
/// clients are served meanwhile.
#[tokio::test]
async fn a_client_that_stops_reading_has_its_connection_cut() {
    let app = impatient_app("unread").await;
    app.two_teams(&[]).await;
    // A journal worth more than the socket's buffers hold (the kernel takes megabytes for a
    // client that does not read): long texts, replayed at once to a client that never
    // reads, so the session's sends block and it is dropped as too slow.
    let body = "x".repeat(1_500);
    let texts = (0..3_200).map(|n| {
        let app = &app;
        let body = &body;
        async move {
            app.post(
                "/v1/inbound",
                serde_json::json!({"from": format!("+1555010{:04}", n % 400), "to": "+15550102000", "body": body}),
            )
            .await
            .expect_status(200);
        }
    });
    futures_util::stream::iter(texts)
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let mut tcp = reluctant_socket(&app.address, "&after=0").await;

    // The client reads nothing and answers no ping. Meanwhile others are served.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        app.request(reqwest::Method::GET, "/healthz", None, None)
            .await
            .expect_status(200);
    }
    // By now (the send timeout is 1 s) the connection is cut: what the client finds is a
    // reset after the little its buffer held — not the megabytes of replay the server had
    // queued, which a connection left open would still deliver.
    let mut read = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buffer)).await {
            Ok(Ok(0)) => break Ok(()),
            Ok(Ok(n)) => read += n,
            Ok(Err(e)) => break Err(e.kind()),
            Err(_) => panic!("the connection is still open ({read} bytes read)"),
        }
    };
    assert_eq!(
        end,
        Err(std::io::ErrorKind::ConnectionReset),
        "{read} bytes read"
    );
    assert!(read < 256 * 1024, "{read} bytes read before the reset");
}

/// Past `max_connections`, a new connection is still answered — `503 server_busy` with
/// `Retry-After`, and closed — instead of hanging; once a connection ends, new ones are
/// served again.
#[tokio::test]
async fn connections_past_the_limit_get_a_clear_503() {
    let mut settings = harness::test_settings(
        &harness::shared_redis_url(),
        &harness::unique_prefix("busy"),
    );
    settings.max_connections = 2;
    let app = harness::spawn_app_with(settings).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let held = [
        TcpStream::connect(&host).await.unwrap(),
        TcpStream::connect(&host).await.unwrap(),
    ];
    // Accepted connections are counted as the server sees them: give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let busy = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    assert_eq!(busy.headers()["connection"], "close");
    let body: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(body["code"], "server_busy", "{body}");

    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = reqwest::Client::new()
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        if answer.status() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client flooding pings without reading the pongs cannot wedge its session: the session
/// ends (its pongs block past the send timeout, or it stops hearing the client) and the
/// connection is cut, while other clients are served.
#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_ends_in_a_cut() {
    let app = impatient_app("pingflood").await;
    let tcp = reluctant_socket(&app.address, "").await;
    let (_unread, mut write) = tcp.into_split();
    // Masked pings with the largest control payload (125 bytes), as fast as they go.
    let mut ping = vec![0x89u8, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);
    let flood = tokio::spawn(async move {
        loop {
            if let Err(e) = write.write_all(&ping).await {
                return e.kind();
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !flood.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the flooding client's connection was never cut"
        );
        app.request(reqwest::Method::GET, "/healthz", None, None)
            .await
            .expect_status(200);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ended = flood.await.unwrap();
    assert!(
        matches!(
            ended,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{ended:?}"
    );
}
