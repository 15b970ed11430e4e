//! A collaborative socket split in two: its [`PeerReader`] reads the client's frames from
//! the read half, and every write goes through the socket's shared [`PeerWriter`] (the
//! document's relayed frames and the socket task's own answers), so that frames go out
//! whole and in order.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tandem_collab::{CloseCode, Frame, PeerReader, PeerWriter};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::sync::CancellationToken;

use super::upgrade::BareConnection;
use crate::http::stream::Place;

/// The reading side of a collaborative socket.
pub type Reader = PeerReader<PlacedReadHalf>;

/// The socket's read half, holding the connection's place under the server's
/// connection caps for as long as the socket is read.
pub struct PlacedReadHalf {
    half: OwnedReadHalf,
    _place: Option<Place>,
}

impl AsyncRead for PlacedReadHalf {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.half).poll_read(cx, buf)
    }
}

/// Splits an upgraded connection into its reader, which refuses messages over
/// `max_message` bytes, and the shared writer, which holds at most `limit` unwritten bytes
/// and cancels `closing` when cut off.
pub fn split(
    connection: BareConnection,
    max_message: usize,
    limit: usize,
    closing: CancellationToken,
) -> (Reader, Arc<PeerWriter>) {
    let BareConnection {
        stream,
        read,
        place,
    } = connection;
    let (half, write_half) = stream.into_split();
    let writer = Arc::new(PeerWriter::new(write_half, limit, closing));
    let read_half = PlacedReadHalf {
        half,
        _place: place,
    };
    (PeerReader::new(read_half, &read, max_message), writer)
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
