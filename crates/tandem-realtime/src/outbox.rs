//! A connection's outbound queue, bounded by the bytes it holds rather than by count, so
//! one slow client can neither grow the server's memory nor slow anyone else down.

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::mailbox::{self, mailbox};

/// The sending half: the hub and the connection's own reader push frames here.
#[derive(Debug, Clone)]
pub struct Outbox {
    // Unbounded in count, bounded in bytes by `queued` and `limit` below.
    tx: mailbox::Sender<Bytes>,
    counts: Arc<Counts>,
    limit: usize,
    overflow: CancellationToken,
}

/// What both halves keep count of.
#[derive(Debug, Default)]
struct Counts {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// Whether a push overflowed: nothing more is queued. Checked on every push, which
    /// the token's own check would make a mutex lock per frame.
    cut_off: AtomicBool,
}

/// The receiving half, owned by the task that writes to the socket.
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mailbox::Receiver<Bytes>,
    counts: Arc<Counts>,
}

/// A new queue that holds at most `limit` bytes. The token is cancelled when a push would
/// pass the limit: the connection is a slow consumer and must be closed (4008).
pub fn outbox(limit: usize) -> (Outbox, OutboxReceiver, CancellationToken) {
    let overflow = CancellationToken::new();
    let (tx, rx) = mailbox();
    let counts = Arc::new(Counts::default());
    let sender = Outbox {
        tx,
        counts: counts.clone(),
        limit,
        overflow: overflow.clone(),
    };
    (sender, OutboxReceiver { rx, counts }, overflow)
}

impl Outbox {
    /// Queues a frame; false (and the overflow token cancelled) if it would pass the limit,
    /// if an earlier one did, or if the connection is gone. A frame is never half-queued.
    pub fn push(&self, frame: Bytes) -> bool {
        if self.counts.cut_off.load(Ordering::Acquire) {
            return false;
        }
        let len = frame.len();
        let queued = &self.counts.queued;
        let before = queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit {
            queued.fetch_sub(len, Ordering::AcqRel);
            self.counts.cut_off.store(true, Ordering::Release);
            self.overflow.cancel();
            return false;
        }
        if self.tx.send(frame).is_err() {
            queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.counts.queued.load(Ordering::Acquire)
    }
}

impl OutboxReceiver {
    /// The next frame to write; `None` once every sender is gone.
    /// A function returning its future, not an `async fn`: the future is the one pointer
    /// the socket's task holds while it waits.
    pub fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + '_ {
        // Through a method, so the closure captures `self` whole: capturing its fields
        // one by one would make the future two pointers.
        poll_fn(|cx| self.poll_recv(cx))
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let frame = std::task::ready!(self.rx.poll_recv(cx));
        if let Some(frame) = &frame {
            self.counts.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        }
        Poll::Ready(frame)
    }

    /// A frame that is already queued, without waiting; lets the writer batch.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let frame = self.rx.try_recv()?;
        self.counts.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_flow_while_the_reader_keeps_up() {
        let (outbox, mut receiver, overflow) = outbox(10);
        for _ in 0..100 {
            assert!(outbox.push(Bytes::from_static(b"12345")));
            assert_eq!(receiver.recv().await.unwrap(), Bytes::from_static(b"12345"));
        }
        assert!(!overflow.is_cancelled());
        assert_eq!(outbox.queued(), 0);
        assert!(receiver.try_recv().is_none());
        outbox.push(Bytes::from_static(b"abc"));
        assert_eq!(receiver.try_recv(), Some(Bytes::from_static(b"abc")));
        assert_eq!(outbox.queued(), 0);
    }

    #[test]
    fn a_wait_is_one_pointer() {
        let (_outbox, mut receiver, _overflow) = outbox(10);
        let wait = receiver.recv();
        assert_eq!(size_of_val(&wait), size_of::<usize>());
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_by_the_limit_is_cut_off() {
        let (outbox, mut receiver, overflow) = outbox(10);
        assert!(outbox.push(Bytes::from_static(b"12345")));
        assert!(outbox.push(Bytes::from_static(b"12345")));
        assert!(
            !outbox.push(Bytes::from_static(b"1")),
            "the eleventh byte overflows"
        );
        assert!(overflow.is_cancelled());
        assert!(
            !outbox.push(Bytes::from_static(b"")),
            "nothing more once cut off"
        );
        assert_eq!(
            receiver.recv().await.unwrap().len(),
            5,
            "what was queued is intact"
        );
    }
}
