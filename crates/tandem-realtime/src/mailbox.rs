//! A multi-producer, single-consumer queue that allocates nothing until something is
//! queued, for the per-connection queues an idle socket holds.
//!
//! tokio's `mpsc` allocates a block of 32 slots when a channel is made, so each idle
//! connection's outbox, control and close channels cost kilobytes before the first
//! message. Here an idle queue is one small `Arc`, and a queue that held a burst gives its
//! memory back once drained. Waiting for an item is a future of one pointer: the waker
//! waits in the queue itself (there is one receiver), not in the future, which every open
//! socket's task holds for as long as it waits (a `Notify` wait is 64 bytes more).

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver_alive: bool,
    /// The receiver's task, while it waits for an item.
    waiting: Option<Waker>,
}

fn lock<T>(shared: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sending half; clone it for more producers.
pub struct Sender<T>(Arc<Mutex<State<T>>>);

/// The receiving half.
pub struct Receiver<T>(Arc<Mutex<State<T>>>);

/// A new, empty queue.
pub fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        senders: 1,
        receiver_alive: true,
        waiting: None,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `item`; gives it back if the receiver is gone.
    pub fn send(&self, item: T) -> Result<(), T> {
        let waiting = {
            let mut state = lock(&self.0);
            if !state.receiver_alive {
                return Err(item);
            }
            state.items.push_back(item);
            state.waiting.take()
        };
        // Woken outside the lock, so the receiver does not wake into a held lock.
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.0).senders += 1;
        Self(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = lock(&self.0);
            state.senders -= 1;
            if state.senders == 0 {
                state.waiting.take()
            } else {
                None
            }
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once the queue is empty and every sender is gone.
    /// Cancel-safe: an item is only taken when this returns it.
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        poll_fn(|cx| self.poll_recv(cx))
    }

    /// Polls for the next item, as [`Self::recv`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = lock(&self.0);
        if let Some(item) = pop(&mut state) {
            return Poll::Ready(Some(item));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        // Checked and registered under one lock: a send cannot slip between them.
        match &mut state.waiting {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waiting => *waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// An item that is already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        pop(&mut lock(&self.0))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        state.receiver_alive = false;
        state.items = VecDeque::new();
        state.waiting = None;
    }
}

fn pop<T>(state: &mut State<T>) -> Option<T> {
    let item = state.items.pop_front()?;
    // A drained queue frees its buffer: most sockets are idle most of the time, and the
    // next burst's allocation costs far less than the write that follows it.
    if state.items.is_empty() {
        state.items = VecDeque::new();
    }
    Some(item)
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mailbox::Sender")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mailbox::Receiver")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn items_arrive_in_order_and_the_end_is_seen_once_senders_are_gone() {
        let (tx, mut rx) = mailbox();
        let other = tx.clone();
        tx.send(1).unwrap();
        other.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        drop(other);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_send_from_another_task() {
        let (tx, mut rx) = mailbox();
        let waiter = tokio::spawn(async move { rx.recv().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.send("hello").unwrap();
        assert_eq!(waiter.await.unwrap(), Some("hello"));
    }

    #[tokio::test]
    async fn a_waiting_receiver_sees_the_end_when_the_last_sender_goes() {
        let (tx, mut rx) = mailbox::<u8>();
        let other = tx.clone();
        let waiter = tokio::spawn(async move { rx.recv().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(tx);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "one sender is left");
        drop(other);
        let ended = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert_eq!(ended.expect("the waiter woke").unwrap(), None);
    }

    #[test]
    fn a_wait_is_one_pointer() {
        let (_tx, mut rx) = mailbox::<u64>();
        assert_eq!(size_of_val(&rx.recv()), size_of::<usize>());
    }

    #[tokio::test]
    async fn sends_fail_once_the_receiver_is_gone() {
        let (tx, rx) = mailbox();
        drop(rx);
        assert_eq!(tx.send(7), Err(7));
    }

    #[tokio::test]
    async fn a_drained_burst_gives_its_memory_back() {
        let (tx, mut rx) = mailbox();
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert_eq!(lock(&rx.0).items.capacity(), 0);
        tx.send(1).unwrap();
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(lock(&rx.0).items.capacity(), 0, "a single item too");
    }

    #[tokio::test]
    async fn a_cancelled_recv_loses_nothing() {
        let (tx, mut rx) = mailbox();
        for _ in 0..100 {
            tokio::select! {
                biased;
                () = std::future::ready(()) => {}
                _ = rx.recv() => unreachable!("nothing was sent"),
            }
        }
        tx.send(5).unwrap();
        assert_eq!(rx.recv().await, Some(5));
    }
}
