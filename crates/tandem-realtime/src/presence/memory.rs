//! The roster of the embedded mode, in this process: the same contract as Redis's
//! (an entry counts while its node's heartbeat is fresh), so it also models several
//! nodes in tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{EntryKey, PresenceEntry, Roster};
use crate::ConnectionId;

type Topics = HashMap<String, HashMap<EntryKey, PresenceEntry>>;

/// Every entry on every channel, and when each node's heartbeat runs out, in memory.
#[derive(Debug, Default)]
pub struct MemoryRoster {
    topics: Mutex<Topics>,
    nodes: Mutex<HashMap<String, Instant>>,
}

impl MemoryRoster {
    pub fn new() -> Self {
        Self::default()
    }

    fn topics(&self) -> std::sync::MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn alive(&self, node: &str) -> bool {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.get(node).is_some_and(|until| *until > Instant::now())
    }
}

#[async_trait]
impl Roster for MemoryRoster {
    async fn load(&self, topic: &str) -> anyhow::Result<Vec<PresenceEntry>> {
        let entries: Vec<PresenceEntry> = self
            .topics()
            .get(topic)
            .map(|entries| entries.values().cloned().collect())
            .unwrap_or_default();
        Ok(entries
            .into_iter()
            .filter(|e| self.alive(&e.node))
            .collect())
    }

    async fn put(&self, topic: &str, entry: &PresenceEntry) -> anyhow::Result<()> {
        self.topics()
            .entry(topic.to_owned())
            .or_default()
            .insert(entry.key(), entry.clone());
        Ok(())
    }

    async fn remove(
        &self,
        topic: &str,
        node: &str,
        connection: ConnectionId,
    ) -> anyhow::Result<()> {
        let mut topics = self.topics();
        if let Some(entries) = topics.get_mut(topic) {
            entries.remove(&(node.into(), connection));
            if entries.is_empty() {
                topics.remove(topic);
            }
        }
        Ok(())
    }

    async fn heartbeat(&self, node: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.insert(node.to_owned(), Instant::now() + ttl);
        Ok(())
    }

    async fn depart(&self, node: &str) -> anyhow::Result<()> {
        self.nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(node);
        let mut topics = self.topics();
        for entries in topics.values_mut() {
            entries.retain(|(owner, _), _| &**owner != node);
        }
        topics.retain(|_, entries| !entries.is_empty());
        Ok(())
    }
}
