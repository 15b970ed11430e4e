//! The Yjs endpoint's WebSocket layer, which Tandem reads by hand: pings are answered with
//! their payload, a client's close is answered with its code, a message the client
//! fragments arrives whole, and a frame that breaks the protocol closes with 1002.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

use crate::files::create_file;
use crate::helpers::spawn_app;
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

#[tokio::test]
async fn pings_closes_and_fragments_are_handled_as_rfc_6455_says() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "wire.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut writer = YClient::synced(&app.address, id, token).await;
    let mut watcher = YClient::synced(&app.address, id, &cast.owner.access_token).await;

    writer.send_ws(Message::Ping("are you there".into())).await;
    assert_eq!(
        writer.next_control().await,
        Message::Pong("are you there".into())
    );

    // One update sent as three frames, with a ping between two of them.
    let update = writer.edit(0, "fragmented");
    let (first, rest) = update.split_at(update.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let binary = OpCode::Data(Data::Binary);
    let continuation = OpCode::Data(Data::Continue);
    writer
        .send_ws(Message::Frame(Frame::message(
            first.to_vec(),
            binary,
            false,
        )))
        .await;
    writer
        .send_ws(Message::Frame(Frame::message(
            second.to_vec(),
            continuation,
            false,
        )))
        .await;
    writer.send_ws(Message::Ping("between".into())).await;
    writer
        .send_ws(Message::Frame(Frame::message(
            third.to_vec(),
            continuation,
            true,
        )))
        .await;
    assert_eq!(writer.next_control().await, Message::Pong("between".into()));
    watcher.until_text("fragmented").await;

    writer
        .send_ws(Message::Close(Some(CloseFrame {
            code: CloseCode::Library(4000),
            reason: "done".into(),
        })))
        .await;
    let Message::Close(Some(reply)) = writer.next_control().await else {
        panic!("the close is answered with a close frame");
    };
    assert_eq!(u16::from(reply.code), 4000);
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "raw.txt"})).await;
    let id = created["id"].as_str().unwrap();

    let address = app.address.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /api/v1/collab/{id}?token={token} HTTP/1.1\r\nHost: {address}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // A binary frame holding an awareness query, without the mask clients must set.
    tcp.write_all(&[0x82, 0x01, 0x03]).await.unwrap();

    let mut received = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut received),
    )
    .await;
    assert!(read.is_ok(), "the server ends the connection");
    let head_end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a handshake answer")
        + 4;
    assert!(received.starts_with(b"HTTP/1.1 101"));
    // After the server's own frames (sync step 1, awareness), the last is a close: 1002.
    let frames = &received[head_end..];
    let close = last_frame(frames);
    assert_eq!(close[0], 0x88, "a close frame: {close:?}");
    assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1002);
}

/// The last of a run of unmasked server frames with short (< 64 KiB) payloads.
fn last_frame(mut frames: &[u8]) -> &[u8] {
    loop {
        let (header, length) = match frames[1] & 0x7f {
            126 => (4, usize::from(u16::from_be_bytes([frames[2], frames[3]]))),
            length => (2, usize::from(length)),
        };
        if frames.len() == header + length {
            return frames;
        }
        frames = &frames[header + length..];
    }
}
