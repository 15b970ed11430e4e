//! The node's presence tracker: its connections' entries (written to the roster and
//! announced on the bus), a replica of every channel its clients are on, coalesced
//! `presence_diff` frames, heartbeats, and the expiry of nodes that went silent.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::{Clock, UserId};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::replica::{Change, Replica};
use super::{Member, PresenceEntry, Roster, diff_frame};
use crate::{Bus, ConnectionId, Envelope, Hub};

/// The bus topic of presence changes between nodes; no client can subscribe to it.
pub const TOPIC: &str = "internal:presence";

/// Timing of presence.
#[derive(Debug, Clone, Copy)]
pub struct PresenceConfig {
    /// How often a node says it is alive.
    pub heartbeat: Duration,
    /// How long a silent node's members still count as present.
    pub ttl: Duration,
    /// How long changes gather before one `presence_diff` goes out.
    pub coalesce: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(10),
            ttl: Duration::from_secs(30),
            coalesce: Duration::from_millis(50),
        }
    }
}

/// A user whose last connection left a channel (or whose node went silent), with when.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    pub topic: Arc<str>,
    pub user_id: UserId,
    pub at: DateTime<Utc>,
}

/// A presence change on the bus.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Message {
    Put {
        topic: Arc<str>,
        entry: PresenceEntry,
    },
    Remove {
        topic: Arc<str>,
        node: Arc<str>,
        connection: ConnectionId,
    },
    Heartbeat {
        node: Arc<str>,
    },
    Down {
        node: Arc<str>,
    },
}

#[derive(Debug, Default)]
struct Inner {
    replicas: HashMap<Arc<str>, Replica>,
    /// When each other node was last heard from.
    nodes: HashMap<Arc<str>, Instant>,
}

/// This node's view of presence on the channels its clients are on.
#[derive(Debug)]
pub struct Presence {
    node: Arc<str>,
    roster: Arc<dyn Roster>,
    bus: Arc<dyn Bus>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    config: PresenceConfig,
    // A std mutex: never held across an await.
    inner: Mutex<Inner>,
    departures: mpsc::UnboundedSender<Departure>,
}

impl Presence {
    /// A tracker for `hub`'s node, and the departures it reports (for last-seen).
    pub fn new(
        hub: Arc<Hub>,
        roster: Arc<dyn Roster>,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
        config: PresenceConfig,
    ) -> (Self, mpsc::UnboundedReceiver<Departure>) {
        let (departures, receiver) = mpsc::unbounded_channel();
        let presence = Self {
            node: hub.node().clone(),
            roster,
            bus,
            hub,
            clock,
            config,
            inner: Mutex::default(),
            departures,
        };
        (presence, receiver)
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An entry for one of this node's connections, joining now.
    pub fn entry(
        &self,
        connection: ConnectionId,
        user_id: UserId,
        name: &str,
        meta: Value,
    ) -> PresenceEntry {
        let now = self.clock.now();
        PresenceEntry {
            node: self.node.clone(),
            connection,
            user_id,
            name: name.to_owned(),
            since: now,
            meta,
            updated: now,
        }
    }

    /// Makes one of this node's connections present on `topic`; returns the members
    /// there, the joiner included. Presence is best effort: a roster that cannot be
    /// reached is logged, and the replica heals at the next heartbeat.
    pub async fn join(&self, topic: &str, entry: PresenceEntry) -> Vec<Member> {
        let (first, mut ready) = {
            let mut inner = self.inner();
            let first = !inner.replicas.contains_key(topic);
            let replica = inner
                .replicas
                .entry(topic.into())
                .or_insert_with(Replica::new);
            replica.local += 1;
            replica.change(Change::Put(entry.clone()));
            (first, replica.ready.subscribe())
        };
        self.write(topic, &entry).await;
        if first {
            self.load(topic).await;
            // Nobody on this node was shown this channel before: its joiners see it whole.
            if let Some(replica) = self.inner().replicas.get_mut(topic) {
                replica.settle();
            }
        } else {
            // Another join is loading the replica; its sender lives as long as the
            // replica does, and a dropped replica has nothing to wait for.
            let _ = ready.wait_for(|ready| *ready).await;
        }
        let inner = self.inner();
        inner
            .replicas
            .get(topic)
            .map(|replica| replica.members_as_told(entry.user_id))
            .unwrap_or_default()
    }

    /// Replaces the meta of one of this node's connections on `topic`.
    pub async fn update(&self, topic: &str, connection: ConnectionId, meta: Value) {
        let updated = {
            let mut inner = self.inner();
            let Some(replica) = inner.replicas.get_mut(topic) else {
                return;
            };
            let Some(mut entry) = replica
                .entries()
                .of_node(&self.node)
                .into_iter()
                .find(|e| e.connection == connection)
            else {
                return;
            };
            entry.meta = meta;
            entry.updated = self.clock.now();
            replica.change(Change::Put(entry.clone()));
            entry
        };
        self.write(topic, &updated).await;
    }

    /// Removes one of this node's connections from `topic`.
    pub async fn leave(&self, topic: &str, connection: ConnectionId) {
        let departed = {
            let mut inner = self.inner();
            let Some(replica) = inner.replicas.get_mut(topic) else {
                return;
            };
            let key = (self.node.clone(), connection);
            let user = replica
                .entries()
                .of_node(&self.node)
                .into_iter()
                .find(|e| e.connection == connection)
                .map(|e| e.user_id);
            replica.change(Change::Remove(key));
            replica.local = replica.local.saturating_sub(1);
            let gone = user.filter(|u| replica.entries().member(*u).is_none());
            if replica.local == 0 {
                inner.replicas.remove(topic);
            }
            gone
        };
        if let Some(user_id) = departed {
            self.depart(topic.into(), user_id, self.clock.now());
        }
        if let Err(error) = self.roster.remove(topic, &self.node, connection).await {
            tracing::warn!(error = ?error, topic, "removing a presence entry failed");
        }
        self.announce(&Message::Remove {
            topic: topic.into(),
            node: self.node.clone(),
            connection,
        })
        .await;
    }

    /// The members on `topic`: from the replica when this node's clients are there,
    /// otherwise from the roster.
    pub async fn members(&self, topic: &str) -> anyhow::Result<Vec<Member>> {
        if let Some(members) = self.members_here(topic) {
            return Ok(members);
        }
        Ok(Member::group(&self.roster.load(topic).await?))
    }

    fn members_here(&self, topic: &str) -> Option<Vec<Member>> {
        let inner = self.inner();
        let replica = inner.replicas.get(topic)?;
        Some(replica.entries().members())
    }

    async fn write(&self, topic: &str, entry: &PresenceEntry) {
        if let Err(error) = self.roster.put(topic, entry).await {
            tracing::warn!(error = ?error, topic, "writing a presence entry failed");
        }
        self.announce(&Message::Put {
            topic: topic.into(),
            entry: entry.clone(),
        })
        .await;
    }

    async fn announce(&self, message: &Message) {
        let payload = match serde_json::to_vec(message) {
            Ok(payload) => payload,
            Err(error) => return tracing::error!(error = %error, "cannot encode presence"),
        };
        if let Err(error) = self.bus.publish(Envelope::new(TOPIC, payload)).await {
            tracing::warn!(error = ?error, "announcing a presence change failed");
        }
    }

    /// Loads `topic`'s replica from the roster (its first load, or a periodic one that
    /// heals what the bus may have dropped).
    async fn load(&self, topic: &str) {
        {
            let mut inner = self.inner();
            match inner.replicas.get_mut(topic) {
                Some(replica) => {
                    replica.loading.get_or_insert_with(Vec::new);
                }
                None => return,
            }
        }
        let loaded = self.roster.load(topic).await;
        let departed = {
            let mut inner = self.inner();
            let now = Instant::now();
            let Inner { replicas, nodes } = &mut *inner;
            let Some(replica) = replicas.get_mut(topic) else {
                return;
            };
            let topic: Arc<str> = Arc::from(topic);
            let departed = match loaded {
                Ok(entries) => {
                    for entry in &entries {
                        if entry.node != self.node {
                            nodes.entry(entry.node.clone()).or_insert(now);
                        }
                    }
                    let users = replica.reload(entries, &self.node);
                    users.into_iter().map(|u| (topic.clone(), u)).collect()
                }
                Err(error) => {
                    tracing::warn!(error = ?error, topic = &*topic, "loading presence failed; retrying at the next heartbeat");
                    replica.loading = None;
                    Vec::new()
                }
            };
            replica.ready.send_replace(true);
            departed
        };
        let at = self.clock.now();
        for (topic, user_id) in departed {
            self.depart(topic, user_id, at);
        }
    }

    fn depart(&self, topic: Arc<str>, user_id: UserId, at: DateTime<Utc>) {
        let _ = self.departures.send(Departure { topic, user_id, at });
    }

    /// Applies a change another node announced.
    fn receive(&self, message: Message) {
        let mut inner = self.inner();
        let Inner { replicas, nodes } = &mut *inner;
        let (node, topic, change) = match message {
            Message::Put { topic, entry } => (entry.node.clone(), topic, Change::Put(entry)),
            Message::Remove {
                topic,
                node,
                connection,
            } => (node.clone(), topic, Change::Remove((node, connection))),
            Message::Heartbeat { node } => {
                if node != self.node {
                    nodes.insert(node, Instant::now());
                }
                return;
            }
            Message::Down { node } => {
                drop(inner);
                return self.forget(&node, self.clock.now());
            }
        };
        if node == self.node {
            return;
        }
        nodes.insert(node, Instant::now());
        if let Some(replica) = replicas.get_mut(&topic) {
            replica.change(change);
        }
    }

    /// Removes every entry of `node`, which went silent or shut down.
    fn forget(&self, node: &str, at: DateTime<Utc>) {
        let mut departed = Vec::new();
        {
            let mut inner = self.inner();
            inner.nodes.remove(node);
            for (topic, replica) in &mut inner.replicas {
                let entries = replica.entries().of_node(node);
                let users: HashSet<UserId> = entries.iter().map(|e| e.user_id).collect();
                for entry in entries {
                    replica.change(Change::Remove(entry.key()));
                }
                departed.extend(
                    users
                        .into_iter()
                        .filter(|u| replica.entries().member(*u).is_none())
                        .map(|u| (topic.clone(), u)),
                );
            }
        }
        for (topic, user_id) in departed {
            self.depart(topic, user_id, at);
        }
    }

    /// Sends each changed channel's net change to its subscribers on this node.
    fn flush(&self) {
        let frames: Vec<Envelope> = {
            let mut inner = self.inner();
            inner
                .replicas
                .iter_mut()
                .filter(|(_, replica)| replica.has_changes())
                .filter_map(|(topic, replica)| {
                    let (joins, leaves) = replica.diff();
                    if joins.is_empty() && leaves.is_empty() {
                        return None;
                    }
                    Some(Envelope::new(
                        topic.clone(),
                        diff_frame(topic, &joins, &leaves),
                    ))
                })
                .collect()
        };
        for envelope in frames {
            self.hub.deliver(&envelope);
        }
    }

    /// Says this node is alive, forgets nodes that went silent, and reloads every
    /// replica from the roster.
    async fn heartbeat(&self) {
        if let Err(error) = self.roster.heartbeat(&self.node, self.config.ttl).await {
            tracing::warn!(error = ?error, "presence heartbeat failed");
        }
        self.announce(&Message::Heartbeat {
            node: self.node.clone(),
        })
        .await;
        let silent: Vec<(Arc<str>, Duration)> = {
            let inner = self.inner();
            inner
                .nodes
                .iter()
                .map(|(node, seen)| (node.clone(), seen.elapsed()))
                .filter(|(_, silence)| *silence > self.config.ttl)
                .collect()
        };
        for (node, silence) in silent {
            tracing::info!(%node, "a node went silent; its members leave");
            let at = self.clock.now() - chrono::Duration::from_std(silence).unwrap_or_default();
            self.forget(&node, at);
        }
        let topics: Vec<Arc<str>> = self.inner().replicas.keys().cloned().collect();
        for topic in topics {
            self.load(&topic).await;
        }
    }

    /// Runs the tracker until `stop`, then takes this node's members away everywhere.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut messages = self.bus.subscribe();
        let mut flush = tokio::time::interval(self.config.coalesce);
        let mut heartbeat = tokio::time::interval(self.config.heartbeat);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = flush.tick() => self.flush(),
                _ = heartbeat.tick() => self.heartbeat().await,
                received = messages.recv() => match received {
                    Ok(envelope) if &*envelope.topic == TOPIC => {
                        match serde_json::from_slice(&envelope.payload) {
                            Ok(message) => self.receive(message),
                            Err(error) => tracing::warn!(error = %error, "ignored a malformed presence message"),
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "presence fell behind the bus; the next heartbeat reloads it");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        if let Err(error) = self.roster.depart(&self.node).await {
            tracing::warn!(error = ?error, "clearing this node's presence failed");
        }
        self.announce(&Message::Down {
            node: self.node.clone(),
        })
        .await;
    }
}
