//! A collaborative socket's outbound side, shared by everyone who sends to it. A frame is
//! written straight to the socket by whichever task has it: a document's update reaches
//! all its peers from the one task that relays it, with no task woken per peer and no
//! queue in between. What a socket does not take at once waits here, in order, until the
//! socket's own task writes it on (see [`PeerWriter::drain`]): live traffic bounded in
//! bytes, the answer to the client's own sync step 1 apart (see
//! [`PeerWriter::send_answer`]).
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
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::{CloseCode as WsCloseCode, Data, OpCode};
use tungstenite::protocol::frame::{Frame as WsFrame, FrameHeader};

use crate::CloseCode;

/// Identifies one socket (a peer of its document) on this node.
pub type PeerId = u64;

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
    /// Bytes of live traffic that may wait; one more and the socket is cut off as a slow
    /// consumer. Answers to the client's own sync step 1 do not count (see
    /// [`Self::send_answer`]).
    limit: usize,
    /// Cancelled when the socket is cut off: its task closes it.
    closing: CancellationToken,
    /// Whether a frame was sent since [`Self::keep_alive`] last looked.
    sent: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    /// Bytes the socket has not taken yet, in order; the first may be partly written.
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    /// The part of `pending_bytes` that counts toward the limit.
    counted_bytes: usize,
    /// Whether the socket took part of the first pending buffer: its frame must be
    /// finished before any other goes out.
    started: bool,
    /// Nothing more is sent: the limit was passed or the connection broke.
    cut_off: bool,
    broken: bool,
    /// The socket's task, waiting for something to become pending.
    waiting: Option<Waker>,
}

/// Bytes waiting for the socket, and whether they count toward its limit.
#[derive(Debug)]
struct Pending {
    bytes: Bytes,
    counted: bool,
}

impl PeerWriter {
    /// A writer for `socket` that holds at most `limit` unwritten bytes of live traffic,
    /// cancelling `closing` when it is cut off.
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
        self.push(frame, true)
    }

    /// Sends a frame of the answer to the client's own sync step 1, which does not count
    /// toward the limit: a document larger than the limit must still reach a client
    /// that joins. It costs no more than the document: a socket's task sends a new
    /// answer only once the previous one has gone out (see [`Self::answering`]), and a
    /// fresh client's answer is the document's shared encoding (`Document::sync_step2`),
    /// the same bytes for every joiner. Live traffic queued behind it still counts.
    pub fn send_answer(&self, frame: &Frame) -> bool {
        self.push(frame, false)
    }

    fn push(&self, frame: &Frame, counted: bool) -> bool {
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
        if counted && state.counted_bytes + rest.len() > self.limit {
            self.cut_off(&mut state, false);
            return false;
        }
        state.queue(rest, counted);
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
        state.pending_bytes = state.pending.iter().map(|p| p.bytes.len()).sum();
        state.counted_bytes = state
            .pending
            .iter()
            .filter(|p| p.counted)
            .map(|p| p.bytes.len())
            .sum();
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
        state.queue(frame.0, true);
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

    /// Whether part of an answer to a sync step 1 still waits for the socket.
    pub fn answering(&self) -> bool {
        let state = self.lock();
        state.pending_bytes > state.counted_bytes
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
    /// connection breaks, and with `TimedOut` if the socket takes nothing for `stall`
    /// (a client that stopped reading).
    pub async fn drain(&self, stall: Duration) -> io::Result<()> {
        loop {
            if self.write_pending()? {
                return Ok(());
            }
            match tokio::time::timeout(stall, self.socket.writable()).await {
                Ok(writable) => writable?,
                Err(_) => return Err(io::ErrorKind::TimedOut.into()),
            }
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
                .map(|pending| IoSlice::new(&pending.bytes))
                .collect();
            let outcome = self.socket.try_write_vectored(&slices);
            drop(slices);
            let written = match outcome {
                Ok(written) => written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) => {
                    self.cut_off(&mut state, true);
                    return Err(error);
                }
            };
            state.taken(written);
        }
        Ok(true)
    }
}

impl State {
    fn queue(&mut self, bytes: Bytes, counted: bool) {
        self.pending_bytes += bytes.len();
        if counted {
            self.counted_bytes += bytes.len();
        }
        self.pending.push_back(Pending { bytes, counted });
    }

    /// The socket took `written` bytes from the front.
    fn taken(&mut self, mut written: usize) {
        self.pending_bytes -= written;
        while written > 0 {
            let front = self
                .pending
                .front_mut()
                .expect("written bytes were pending");
            let took = written.min(front.bytes.len());
            if front.counted {
                self.counted_bytes -= took;
            }
            written -= took;
            if took < front.bytes.len() {
                front.bytes.advance(took);
                self.started = true;
                break;
            }
            self.pending.pop_front();
            self.started = false;
        }
    }
}

#[cfg(test)]
mod tests;
