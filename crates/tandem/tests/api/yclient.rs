//! A y-websocket client for the tests, on yrs: it syncs a local document with the server
//! the way `y-websocket` does (answer the server's sync step 1, send our own), applies the
//! updates and awareness the server relays, and sends local edits as updates.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message as YMessage, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, GetString, ReadTxn, Text, Transact, Update};

use crate::socket::Ending;

type Stream = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub struct YClient {
    ws: Stream,
    pub doc: Doc,
    /// Awareness states seen, by client id (`None` once removed).
    pub awareness: std::collections::HashMap<u64, Option<String>>,
}

impl YClient {
    /// Connects to the document of `file` on the server at `address` (`http://…`).
    pub async fn connect(address: &str, file: &str, token: &str) -> YClient {
        let (ws, _) = tokio_tungstenite::connect_async(url(address, file, token))
            .await
            .expect("the socket opens");
        let mut client = YClient {
            ws,
            doc: Doc::new(),
            awareness: Default::default(),
        };
        client.start().await;
        client
    }

    /// Connects with a tiny TCP receive buffer, so that once it stops reading what the
    /// server sends it soon waits in the server.
    pub async fn connect_slow(address: &str, file: &str, token: &str) -> YClient {
        let mut client = Self::open_slow(address, file, token).await;
        client.start().await;
        client
    }

    /// As [`Self::connect_slow`], but sends nothing: not even sync step 1.
    pub async fn open_slow(address: &str, file: &str, token: &str) -> YClient {
        let addr: std::net::SocketAddr = address.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let request = url(address, file, token);
        let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("the socket opens");
        YClient {
            ws,
            doc: Doc::new(),
            awareness: Default::default(),
        }
    }

    /// Sends sync step 1, as y-websocket does on connecting.
    async fn start(&mut self) {
        let step1 = YMessage::Sync(SyncMessage::SyncStep1(self.doc.transact().state_vector()));
        self.send(&step1).await;
    }

    /// Connects and waits until the local document has the server's text.
    pub async fn synced(address: &str, file: &str, token: &str) -> YClient {
        let mut client = Self::connect(address, file, token).await;
        client.pump_until(|c| c.saw_step2).await;
        client
    }

    pub async fn send(&mut self, message: &YMessage) {
        self.ws
            .send(Message::binary(message.encode_v1()))
            .await
            .expect("a frame sent");
    }

    /// Sends bytes as a binary frame, whatever they are.
    pub async fn send_raw(&mut self, frame: Vec<u8>) {
        self.ws
            .send(Message::binary(frame))
            .await
            .expect("a frame sent");
    }

    /// Sends any WebSocket message: a ping, a close, a frame of a fragmented message.
    pub async fn send_ws(&mut self, message: Message) {
        self.ws.send(message).await.expect("a message sent");
    }

    /// The next WebSocket message that is not a binary (y-protocol) one.
    pub async fn next_control(&mut self) -> Message {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    self.apply(&bytes, &mut Pumped::default()).await;
                }
                Ok(Some(Ok(message))) => return message,
                Ok(Some(Err(e))) => panic!("socket error: {e}"),
                Ok(None) => panic!("the socket ended"),
                Err(_) => panic!("nothing but binary frames within 5 s"),
            }
        }
    }

    pub fn text(&self) -> String {
        let text = self.doc.get_or_insert_text("content");
        text.get_string(&self.doc.transact())
    }

    /// Inserts `chunk` at byte `index` and sends the update.
    pub async fn insert(&mut self, index: u32, chunk: &str) {
        let message = self.edit(index, chunk);
        self.send_raw(message).await;
    }

    /// Inserts `chunk` at byte `index` locally; returns the update message to send.
    pub fn edit(&mut self, index: u32, chunk: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("content");
        let update = {
            let mut txn = self.doc.transact_mut();
            text.insert(&mut txn, index, chunk);
            txn.encode_update_v1()
        };
        YMessage::Sync(SyncMessage::Update(update)).encode_v1()
    }

    /// Announces an awareness state for this client.
    pub async fn set_awareness(&mut self, json: &str) {
        self.announce(self.client_id(), 1, json).await;
    }

    /// Sends an awareness entry for any client id, at any clock.
    pub async fn announce(&mut self, client: u64, clock: u32, json: &str) {
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            ClientID::new(client),
            AwarenessUpdateEntry {
                clock,
                json: json.into(),
            },
        );
        self.send(&YMessage::Awareness(AwarenessUpdate { clients }))
            .await;
    }

    /// Reads until the server ends the connection (within 10 s), applying what arrives;
    /// how it ended.
    pub async fn read_to_end(&mut self) -> Ending {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let Ok(message) = tokio::time::timeout_at(deadline, self.ws.next()).await else {
                return Ending::TimedOut;
            };
            match message {
                Some(Ok(Message::Binary(bytes))) => {
                    self.apply(&bytes, &mut Pumped::default()).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                ended => return Ending::of(ended),
            }
        }
    }

    pub fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    /// Reads and applies frames until `done` holds; panics after 5 s or on close.
    pub async fn pump_until(&mut self, mut done: impl FnMut(&Pumped) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut pumped = Pumped::default();
        while !done(pumped.with(self)) {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out; text is {:?}", self.text()))
                .expect("the socket is open")
                .expect("a readable frame");
            match frame {
                Message::Binary(bytes) => self.apply(&bytes, &mut pumped).await,
                Message::Close(close) => panic!("closed: {close:?}"),
                _ => {}
            }
        }
    }

    /// Reads frames until the text is `wanted`.
    pub async fn until_text(&mut self, wanted: &str) {
        let wanted = wanted.to_owned();
        self.pump_until(|p| p.text == wanted).await;
    }

    async fn apply(&mut self, frame: &[u8], pumped: &mut Pumped) {
        let message = YMessage::decode_v1(frame).expect("one y-protocol message per frame");
        match message {
            YMessage::Sync(SyncMessage::SyncStep1(sv)) => {
                let update = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send(&YMessage::Sync(SyncMessage::SyncStep2(update)))
                    .await;
            }
            YMessage::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                if matches!(message_kind(frame), Some(1)) {
                    pumped.saw_step2 = true;
                    pumped.step2s += 1;
                }
                let update = Update::decode_v1(&update).expect("an update");
                self.doc
                    .transact_mut()
                    .apply_update(update)
                    .expect("it applies");
            }
            YMessage::Awareness(update) => {
                if update.clients.is_empty() {
                    pumped.keepalives += 1;
                }
                for (client, entry) in update.clients {
                    let state = (&*entry.json != "null").then(|| entry.json.to_string());
                    self.awareness.insert(client.get(), state);
                }
                pumped.awareness_frames += 1;
            }
            _ => {}
        }
    }

    /// Waits for the server to close the socket; returns the code.
    pub async fn close_code(&mut self) -> u16 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(Some(frame))))) => return u16::from(frame.code),
                Ok(Some(Ok(Message::Close(None)))) => return u16::from(CloseCode::Status),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => panic!("socket error before close: {e}"),
                Ok(None) => panic!("ended without a close frame"),
                Err(_) => panic!("no close within 5 s"),
            }
        }
    }

    /// Reads and applies whatever arrives for `ms` milliseconds.
    pub async fn pump_for(&mut self, ms: u64) -> Pumped {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        let mut pumped = Pumped::default();
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Message::Binary(bytes) = frame {
                self.apply(&bytes, &mut pumped).await;
            }
        }
        pumped.with(self);
        pumped
    }

    /// Asserts the text stays `text` while frames arrive for `ms` milliseconds.
    pub async fn keeps_text(&mut self, text: &str, ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Message::Binary(bytes) = frame {
                self.apply(&bytes, &mut Pumped::default()).await;
            }
        }
        assert_eq!(self.text(), text);
    }
}

fn url(address: &str, file: &str, token: &str) -> String {
    format!(
        "{}/api/v1/collab/{file}?token={token}",
        address.replace("http://", "ws://")
    )
}

/// The sync message type of a frame (0 step 1, 1 step 2, 2 update), if it is a sync one.
fn message_kind(frame: &[u8]) -> Option<u8> {
    (frame.first() == Some(&0))
        .then(|| frame.get(1).copied())
        .flatten()
}

/// What pumping has seen so far, for `pump_until`'s condition.
#[derive(Debug, Default, Clone)]
pub struct Pumped {
    pub saw_step2: bool,
    /// Sync step 2 messages: one per answered sync step 1.
    pub step2s: usize,
    pub awareness_frames: usize,
    /// Awareness frames that change nothing: the server's keepalives.
    pub keepalives: usize,
    pub text: String,
    pub awareness: std::collections::HashMap<u64, Option<String>>,
}

impl Pumped {
    fn with(&mut self, client: &YClient) -> &Self {
        self.text = client.text();
        self.awareness = client.awareness.clone();
        self
    }
}
