//! The Yjs servers the `yjs` scenarios can drive, side by side: Tandem, the `y-websocket`
//! reference server and Hocuspocus. Each names documents its own way and Hocuspocus
//! prefixes every message with the document's name (and wants an auth message first);
//! past that, all three speak the same y-protocols sync and awareness messages.

use std::net::Ipv4Addr;

use anyhow::Context;
use bytes::Bytes;
use clap::ValueEnum;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::fixture::Fixture;
use crate::sockets::{self, StampedSocket};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Tandem,
    YWebsocket,
    Hocuspocus,
}

/// A server to measure and how to reach its documents.
pub struct Peer {
    pub kind: Kind,
    /// `ws://host:port` of a y-websocket server or Hocuspocus.
    pub url: String,
    /// Tandem: the account and workspace files are created in.
    pub fixture: Option<Fixture>,
}

/// One document on a peer: where to connect, and the Hocuspocus name prefix.
#[derive(Debug, Clone)]
pub struct DocumentAddress {
    url: String,
    prefix: Option<Bytes>,
}

impl Peer {
    /// A new, empty document.
    pub async fn document(&self, name: &str) -> anyhow::Result<DocumentAddress> {
        Ok(match self.kind {
            Kind::Tandem => {
                let fixture = self.fixture.as_ref().context("Tandem needs a fixture")?;
                let file: serde_json::Value = fixture
                    .client
                    .post(format!(
                        "{}/api/v1/workspaces/{}/files",
                        fixture.base, fixture.workspace
                    ))
                    .bearer_auth(&fixture.token)
                    .json(&json!({"path": format!("{name}.txt")}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = file["id"].as_str().context("a file id")?;
                DocumentAddress {
                    url: format!(
                        "{}/api/v1/collab/{id}?token={}",
                        fixture.base.replace("http://", "ws://"),
                        fixture.token
                    ),
                    prefix: None,
                }
            }
            Kind::YWebsocket => DocumentAddress {
                url: format!("{}/{name}", self.url),
                prefix: None,
            },
            Kind::Hocuspocus => {
                let mut prefix = Vec::new();
                write_var(&mut prefix, name.len() as u64);
                prefix.extend_from_slice(name.as_bytes());
                DocumentAddress {
                    url: self.url.clone(),
                    prefix: Some(prefix.into()),
                }
            }
        })
    }
}

/// A client socket on one document, speaking plain y-protocol messages.
pub struct YSocket {
    socket: StampedSocket,
    prefix: Option<Bytes>,
}

/// The sending half of a [`YSocket`] whose incoming messages are read and dropped in the
/// background (servers send writers acknowledgements and awareness; unread, they would
/// back up).
pub struct YSender {
    sink: futures::stream::SplitSink<StampedSocket, Message>,
    prefix: Option<Bytes>,
    drain: tokio::task::JoinHandle<()>,
}

impl YSender {
    /// Sends a document update message carrying `update`.
    pub async fn send_update(&mut self, update: &[u8]) -> anyhow::Result<()> {
        self.sink
            .send(frame(&self.prefix, &update_message(update)))
            .await?;
        Ok(())
    }
}

impl Drop for YSender {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

/// What a received message is, as far as the scenarios care.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Sync step 2: the answer to our sync step 1 is complete.
    SyncDone,
    /// A document update (or a piece of a large initial state).
    Update,
    Other,
}

impl YSocket {
    /// Connects from `source` and, for Hocuspocus, authenticates (with an empty token).
    pub async fn open(address: &DocumentAddress, source: Option<Ipv4Addr>) -> anyhow::Result<Self> {
        let socket = sockets::open_stamped(&address.url, source).await?;
        let mut this = Self {
            socket,
            prefix: address.prefix.clone(),
        };
        if this.prefix.is_some() {
            // Hocuspocus: auth message (2), token sub-message (0), empty token.
            this.send(&[2, 0, 0]).await?;
        }
        Ok(this)
    }

    /// Opens the document, asks for all of it (sync step 1 with an empty state) and
    /// waits until it has it.
    pub async fn join(address: &DocumentAddress, source: Option<Ipv4Addr>) -> anyhow::Result<Self> {
        let mut this = Self::open(address, source).await?;
        this.send(&[0, 0, 1, 0]).await?;
        this.synced().await?;
        Ok(this)
    }

    /// Reads until the answer to our sync step 1 has arrived.
    pub async fn synced(&mut self) -> anyhow::Result<()> {
        while self.recv().await?.0 != Received::SyncDone {}
        Ok(())
    }

    pub async fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        self.socket.send(frame(&self.prefix, message)).await?;
        Ok(())
    }

    /// Sends a document update message carrying `update`.
    pub async fn send_update(&mut self, update: &[u8]) -> anyhow::Result<()> {
        self.send(&update_message(update)).await
    }

    /// Keeps only the sending half; what arrives is read and dropped.
    pub fn into_sender(self) -> YSender {
        let (sink, mut stream) = self.socket.split();
        let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        YSender {
            sink,
            prefix: self.prefix,
            drain,
        }
    }

    /// When the kernel received the newest data read so far (of the last message
    /// [`recv`](Self::recv) returned, or later).
    pub fn arrival(&self) -> Option<std::time::SystemTime> {
        self.socket.get_ref().last_arrival()
    }

    /// Stops tokio watching the socket until [`unpark`](Self::unpark), so that what the
    /// server sends it wakes nothing on this machine (see [`ArrivalStream::park`]).
    ///
    /// [`ArrivalStream::park`]: crate::arrival::ArrivalStream::park
    pub fn park(&mut self) -> std::io::Result<()> {
        self.socket.get_mut().park()
    }

    pub fn unpark(&mut self) -> std::io::Result<()> {
        self.socket.get_mut().unpark()
    }

    /// The next binary message read straight off the socket, below the WebSocket layer,
    /// with when the kernel received its last byte: each read takes exactly the bytes of
    /// one frame, so a frame's time is its own even when many wait in the socket. Only
    /// for a socket whose WebSocket layer holds nothing read ahead (right after
    /// [`join`](Self::join), before the server sends more) and only for the server's
    /// unmasked, unfragmented frames.
    pub async fn recv_raw(
        &mut self,
    ) -> anyhow::Result<(Received, Bytes, Option<std::time::SystemTime>)> {
        use tokio::io::AsyncReadExt;
        let stream = self.socket.get_mut();
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await?;
            let (fin, opcode, masked) = (head[0] & 0x80 != 0, head[0] & 0x0f, head[1] & 0x80 != 0);
            anyhow::ensure!(fin && !masked, "an unexpected frame header {head:02x?}");
            let len = match head[1] & 0x7f {
                126 => u64::from(stream.read_u16().await?),
                127 => stream.read_u64().await?,
                short => u64::from(short),
            };
            let mut payload = vec![0u8; usize::try_from(len)?];
            stream.read_exact(&mut payload).await?;
            let arrived = stream.last_arrival();
            match opcode {
                0x2 => {}
                0x8 => anyhow::bail!("closed by the server"),
                _ => continue,
            }
            let frame = Bytes::from(payload);
            let message = match &self.prefix {
                Some(prefix) if frame.starts_with(prefix) => frame.slice(prefix.len()..),
                Some(_) => continue,
                None => frame,
            };
            return Ok((kind_of(&message), message, arrived));
        }
    }

    /// The next binary message, without the Hocuspocus prefix, and what it is.
    pub async fn recv(&mut self) -> anyhow::Result<(Received, Bytes)> {
        loop {
            let frame = match self.socket.next().await.context("the server closed")?? {
                Message::Binary(frame) => frame,
                Message::Close(close) => anyhow::bail!("closed by the server: {close:?}"),
                _ => continue,
            };
            let message = match &self.prefix {
                Some(prefix) if frame.starts_with(prefix) => frame.slice(prefix.len()..),
                Some(_) => continue,
                None => frame,
            };
            return Ok((kind_of(&message), message));
        }
    }
}

/// What a message is: sync (0), or Hocuspocus's sync reply (4), then the sync message
/// type.
fn kind_of(message: &[u8]) -> Received {
    match (message.first(), message.get(1)) {
        (Some(0 | 4), Some(1)) => Received::SyncDone,
        (Some(0 | 4), Some(2)) => Received::Update,
        _ => Received::Other,
    }
}

fn update_message(update: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(update.len() + 8);
    message.extend_from_slice(&[0, 2]);
    write_var(&mut message, update.len() as u64);
    message.extend_from_slice(update);
    message
}

fn frame(prefix: &Option<Bytes>, message: &[u8]) -> Message {
    match prefix {
        Some(prefix) => {
            let mut framed = Vec::with_capacity(prefix.len() + message.len());
            framed.extend_from_slice(prefix);
            framed.extend_from_slice(message);
            Message::binary(framed)
        }
        None => Message::binary(message.to_vec()),
    }
}

/// lib0's variable-length unsigned integer.
pub fn write_var(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
