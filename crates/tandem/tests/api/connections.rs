//! The HTTP edge under clients that do not play along: half-sent and silent connections
//! are closed within the header timeout, the connection caps refuse with a problem and
//! recover, and the requests hyper itself cannot parse are answered as problem+json.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with};

fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; what it sent, and how long it took.
async fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open for 30 s");
    (received, started.elapsed())
}

/// The status and problem of a raw HTTP answer.
fn problem(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head[9..12].parse().expect("a status");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    (status, serde_json::from_str(body).expect("a JSON problem"))
}

#[tokio::test]
async fn half_sent_and_silent_connections_are_closed_within_the_header_timeout() {
    let app = spawn_app_with(|s| s.http_header_timeout = Duration::from_secs(1)).await;
    let mut half = TcpStream::connect(socket_address(&app)).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(socket_address(&app)).await.unwrap();
    let (_, half_took) = read_to_close(&mut half).await;
    let (sent, silent_took) = read_to_close(&mut silent).await;
    assert!(half_took < Duration::from_secs(10), "{half_took:?}");
    assert!(silent_took < Duration::from_secs(10), "{silent_took:?}");
    assert!(sent.is_empty());

    // A keep-alive connection left idle after an answer is closed the same way.
    let mut idle = TcpStream::connect(socket_address(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, idle_took) = read_to_close(&mut idle).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert!(idle_took < Duration::from_secs(10), "{idle_took:?}");
}

#[tokio::test]
async fn connections_past_the_per_address_cap_get_a_503_problem_and_the_cap_recovers() {
    let app = spawn_app_with(|s| s.max_connections_per_address = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(socket_address(&app)).await.unwrap());
    }
    let mut over = TcpStream::connect(socket_address(&app)).await.unwrap();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_close(&mut over).await;
    let (status, body) = problem(&answer);
    assert_eq!(status, 503);
    assert_eq!(body["code"], "too_many_connections");
    assert!(String::from_utf8_lossy(&answer).contains("retry-after: 1"));

    held.truncate(1);
    let recovered = until_served(&app).await;
    assert_eq!(recovered, 200);
}

#[tokio::test]
async fn connections_past_the_global_cap_get_a_503_problem_and_the_cap_recovers() {
    let app = spawn_app_with(|s| {
        s.max_connections = 2;
        s.max_connections_per_address = 0;
    })
    .await;
    let held: Vec<_> =
        futures::future::join_all((0..2).map(|_| TcpStream::connect(socket_address(&app)))).await;
    let mut over = TcpStream::connect(socket_address(&app)).await.unwrap();
    let (answer, _) = read_to_close(&mut over).await;
    let (status, body) = problem(&answer);
    assert_eq!(status, 503);
    assert_eq!(body["code"], "too_many_connections");
    drop(held);
    assert_eq!(until_served(&app).await, 200);
}

/// Asks `/healthz` on fresh connections until one is served (the server notices closed
/// connections as it reads them); the status.
async fn until_served(app: &TestApp) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(socket_address(app)).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_to_close(&mut stream).await;
        let status: u16 = String::from_utf8_lossy(&answer[..12])[9..12]
            .parse()
            .unwrap();
        if status != 503 || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_hyper_cannot_parse_are_answered_as_problems() {
    let app = spawn_app_with(|_| {}).await;
    let long_query = format!(
        "GET /api/v1/projects?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(80 * 1024)
    );
    let cases: [(&[u8], u16, &str); 3] = [
        (long_query.as_bytes(), 431, "headers_too_large"),
        (big_header.as_bytes(), 431, "headers_too_large"),
        (
            b"GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n",
            400,
            "malformed_request",
        ),
    ];
    for (request, wanted_status, wanted_code) in cases {
        let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
        // The server may answer and close before it has read all of a large request.
        let _ = stream.write_all(request).await;
        let (answer, _) = read_to_close(&mut stream).await;
        let (status, body) = problem(&answer);
        assert_eq!(
            (status, body["code"].as_str()),
            (wanted_status, Some(wanted_code))
        );
        assert_eq!(body["status"], wanted_status);
    }
}

#[tokio::test]
async fn a_close_frame_with_an_invalid_code_is_answered_with_1002_on_both_sockets() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let app = spawn_app_with(|_| {}).await;
    let user = app.new_user().await;
    let invalid = || {
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(999),
            reason: "".into(),
        }))
    };

    let mut realtime = crate::socket::Socket::open(&app.address, &user.access_token).await;
    realtime.send_ws(invalid()).await;
    assert_eq!(realtime.close_code().await, 1002);

    let cast = crate::tenancy_helpers::Cast::new(&app).await;
    let scene = crate::tenancy_helpers::Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let file =
        crate::files::create_file(&app, &scene, token, serde_json::json!({"path": "c.txt"})).await;
    let mut collab =
        crate::yclient::YClient::synced(&app.address, file["id"].as_str().unwrap(), token).await;
    collab.send_ws(invalid()).await;
    assert_eq!(collab.close_code().await, 1002);
}
