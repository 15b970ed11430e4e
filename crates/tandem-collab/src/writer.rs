//! A collaborative socket's outbound side, shared by everyone who sends to it. A frame is
//! written straight to the socket by whichever task has it: a document's update reaches
//! all its peers from the one task that relays it, with no task woken per peer and no
//! queue in between. What a socket does not take at once waits here, in order and bounded
//! in bytes, until the socket's own task writes it on (see [`PeerWriter::drain`]).
//!
//! Written by hand: WebSocket libraries own their connection's writes from one task,
//! which is the per-peer queue and wake-up this avoids. Frames are formatted with
//! tungstenite's own header code.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use bytes::{Buf, Bytes};
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::{CloseCode as WsCloseCode, Data, OpCode};
use tungstenite::protocol::frame::{Frame as WsFrame, FrameHeader};

use crate::CloseCode;

/// Pending buffers written by one `writev`.
const WRITE_SLICES: usize = 64;

/// One whole server-to-client WebSocket frame (header and payload), ready for the wire.
/// Cheap to clone: a relayed update is formatted once and shared by every peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    /// A binary frame holding `payload` (one y-protocol message).
    pub fn binary(payload: &[u8]) -> Self {
        let header = FrameHeader {
            opcode: OpCode::Data(Data::Binary),
            ..FrameHeader::default()
        };
        let length = payload.len() as u64;
        let mut frame = Vec::with_capacity(header.len(length) + payload.len());
        header
            .format(length, &mut frame)
            .expect("writing to a Vec cannot fail");
        frame.extend_from_slice(payload);
        Self(frame.into())
    }

    /// A close frame with `code` and its reason.
    pub fn close(code: CloseCode) -> Self {
        Self::control(WsFrame::close(Some(CloseFrame {
            code: WsCloseCode::from(code.code()),
            reason: code.reason().into(),
        })))
    }

    /// The answer to a client's close: its status code back, or none if it gave none.
    pub fn close_reply(code: Option<u16>) -> Self {
        Self::control(WsFrame::close(code.map(|code| CloseFrame {
            code: WsCloseCode::from(code),
            reason: "".into(),
        })))
    }

    /// The answer to a ping, with its payload.
    pub fn pong(payload: &[u8]) -> Self {
        Self::control(WsFrame::pong(payload.to_vec()))
    }

    fn control(frame: WsFrame) -> Self {
        let mut bytes = Vec::with_capacity(frame.len());
        frame
            .format(&mut bytes)
            .expect("writing to a Vec cannot fail");
        Self(bytes.into())
    }

    /// The frame as it goes on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The writing half of one collaborative socket.
#[derive(Debug)]
pub struct PeerWriter {
    socket: OwnedWriteHalf,
    state: Mutex<State>,
    /// Bytes that may wait; one more and the socket is cut off as a slow consumer.
    limit: usize,
    /// Cancelled when the socket is cut off: its task closes it.
    closing: CancellationToken,
    /// Whether a frame was sent since [`Self::keep_alive`] last looked.
    sent: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    /// Bytes the socket has not taken yet, in order; the first may be partly written.
    pending: VecDeque<Bytes>,
    pending_bytes: usize,
    /// Whether the socket took part of the first pending buffer: its frame must be
    /// finished before any other goes out.
    started: bool,
    /// Nothing more is sent: the limit was passed or the connection broke.
    cut_off: bool,
    broken: bool,
    /// The socket's task, waiting for something to become pending.
    waiting: Option<Waker>,
}

impl PeerWriter {
    /// A writer for `socket` that holds at most `limit` unwritten bytes, cancelling
    /// `closing` when it is cut off.
    pub fn new(socket: OwnedWriteHalf, limit: usize, closing: CancellationToken) -> Self {
        Self {
            socket,
            state: Mutex::new(State::default()),
            limit,
            closing,
            sent: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a frame: written at once if nothing waits and the socket takes it, else
    /// queued behind what waits. False if the socket is cut off, or now is: the frame
    /// would pass the limit (4008) or the connection is broken. A frame is never
    /// half-sent: what the socket did not take of it waits.
    pub fn send(&self, frame: &Frame) -> bool {
        let bytes = &frame.0;
        let mut state = self.lock();
        if state.cut_off {
            return false;
        }
        let mut rest = bytes.clone();
        if state.pending.is_empty() {
            match self.socket.try_write(bytes) {
                Ok(written) if written == bytes.len() => {
                    self.sent.store(true, Ordering::Relaxed);
                    return true;
                }
                Ok(written) => {
                    rest.advance(written);
                    state.started = true;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.cut_off(&mut state, true);
                    return false;
                }
            }
        }
        if state.pending_bytes + rest.len() > self.limit {
            self.cut_off(&mut state, false);
            return false;
        }
        state.pending_bytes += rest.len();
        state.pending.push_back(rest);
        self.sent.store(true, Ordering::Relaxed);
        let waiting = state.waiting.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
        true
    }

    /// Sends nothing more but a close frame. What waits is dropped, except the rest of
    /// a frame the socket has begun, which the close must follow.
    fn cut_off(&self, state: &mut State, broken: bool) {
        state.cut_off = true;
        state.broken |= broken;
        let keep = usize::from(state.started && !broken);
        state.pending.truncate(keep);
        state.pending_bytes = state.pending.iter().map(Bytes::len).sum();
        self.closing.cancel();
    }

    /// Queues a close frame after whatever frame the socket has begun, even if the
    /// socket was cut off (a slow consumer is told 4008); [`Self::drain`] sends it. Nothing
    /// more is sent after it.
    pub fn close(&self, code: CloseCode) {
        self.close_with(Frame::close(code));
    }

    /// As [`Self::close`], answering the client's own close frame.
    pub fn reply_to_close(&self, code: Option<u16>) {
        self.close_with(Frame::close_reply(code));
    }

    fn close_with(&self, frame: Frame) {
        let mut state = self.lock();
        if state.broken {
            return;
        }
        if !state.cut_off {
            self.cut_off(&mut state, false);
        }
        state.pending_bytes += frame.len();
        state.pending.push_back(frame.0);
    }

    /// Sends `frame` unless something was sent since the last call: for no-op messages
    /// that keep an idle client's link alive, which a busy one does not need. The
    /// keepalive itself does not count, so an idle client gets one every call; one that
    /// was sent something gets none until it goes quiet. True if sent.
    pub fn keep_alive(&self, frame: &Frame) -> bool {
        if self.sent.swap(false, Ordering::Relaxed) {
            return false;
        }
        let sent = self.send(frame);
        // A frame sent by someone else between these two lines is taken for the
        // keepalive: its client gets one extra keepalive next time, nothing worse.
        self.sent.store(false, Ordering::Relaxed);
        sent
    }

    /// Whether the connection broke (rather than being cut off for falling behind).
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    /// Bytes waiting for the socket.
    pub fn pending_bytes(&self) -> usize {
        self.lock().pending_bytes
    }

    /// Resolves once something waits to be written: the socket's task then calls
    /// [`Self::drain`].
    pub async fn has_pending(&self) {
        poll_fn(|cx| {
            let mut state = self.lock();
            if !state.pending.is_empty() {
                return Poll::Ready(());
            }
            match &state.waiting {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.waiting = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await;
    }

    /// Writes what waits, as the socket takes it, until nothing does. Fails if the
    /// connection breaks.
    pub async fn drain(&self) -> io::Result<()> {
        loop {
            if self.write_pending()? {
                return Ok(());
            }
            self.socket.writable().await?;
        }
    }

    /// Writes what waits until the socket would block; true once nothing waits.
    fn write_pending(&self) -> io::Result<bool> {
        let mut state = self.lock();
        while !state.pending.is_empty() {
            let slices: Vec<IoSlice<'_>> = state
                .pending
                .iter()
                .take(WRITE_SLICES)
                .map(|bytes| IoSlice::new(bytes))
                .collect();
            let outcome = self.socket.try_write_vectored(&slices);
            drop(slices);
            let mut written = match outcome {
                Ok(written) => written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) => {
                    self.cut_off(&mut state, true);
                    return Err(error);
                }
            };
            state.pending_bytes -= written;
            while written > 0 {
                let front = state
                    .pending
                    .front_mut()
                    .expect("written bytes were pending");
                if written < front.len() {
                    front.advance(written);
                    state.started = true;
                    break;
                }
                written -= front.len();
                state.pending.pop_front();
                state.started = false;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A writer on one end of a loopback connection, and the other end.
    async fn connected(limit: usize) -> (PeerWriter, TcpStream, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, write) = server.into_split();
        let closing = CancellationToken::new();
        (
            PeerWriter::new(write, limit, closing.clone()),
            client,
            closing,
        )
    }

    /// Reads `n` bytes from the client's end.
    async fn read(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        client.read_exact(&mut bytes).await.unwrap();
        bytes
    }

    #[tokio::test]
    async fn frames_sent_by_anyone_arrive_whole_and_in_order_when_the_client_lags() {
        let (writer, mut client, closing) = connected(64 << 20).await;
        // Far more than the socket's buffers hold: most of it waits in the writer.
        let frames: Vec<Frame> = (0..64u8).map(|i| Frame::binary(&[i; 100_000])).collect();
        for frame in &frames {
            assert!(writer.send(frame));
        }
        assert!(
            writer.pending_bytes() > 0,
            "the client has read nothing yet"
        );
        let expected: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
        let (drained, received) = tokio::join!(writer.drain(), read(&mut client, expected.len()));
        drained.unwrap();
        assert!(received == expected, "bytes arrived out of order or torn");
        assert_eq!(writer.pending_bytes(), 0);
        assert!(!closing.is_cancelled());
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_by_the_limit_is_cut_off_and_told_4008() {
        let (writer, mut client, closing) = connected(1 << 20).await;
        let frame = Frame::binary(&[1; 100_000]);
        let mut sent = 0;
        while writer.send(&frame) {
            sent += 1;
            assert!(sent < 1_000, "never cut off");
        }
        assert!(closing.is_cancelled());
        assert!(!writer.is_broken(), "cut off, not broken");
        assert!(
            !writer.send(&Frame::binary(b"later")),
            "nothing more goes out"
        );
        writer.close(CloseCode::SlowConsumer);
        let reading = tokio::spawn(async move {
            let mut received = Vec::new();
            client.read_to_end(&mut received).await.unwrap();
            received
        });
        writer.drain().await.unwrap();
        // Shuts the write half: the client reads to its end.
        drop(writer);
        let received = reading.await.unwrap();
        // Whole frames, then the close: a frame the socket had begun is finished first.
        let close = Frame::close(CloseCode::SlowConsumer);
        assert!(
            received.ends_with(close.as_bytes()),
            "no close frame at the end"
        );
        let body = received.len() - close.len();
        assert_eq!(body % frame.len(), 0, "a frame was torn");
        assert!(
            received[..body]
                .chunks(frame.len())
                .all(|chunk| chunk == frame.as_bytes())
        );
    }

    #[tokio::test]
    async fn keepalives_go_only_to_sockets_that_were_sent_nothing_since_the_last() {
        let (writer, mut client, _closing) = connected(1 << 20).await;
        let keepalive = Frame::binary(b"k");
        assert!(writer.keep_alive(&keepalive), "a new socket is quiet");
        assert!(writer.keep_alive(&keepalive), "a keepalive does not count");
        assert!(writer.send(&Frame::binary(b"update")));
        assert!(!writer.keep_alive(&keepalive), "it was just sent something");
        assert!(writer.keep_alive(&keepalive), "and was quiet since");
        let expected = [
            &b"\x82\x01k"[..],
            b"\x82\x01k",
            b"\x82\x06update",
            b"\x82\x01k",
        ]
        .concat();
        assert_eq!(read(&mut client, expected.len()).await, expected);
    }

    #[test]
    fn frames_carry_the_header_for_their_length() {
        let small = Frame::binary(&[7; 3]);
        assert_eq!(small.as_bytes(), &[0x82, 3, 7, 7, 7]);
        let medium = Frame::binary(&[0; 300]);
        assert_eq!(&medium.as_bytes()[..4], &[0x82, 126, 1, 44]);
        assert_eq!(medium.len(), 304);
        let large = Frame::binary(&[0; 70_000]);
        assert_eq!(&large.as_bytes()[..2], &[0x82, 127]);
        assert_eq!(large.len(), 70_010);
    }

    #[test]
    fn close_frames_hold_the_code_and_reason() {
        let frame = Frame::close(CloseCode::SlowConsumer);
        let bytes = frame.as_bytes();
        assert_eq!(bytes[0], 0x88);
        assert_eq!(&bytes[2..4], &4008u16.to_be_bytes());
        assert_eq!(&bytes[4..], b"slow consumer");
    }
}
