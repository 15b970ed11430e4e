//! A collaborative socket split in two: tungstenite reads the client's frames from the
//! read half, and every write goes through the socket's shared [`PeerWriter`]: the
//! document's relayed frames, the socket task's own answers, and tungstenite's replies to
//! pings and closes, so that frames from all of them go out whole and in order.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tandem_collab::{CloseCode, Frame, PeerWriter};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::{Role, WebSocketConfig};

use super::upgrade::BareConnection;

/// The reading side of a collaborative socket.
pub type Reader = WebSocketStream<PeerIo>;

/// Splits an upgraded connection into tungstenite's reader and the shared writer, which
/// holds at most `limit` unwritten bytes and cancels `closing` when cut off.
pub async fn split(
    connection: BareConnection,
    config: WebSocketConfig,
    limit: usize,
    closing: CancellationToken,
) -> (Reader, Arc<PeerWriter>) {
    let BareConnection { stream, read } = connection;
    let (read_half, write_half) = stream.into_split();
    let writer = Arc::new(PeerWriter::new(write_half, limit, closing));
    let io = PeerIo {
        read: read_half,
        writer: writer.clone(),
    };
    let reader = WebSocketStream::from_partially_read(io, read, Role::Server, Some(config)).await;
    (reader, writer)
}

/// Closes a connection that never became a collaborative socket (its client could not
/// open the file) with `code`, giving the client a second to take the frame.
pub async fn refuse(connection: BareConnection, code: CloseCode) {
    let mut stream = connection.stream;
    let frame = Frame::close(code);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        stream.write_all(frame.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// The stream tungstenite reads and writes: reads from the socket's read half, writes
/// into its [`PeerWriter`] (which takes every frame whole or cuts the socket off).
pub struct PeerIo {
    read: OwnedReadHalf,
    writer: Arc<PeerWriter>,
}

impl AsyncRead for PeerIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.writer.send_bytes(&Bytes::copy_from_slice(buf)) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    /// The writer sends as the socket takes it; the socket's task drains what waits.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
