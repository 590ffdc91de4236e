//! A client that trickles its request body is cut off at the body timeout with
//! `408 request_timeout`, while other clients are served meanwhile.

use std::time::{Duration, Instant};

use harness::{spawn_app_with, test_settings, unique_prefix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_body_trickled_a_byte_at_a_time_times_out_with_408() {
    let mut settings = test_settings(&harness::shared_redis_url(), &unique_prefix("slow"));
    settings.body_timeout = Duration::from_secs(1);
    let app = spawn_app_with(settings).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /v1/teams HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        harness::ADMIN_TOKEN
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for byte in b"{\"name\": \"slow".iter().cycle() {
            if tcp.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
    };
    // Another client is answered while the slow one trickles.
    let (_, ordinary) = tokio::join!(
        tokio::time::timeout(Duration::from_millis(1500), trickle),
        app.request(reqwest::Method::GET, "/healthz", None, None)
    );
    ordinary.expect_status(200);
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
