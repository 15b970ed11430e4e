//! Client sockets: opened from a chosen loopback source address, so one machine can hold
//! more connections than one address has ephemeral ports (about 28,000).

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::arrival::ArrivalStream;

pub type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// The `i`th of `sources` loopback addresses, starting at 127.0.0.2 (127.0.0.1 is left
/// to the server). With no sources, the kernel picks.
pub fn source(i: usize, sources: usize) -> Option<Ipv4Addr> {
    (sources > 0).then(|| {
        let n = u32::try_from(2 + i % sources).unwrap_or(2);
        Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n)
    })
}

/// A client socket whose reads record when the kernel received the data.
pub type StampedSocket = tokio_tungstenite::WebSocketStream<ArrivalStream>;

/// Opens `url` (a `ws://` URL) from `source`.
pub async fn open(url: &str, source: Option<Ipv4Addr>) -> anyhow::Result<Socket> {
    handshake(url, connect(url, source).await?).await
}

/// Opens `url` from `source`, recording the kernel's receive time of each read.
pub async fn open_stamped(url: &str, source: Option<Ipv4Addr>) -> anyhow::Result<StampedSocket> {
    handshake(url, ArrivalStream::new(connect(url, source).await?)?).await
}

/// A TCP connection to `url`'s host from `source`.
async fn connect(url: &str, source: Option<Ipv4Addr>) -> anyhow::Result<TcpStream> {
    let authority = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .context("a ws:// URL")?;
    let server: SocketAddr = tokio::net::lookup_host(authority)
        .await?
        .next()
        .context("the server's address")?;
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::from((ip, 0)))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The WebSocket handshake over `stream`.
async fn handshake<S>(url: &str, stream: S) -> anyhow::Result<tokio_tungstenite::WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Browsers take a message of any size; tungstenite's 16 MiB default would fail a
    // client joining a large document sent whole (as the peers send it).
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30));
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(socket)
}

/// Sends `frame` with `ref` and waits for the answer carrying it; errors on `error`.
pub async fn request(socket: &mut Socket, mut frame: Value, reference: &str) -> anyhow::Result<()> {
    frame["ref"] = Value::from(reference);
    socket.send(Message::text(frame.to_string())).await?;
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let answer: Value = serde_json::from_str(text.as_str())?;
            if answer["ref"] == reference {
                anyhow::ensure!(answer["type"] == "ack", "refused: {answer}");
                return Ok(());
            }
        }
    }
    anyhow::bail!("the socket closed before answering")
}

/// Subscribes to `channel`, waiting for the `ack`.
pub async fn subscribe(socket: &mut Socket, channel: &str) -> anyhow::Result<()> {
    request(
        socket,
        json!({"type": "subscribe", "channel": channel}),
        "s",
    )
    .await
}
