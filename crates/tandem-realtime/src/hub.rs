//! The node's connection hub: which connection is subscribed to which topic, and the
//! delivery of every envelope the bus brings to the matching subscriptions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::{Bus, Envelope, Outbox};

/// Identifies a connection on this node.
pub type ConnectionId = u64;

/// One topic's subscriptions, by connection.
type Subscribers = HashMap<ConnectionId, Arc<Subscription>>;

/// Every subscription on this node, by topic.
#[derive(Debug)]
pub struct Hub {
    node: Arc<str>,
    next_connection: AtomicU64,
    // A std lock: held only to clone a handful of `Arc`s, never across an await.
    topics: RwLock<HashMap<Arc<str>, Subscribers>>,
}

/// One connection's subscription to one topic.
#[derive(Debug)]
pub struct Subscription {
    outbox: Outbox,
    // A std mutex: delivery and going live must not interleave, and neither awaits.
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Replay in progress: live envelopes wait here.
    Buffering(Vec<Envelope>),
    /// Delivering; durable envelopes at or below `floor` were already replayed.
    Live { floor: u64 },
}

impl Subscription {
    fn offer(&self, envelope: &Envelope) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *state {
            State::Buffering(waiting) => waiting.push(envelope.clone()),
            // The floor stays where the replay ended: live envelopes from two nodes may
            // arrive out of seq order, and raising it would drop the later-arriving one.
            State::Live { floor } => {
                if envelope.seq.is_none_or(|seq| seq > *floor) {
                    self.outbox.push(envelope.payload.clone());
                }
            }
        }
    }

    /// Ends a replay: queues `first` (the `ack` and the replayed frames, up to seq
    /// `replayed_to`), then what arrived meanwhile and was not replayed, and goes live.
    /// Nothing is lost or doubled between replay and live delivery.
    pub fn go_live(&self, first: impl IntoIterator<Item = Bytes>, replayed_to: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for frame in first {
            self.outbox.push(frame);
        }
        if let State::Buffering(waiting) =
            std::mem::replace(&mut *state, State::Live { floor: replayed_to })
        {
            for envelope in waiting {
                if envelope.seq.is_none_or(|seq| seq > replayed_to) {
                    self.outbox.push(envelope.payload);
                }
            }
        }
    }
}

impl Hub {
    /// A hub for a node named `node` (unique in the deployment, e.g. a UUID).
    pub fn new(node: impl Into<Arc<str>>) -> Self {
        Self {
            node: node.into(),
            next_connection: AtomicU64::new(1),
            topics: RwLock::new(HashMap::new()),
        }
    }

    /// This node's name.
    pub fn node(&self) -> &Arc<str> {
        &self.node
    }

    /// A fresh id for a connection on this node.
    pub fn connect(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// The `origin` of envelopes a connection publishes.
    pub fn origin(&self, connection: ConnectionId) -> Arc<str> {
        format!("{}:{connection}", self.node).into()
    }

    /// Subscribes `connection` to `topic`. With `replaying`, live envelopes wait until
    /// `Subscription::go_live`; otherwise delivery starts at once.
    pub fn subscribe(
        &self,
        topic: &str,
        connection: ConnectionId,
        outbox: Outbox,
        replaying: bool,
    ) -> Arc<Subscription> {
        let state = if replaying {
            State::Buffering(Vec::new())
        } else {
            State::Live { floor: 0 }
        };
        let subscription = Arc::new(Subscription {
            outbox,
            state: Mutex::new(state),
        });
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        topics
            .entry(topic.into())
            .or_default()
            .insert(connection, subscription.clone());
        subscription
    }

    pub fn unsubscribe(&self, topic: &str, connection: ConnectionId) {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.remove(&connection);
            if subscribers.is_empty() {
                topics.remove(topic);
            }
        }
    }

    /// How many connections on this node are subscribed to `topic`.
    pub fn subscribers(&self, topic: &str) -> usize {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        topics.get(topic).map_or(0, HashMap::len)
    }

    /// Hands `envelope` to every subscription of its topic but its sender's.
    pub fn deliver(&self, envelope: &Envelope) {
        let subscribers: Vec<(ConnectionId, Arc<Subscription>)> = {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            match topics.get(&envelope.topic) {
                Some(subscribers) => subscribers.iter().map(|(id, s)| (*id, s.clone())).collect(),
                None => return,
            }
        };
        // The sending connection, if it is on this node: parsed once per envelope, not
        // formatted once per subscriber.
        let sender = envelope.origin.as_deref().and_then(|origin| {
            origin
                .strip_prefix(&*self.node)?
                .strip_prefix(':')?
                .parse()
                .ok()
        });
        for (connection, subscription) in subscribers {
            if sender == Some(connection) {
                continue;
            }
            subscription.offer(envelope);
        }
    }

    /// Delivers everything the bus brings until `stop`.
    pub async fn run(self: Arc<Self>, bus: Arc<dyn Bus>, stop: CancellationToken) {
        self.run_with(bus, stop, |_| {}).await;
    }

    /// As [`run`](Self::run), handing each envelope to `then` once it is delivered, in the
    /// bus's order. What `then` does to a connection (such as ending a subscription after
    /// an access change) comes after every event the bus brought before it, which a
    /// separate listener on the bus could not promise.
    pub async fn run_with(
        self: Arc<Self>,
        bus: Arc<dyn Bus>,
        stop: CancellationToken,
        mut then: impl FnMut(&Envelope),
    ) {
        let mut envelopes = bus.subscribe();
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return,
                received = envelopes.recv() => received,
            };
            match received {
                Ok(envelope) => {
                    self.deliver(&envelope);
                    then(&envelope);
                }
                // Durable subscribers recover with `since`; ephemeral events are lossy.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(node = %self.node, missed, "hub fell behind the bus");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{OutboxReceiver, outbox};

    fn durable(topic: &str, seq: u64) -> Envelope {
        Envelope {
            seq: Some(seq),
            ..Envelope::new(topic, seq.to_string().into_bytes())
        }
    }

    async fn drain(receiver: &mut OutboxReceiver) -> Vec<String> {
        let mut frames = Vec::new();
        let wait = std::time::Duration::from_millis(10);
        while let Ok(Some(frame)) = tokio::time::timeout(wait, receiver.recv()).await {
            frames.push(String::from_utf8(frame.to_vec()).unwrap());
        }
        frames
    }

    #[tokio::test]
    async fn envelopes_reach_the_subscribers_of_their_topic_only() {
        let hub = Hub::new("n");
        let (a, mut a_rx, _) = outbox(1 << 20);
        let (b, mut b_rx, _) = outbox(1 << 20);
        hub.subscribe("project:1", hub.connect(), a, false);
        hub.subscribe("project:2", hub.connect(), b, false);
        hub.deliver(&durable("project:1", 1));
        assert_eq!(drain(&mut a_rx).await, ["1"]);
        assert!(drain(&mut b_rx).await.is_empty());
    }

    #[tokio::test]
    async fn an_ephemeral_event_skips_its_sender() {
        let hub = Hub::new("n");
        let (sender_id, other_id) = (hub.connect(), hub.connect());
        let (s, mut s_rx, _) = outbox(1 << 20);
        let (o, mut o_rx, _) = outbox(1 << 20);
        hub.subscribe("workspace:w", sender_id, s, false);
        hub.subscribe("workspace:w", other_id, o, false);
        let cursor = Envelope {
            origin: Some(hub.origin(sender_id)),
            ..Envelope::new("workspace:w", &b"cursor"[..])
        };
        hub.deliver(&cursor);
        assert!(drain(&mut s_rx).await.is_empty());
        assert_eq!(drain(&mut o_rx).await, ["cursor"]);
    }

    #[tokio::test]
    async fn what_follows_an_envelope_sees_it_already_delivered() {
        let hub = Arc::new(Hub::new("n"));
        let bus: Arc<dyn Bus> = Arc::new(crate::MemoryBus::new());
        let (out, mut rx, _) = outbox(1 << 20);
        hub.subscribe("room:1", hub.connect(), out.clone(), false);
        let stop = CancellationToken::new();
        // Stands for an access change: what it finds queued when it runs.
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        let running = tokio::spawn(hub.clone().run_with(bus.clone(), stop.clone(), {
            move |envelope: &Envelope| {
                if &*envelope.topic == "control" {
                    let _ = seen_tx.send(out.queued());
                }
            }
        }));
        tokio::task::yield_now().await;
        bus.publish(durable("room:1", 1)).await.unwrap();
        bus.publish(Envelope::new("control", &b"revoke"[..]))
            .await
            .unwrap();
        let queued = tokio::time::timeout(std::time::Duration::from_secs(5), seen_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            queued, 1,
            "the room's event was queued before the change ran"
        );
        assert_eq!(drain(&mut rx).await, ["1"]);
        stop.cancel();
        running.await.unwrap();
    }

    #[tokio::test]
    async fn going_live_after_a_replay_neither_loses_nor_doubles() {
        let hub = Hub::new("n");
        let (out, mut rx, _) = outbox(1 << 20);
        let subscription = hub.subscribe("project:1", hub.connect(), out, true);
        // While the replay (seqs 1..=3) is read, 3 and 4 arrive live.
        hub.deliver(&durable("project:1", 3));
        hub.deliver(&durable("project:1", 4));
        // The replay covered 3; the buffered 3 is dropped, the buffered 4 follows it.
        subscription.go_live(
            ["ack", "1", "2", "3"].map(|f: &'static str| Bytes::from_static(f.as_bytes())),
            3,
        );
        hub.deliver(&durable("project:1", 5));
        assert_eq!(drain(&mut rx).await, ["ack", "1", "2", "3", "4", "5"]);
    }

    #[tokio::test]
    async fn the_same_connection_id_on_another_node_still_receives() {
        let hub = Hub::new("node-a");
        let id = hub.connect();
        let (out, mut rx, _) = outbox(1 << 20);
        hub.subscribe("workspace:w", id, out, false);
        let from_elsewhere = Envelope {
            origin: Some(format!("node-b:{id}").into()),
            ..Envelope::new("workspace:w", &b"cursor"[..])
        };
        hub.deliver(&from_elsewhere);
        assert_eq!(drain(&mut rx).await, ["cursor"]);
    }

    #[tokio::test]
    async fn unsubscribing_stops_delivery_and_forgets_empty_topics() {
        let hub = Hub::new("n");
        let id = hub.connect();
        let (out, mut rx, _) = outbox(1 << 20);
        hub.subscribe("project:1", id, out, false);
        assert_eq!(hub.subscribers("project:1"), 1);
        hub.unsubscribe("project:1", id);
        hub.deliver(&durable("project:1", 1));
        assert!(drain(&mut rx).await.is_empty());
        assert_eq!(hub.subscribers("project:1"), 0);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_cut_off_without_holding_up_a_fast_one() {
        let hub = Hub::new("n");
        let (slow, _slow_rx, slow_overflow) = outbox(64);
        let (fast, mut fast_rx, fast_overflow) = outbox(64);
        hub.subscribe("t", hub.connect(), slow, false);
        hub.subscribe("t", hub.connect(), fast, false);
        for i in 0..100 {
            hub.deliver(&Envelope::new("t", format!("frame {i:04}").into_bytes()));
            assert_eq!(fast_rx.recv().await.unwrap().len(), 10);
        }
        assert!(slow_overflow.is_cancelled(), "the slow reader overflowed");
        assert!(
            !fast_overflow.is_cancelled(),
            "the fast one kept every frame"
        );
    }
}
