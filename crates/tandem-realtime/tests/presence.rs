//! Presence across nodes, on the deployment the environment picks: Redis bus and roster
//! when `TANDEM_TEST_REDIS_URL` is set (CI's scale-out run), in memory otherwise. Each
//! "node" is a hub and a presence tracker of its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tandem_domain::{SystemClock, UserId};
use tandem_realtime::{
    Bus, Departure, Hub, MemoryBus, MemoryRoster, OutboxReceiver, Presence, PresenceConfig,
    RedisBus, RedisRoster, Roster, outbox,
};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";
const TOPIC: &str = "workspace:presence-test";

fn config() -> PresenceConfig {
    PresenceConfig {
        heartbeat: Duration::from_millis(100),
        ttl: Duration::from_millis(400),
        coalesce: Duration::from_millis(50),
    }
}

/// One deployment's shared bus and roster, as each node would connect to them.
struct Deployment {
    redis: Option<(String, String)>,
    bus: Arc<MemoryBus>,
    roster: Arc<MemoryRoster>,
}

impl Deployment {
    fn new() -> Self {
        let redis = std::env::var(REDIS_URL_ENV)
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| (url, format!("tandem-test-{}", Uuid::now_v7().simple())));
        Self {
            redis,
            bus: Arc::new(MemoryBus::new()),
            roster: Arc::new(MemoryRoster::new()),
        }
    }

    async fn connections(&self) -> (Arc<dyn Bus>, Arc<dyn Roster>) {
        match &self.redis {
            Some((url, prefix)) => {
                let client = redis::Client::open(url.as_str()).unwrap();
                let redis = client.get_connection_manager().await.unwrap_or_else(|e| {
                    panic!("{REDIS_URL_ENV} is set but Redis is unreachable: {e}")
                });
                let bus = RedisBus::connect(url, prefix).await.unwrap();
                (Arc::new(bus), Arc::new(RedisRoster::new(redis, prefix)))
            }
            None => (self.bus.clone(), self.roster.clone()),
        }
    }

    async fn node(&self) -> Node {
        let (bus, roster) = self.connections().await;
        let hub = Arc::new(Hub::new(Uuid::now_v7().to_string()));
        let stop = CancellationToken::new();
        tokio::spawn(hub.clone().run(bus.clone(), stop.clone()));
        let (presence, departures) =
            Presence::new(hub.clone(), roster, bus, Arc::new(SystemClock), config());
        let presence = Arc::new(presence);
        let task = tokio::spawn(presence.clone().run(stop.clone()));
        // Let the first heartbeat mark the node alive.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Node {
            hub,
            presence,
            departures,
            stop,
            task,
        }
    }
}

struct Node {
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    departures: UnboundedReceiver<Departure>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    /// A connection of `user` present on the topic, and what it receives.
    async fn join(&self, user: UserId, meta: Value) -> (u64, OutboxReceiver, Vec<Value>) {
        let connection = self.hub.connect();
        let (out, receiver, _) = outbox(1 << 20);
        self.hub.subscribe(TOPIC, connection, out, false);
        let entry = self.presence.entry(connection, user, "Ada", meta);
        let members = self.presence.join(TOPIC, entry).await;
        let members = members
            .iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect();
        (connection, receiver, members)
    }
}

/// The `presence_diff` frames a connection receives within `wait`.
async fn diffs(receiver: &mut OutboxReceiver, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, receiver.recv()).await {
        let frame: Value = serde_json::from_slice(&frame).unwrap();
        if frame["type"] == "presence_diff" {
            frames.push(frame);
        }
    }
    frames
}

/// Whether any diff lists `user` under `field` (`joins` or `leaves`).
fn lists(frames: &[Value], field: &str, user: UserId) -> bool {
    frames
        .iter()
        .any(|f| ids(&f[field]).contains(&user.to_string()))
}

fn ids(members: &Value) -> Vec<String> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect()
}

fn user() -> UserId {
    UserId::new(Utc::now())
}

#[tokio::test]
async fn a_join_storm_reaches_watchers_in_a_few_coalesced_diffs() {
    let deployment = Deployment::new();
    let node = deployment.node().await;
    let (_, mut watcher, _) = node.join(user(), Value::Null).await;
    let storm: Vec<UserId> = (0..40).map(|_| user()).collect();
    for user in &storm {
        node.join(*user, Value::Null).await;
    }
    let frames = diffs(&mut watcher, Duration::from_millis(500)).await;
    let joined: Vec<String> = frames.iter().flat_map(|f| ids(&f["joins"])).collect();
    for user in &storm {
        assert!(joined.contains(&user.to_string()), "{user} never joined");
    }
    assert!(
        frames.len() <= 10,
        "40 joins took {} diffs; they should be coalesced",
        frames.len()
    );
}

#[tokio::test]
async fn two_tabs_are_one_member_until_both_leave() {
    let deployment = Deployment::new();
    let mut node = deployment.node().await;
    let ada = user();
    let (first, mut watcher, _) = node.join(ada, json!({"file": "a.rs"})).await;
    let (second, _, members) = node.join(ada, json!({"file": "b.rs"})).await;
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0]["connections"], 2);
    assert_eq!(members[0]["meta"], json!({"file": "b.rs"}));

    node.presence.leave(TOPIC, first).await;
    let left = node.presence.members(TOPIC).await.unwrap();
    assert_eq!((left.len(), left[0].connections), (1, 1));
    assert!(node.departures.try_recv().is_err(), "one tab is still open");

    node.presence.leave(TOPIC, second).await;
    let departure = node.departures.recv().await.unwrap();
    assert_eq!((&*departure.topic, departure.user_id), (TOPIC, ada));
    let frames = diffs(&mut watcher, Duration::from_millis(200)).await;
    assert!(
        frames.iter().all(|f| ids(&f["leaves"]).is_empty()),
        "the watcher was the first tab and left with it: {frames:?}"
    );
}

#[tokio::test]
async fn members_on_another_node_join_and_leave_here() {
    let deployment = Deployment::new();
    let (a, b) = (deployment.node().await, deployment.node().await);
    let (_, mut watcher, _) = a.join(user(), Value::Null).await;
    let grace = user();
    let (connection, _, members) = b.join(grace, json!({"file": "x"})).await;
    assert!(
        members.iter().any(|m| m["user_id"] == grace.to_string()),
        "the joiner sees itself"
    );
    let frames = diffs(&mut watcher, Duration::from_millis(300)).await;
    assert!(lists(&frames, "joins", grace), "{frames:?}");
    let on_a = a.presence.members(TOPIC).await.unwrap();
    assert_eq!(on_a.len(), 2, "{on_a:?}");

    b.presence.leave(TOPIC, connection).await;
    let frames = diffs(&mut watcher, Duration::from_millis(300)).await;
    assert!(lists(&frames, "leaves", grace), "{frames:?}");
}

#[tokio::test]
async fn a_node_that_goes_silent_loses_its_members_after_the_ttl() {
    let deployment = Deployment::new();
    let (mut a, b) = (deployment.node().await, deployment.node().await);
    let (_, mut watcher, _) = a.join(user(), Value::Null).await;
    let grace = user();
    b.join(grace, Value::Null).await;
    let frames = diffs(&mut watcher, Duration::from_millis(200)).await;
    assert!(lists(&frames, "joins", grace), "{frames:?}");
    assert_eq!(a.presence.members(TOPIC).await.unwrap().len(), 2);
    // A crash: no clean shutdown, no more heartbeats.
    b.task.abort();
    let frames = diffs(&mut watcher, config().ttl * 4).await;
    assert!(lists(&frames, "leaves", grace), "{frames:?}");
    assert_eq!(a.presence.members(TOPIC).await.unwrap().len(), 1);
    let departure = a.departures.recv().await.unwrap();
    assert_eq!(departure.user_id, grace);
}

#[tokio::test]
async fn a_node_shutting_down_takes_its_members_away_at_once() {
    let deployment = Deployment::new();
    let (a, b) = (deployment.node().await, deployment.node().await);
    let (_, mut watcher, _) = a.join(user(), Value::Null).await;
    let grace = user();
    b.join(grace, Value::Null).await;
    diffs(&mut watcher, Duration::from_millis(150)).await;
    b.stop.cancel();
    let frames = diffs(&mut watcher, config().ttl / 2).await;
    assert!(lists(&frames, "leaves", grace), "{frames:?}");
}

#[tokio::test]
async fn a_replica_heals_from_the_roster_when_a_change_was_missed() {
    let deployment = Deployment::new();
    let a = deployment.node().await;
    let (_, mut watcher, _) = a.join(user(), Value::Null).await;
    // Another node's entry reaches the roster, but its bus message is lost.
    let (_, roster) = deployment.connections().await;
    let ghost = Hub::new("node-whose-message-was-lost");
    roster
        .heartbeat(ghost.node(), Duration::from_secs(5))
        .await
        .unwrap();
    let grace = user();
    let (presence, _) = Presence::new(
        Arc::new(ghost),
        roster.clone(),
        Arc::new(MemoryBus::new()),
        Arc::new(SystemClock),
        config(),
    );
    roster
        .put(TOPIC, &presence.entry(7, grace, "Grace", Value::Null))
        .await
        .unwrap();
    let frames = diffs(&mut watcher, config().heartbeat * 4).await;
    assert!(lists(&frames, "joins", grace), "{frames:?}");
}
