//! A collaborative socket split in two: its [`PeerReader`] reads the client's frames from
//! the read half, and every write goes through the socket's shared [`PeerWriter`] (the
//! document's relayed frames and the socket task's own answers), so that frames go out
//! whole and in order.

use std::sync::Arc;

use tandem_collab::{CloseCode, Frame, PeerReader, PeerWriter};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::sync::CancellationToken;

use super::upgrade::BareConnection;

/// The reading side of a collaborative socket.
pub type Reader = PeerReader<OwnedReadHalf>;

/// Splits an upgraded connection into its reader, which refuses messages over
/// `max_message` bytes, and the shared writer, which holds at most `limit` unwritten bytes
/// and cancels `closing` when cut off.
pub fn split(
    connection: BareConnection,
    max_message: usize,
    limit: usize,
    closing: CancellationToken,
) -> (Reader, Arc<PeerWriter>) {
    let BareConnection { stream, read } = connection;
    let (read_half, write_half) = stream.into_split();
    let writer = Arc::new(PeerWriter::new(write_half, limit, closing));
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
