//! The roster in Redis, for scale-out: per channel one hash of entries (field
//! `{node}/{connection}`, value the entry as JSON), and per node a key that lives only as
//! long as its heartbeats keep renewing it. An entry counts while its node's key exists;
//! entries of nodes found dead are deleted by whoever reads them.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::{PresenceEntry, Roster};
use crate::ConnectionId;

/// How long a channel's hash outlives its last write; entries of live nodes are
/// rewritten far more often than this, so it only reclaims abandoned channels.
const CHANNEL_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Every node's presence entries, in Redis.
pub struct RedisRoster {
    redis: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisRoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRoster")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRoster {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    fn channel_key(&self, topic: &str) -> String {
        format!("{}:presence:{topic}", self.prefix)
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:presence-node:{node}", self.prefix)
    }
}

fn field(node: &str, connection: ConnectionId) -> String {
    format!("{node}/{connection}")
}

#[async_trait]
impl Roster for RedisRoster {
    async fn load(&self, topic: &str) -> anyhow::Result<Vec<PresenceEntry>> {
        let key = self.channel_key(topic);
        let mut redis = self.redis.clone();
        let stored: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut redis)
            .await?;
        let mut entries = Vec::with_capacity(stored.len());
        let mut unreadable = Vec::new();
        for (field, json) in stored {
            match serde_json::from_str::<PresenceEntry>(&json) {
                Ok(entry) => entries.push((field, entry)),
                Err(_) => unreadable.push(field),
            }
        }
        let nodes: Vec<String> = entries
            .iter()
            .map(|(_, e)| e.node.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut alive = HashSet::new();
        if !nodes.is_empty() {
            let mut check = redis::pipe();
            for node in &nodes {
                check.exists(self.node_key(node));
            }
            let exists: Vec<bool> = check.query_async(&mut redis).await?;
            alive.extend(
                nodes
                    .iter()
                    .zip(exists)
                    .filter(|(_, exists)| *exists)
                    .map(|(node, _)| node.as_str()),
            );
        }
        let (live, dead): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|(_, entry)| alive.contains(&*entry.node));
        let stale: Vec<String> = dead.into_iter().map(|(f, _)| f).chain(unreadable).collect();
        if !stale.is_empty() {
            let _: i64 = redis::cmd("HDEL")
                .arg(&key)
                .arg(&stale)
                .query_async(&mut redis)
                .await?;
        }
        Ok(live.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn put(&self, topic: &str, entry: &PresenceEntry) -> anyhow::Result<()> {
        let key = self.channel_key(topic);
        let json = serde_json::to_string(entry)?;
        let _: () = redis::pipe()
            .hset(&key, field(&entry.node, entry.connection), json)
            .ignore()
            .pexpire(&key, CHANNEL_TTL_MS as i64)
            .ignore()
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    async fn remove(
        &self,
        topic: &str,
        node: &str,
        connection: ConnectionId,
    ) -> anyhow::Result<()> {
        let _: i64 = redis::cmd("HDEL")
            .arg(self.channel_key(topic))
            .arg(field(node, connection))
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    async fn heartbeat(&self, node: &str, ttl: Duration) -> anyhow::Result<()> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = redis::cmd("SET")
            .arg(self.node_key(node))
            .arg(1)
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    async fn depart(&self, node: &str) -> anyhow::Result<()> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.node_key(node))
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}
