//! A realtime WebSocket client for the tests, on tokio-tungstenite.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub struct Socket(WebSocketStream<MaybeTlsStream<TcpStream>>);

/// How a socket presents its credentials.
pub enum Auth<'a> {
    Header(&'a str),
    Query(&'a str),
    /// Nothing at connect time (an `auth` frame may follow).
    None,
}

impl TestApp {
    pub async fn socket(&self, auth: Auth<'_>) -> Socket {
        let base = self.address.replace("http://", "ws://") + "/api/v1/realtime";
        let url = match auth {
            Auth::Query(token) => format!("{base}?token={token}"),
            _ => base,
        };
        let mut request = url.into_client_request().unwrap();
        if let Auth::Header(token) = auth {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the socket opens");
        Socket(ws)
    }
}

impl Socket {
    /// A socket to the server at `address` (`http://…`), authenticated by `?token=`.
    pub async fn open(address: &str, token: &str) -> Socket {
        let url = address.replace("http://", "ws://") + "/api/v1/realtime?token=" + token;
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the socket opens");
        Socket(ws)
    }
}

impl TestApp {
    /// A socket whose TCP receive buffer is tiny, so the server's queue for it fills
    /// quickly once it stops reading.
    pub async fn slow_socket(&self, token: &str) -> Socket {
        let addr: std::net::SocketAddr =
            self.address.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let url = format!("ws://{addr}/api/v1/realtime?token={token}");
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("the socket opens");
        Socket(ws)
    }
}

/// How the server ended a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code.
    Close(u16),
    /// The end of the stream, or an error (a reset), with no close frame.
    Eof(String),
    /// Nothing within the wait.
    TimedOut,
}

impl Ending {
    /// How a read that ended with `message` (a close, an error, the end) ended.
    pub fn of(message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Self {
        match message {
            Some(Ok(Message::Close(Some(frame)))) => Self::Close(u16::from(frame.code)),
            Some(Ok(Message::Close(None))) => Self::Close(u16::from(CloseCode::Status)),
            Some(Ok(other)) => panic!("not an ending: {other:?}"),
            Some(Err(error)) => Self::Eof(error.to_string()),
            None => Self::Eof("end of stream".into()),
        }
    }
}

impl Socket {
    /// Reads everything the server sends until it ends the connection (within 10 s):
    /// the JSON frames, and how it ended.
    pub async fn read_to_end(&mut self) -> (Vec<Value>, Ending) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut frames = Vec::new();
        loop {
            let Ok(message) = tokio::time::timeout_at(deadline, self.0.next()).await else {
                return (frames, Ending::TimedOut);
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                ended => return (frames, Ending::of(ended)),
            }
        }
    }

    /// Whether the server ended the connection (a close frame, an error or EOF) within 5 s,
    /// reading and discarding whatever was queued before.
    pub async fn was_cut_off(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.0
            .send(Message::text(frame.to_string()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, text: String) {
        let _ = self.0.send(Message::text(text)).await;
    }

    /// The next JSON frame that is not about presence, within 5 s; panics on close.
    /// Presence frames follow every subscribe to a project or workspace channel; the
    /// presence tests read them with `recv_any`.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = self.recv_any().await;
            if !is_presence(&frame) {
                return frame;
            }
        }
    }

    /// The next JSON frame, whatever it is, within 5 s; panics on close.
    pub async fn recv_any(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.0.next())
                .await
                .expect("a frame within 5 s")
                .expect("the socket is open")
                .expect("a readable frame");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON"),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next `event` frame named `name`, skipping others (earlier changes may still be
    /// on their way when a test subscribes).
    pub async fn event_named(&mut self, name: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == "event" && frame["event"] == name {
                return frame;
            }
        }
    }

    /// Sends `frame` with `ref` and returns the answer carrying that ref.
    pub async fn request(&mut self, mut frame: Value, reference: &str) -> Value {
        frame["ref"] = Value::from(reference);
        self.send(frame).await;
        loop {
            let answer = self.recv().await;
            if answer["ref"] == reference {
                return answer;
            }
        }
    }

    /// Sends any WebSocket message (a close with a chosen code, say).
    pub async fn send_ws(&mut self, message: Message) {
        self.0.send(message).await.expect("a message sent");
    }

    /// The code the server closes with, within 5 s.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.0.next())
                .await
                .expect("a close within 5 s");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Asserts no frame but presence arrives within `ms` milliseconds.
    pub async fn silent_for(&mut self, ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.0.next()).await {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
                assert!(is_presence(&frame), "unexpected frame: {text}");
            }
        }
    }

    /// Reads for `ms` milliseconds and asserts no `event` frame named `name` came (other
    /// frames, such as earlier changes still on their way, are let through).
    pub async fn no_event_named_for(&mut self, name: &str, ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.0.next()).await {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
                assert!(
                    !(frame["type"] == "event" && frame["event"] == name),
                    "unexpected frame: {text}"
                );
            }
        }
    }
}

fn is_presence(frame: &Value) -> bool {
    frame["type"] == "presence_state" || frame["type"] == "presence_diff"
}
