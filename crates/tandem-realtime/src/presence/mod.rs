//! Presence: who is on a channel right now, across every node.
//!
//! Each connection present on a channel is one `PresenceEntry`, keyed by its node and
//! connection id; the entries of one user make one `Member` (two tabs are one member
//! with two connections). The `Roster` stores every entry of the deployment (in process
//! when embedded, Redis when scaled out, where each node's entries count only while the
//! node's heartbeat is fresh), and the node's `Presence` tracker keeps a replica of each
//! channel its clients watch, fed by entry changes on the bus.

mod memory;
mod redis;
mod replica;
mod tracker;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::UserId;

pub use memory::MemoryRoster;
pub use redis::RedisRoster;
pub use tracker::{Departure, Presence, PresenceConfig};

use crate::ConnectionId;

/// One connection present on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// The node that holds the connection.
    pub node: Arc<str>,
    pub connection: ConnectionId,
    pub user_id: UserId,
    /// The user's display name when the connection joined.
    pub name: String,
    /// When the connection joined the channel.
    pub since: DateTime<Utc>,
    /// What the client says about itself (an object, e.g. the open file), or null.
    pub meta: Value,
    /// When `meta` was last set: a member shows the meta of its latest connection.
    pub updated: DateTime<Utc>,
}

impl PresenceEntry {
    pub(crate) fn key(&self) -> EntryKey {
        (self.node.clone(), self.connection)
    }
}

/// An entry's identity: its node and connection.
pub(crate) type EntryKey = (Arc<str>, ConnectionId);

/// One user present on a channel, however many connections they have there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    /// How many connections (tabs, devices) the user has on the channel.
    pub connections: usize,
    /// When the user's earliest present connection joined.
    pub since: DateTime<Utc>,
    /// The meta of the user's most recently updated connection.
    pub meta: Value,
}

impl Member {
    /// The member made of one user's entries; `None` if there are none.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a PresenceEntry>) -> Option<Member> {
        let mut entries = entries.into_iter();
        let first = entries.next()?;
        let mut member = Member {
            user_id: first.user_id,
            name: first.name.clone(),
            connections: 1,
            since: first.since,
            meta: first.meta.clone(),
        };
        let mut latest = first.updated;
        for entry in entries {
            member.connections += 1;
            member.since = member.since.min(entry.since);
            // On a tie, the later entry (entries come in key order: the newer connection
            // of a node) wins.
            if entry.updated >= latest {
                latest = entry.updated;
                member.meta = entry.meta.clone();
                member.name = entry.name.clone();
            }
        }
        Some(member)
    }

    /// Groups entries into members, longest present first (then by user id).
    pub fn group(entries: &[PresenceEntry]) -> Vec<Member> {
        let mut by_user: std::collections::HashMap<UserId, Vec<&PresenceEntry>> =
            std::collections::HashMap::new();
        for entry in entries {
            by_user.entry(entry.user_id).or_default().push(entry);
        }
        let mut members: Vec<Member> = by_user.into_values().filter_map(Member::of).collect();
        sort(&mut members);
        members
    }
}

pub(crate) fn sort(members: &mut [Member]) {
    members.sort_by_key(|a| (a.since, a.user_id));
}

/// Where every node's presence entries are kept.
#[async_trait]
pub trait Roster: Send + Sync + std::fmt::Debug {
    /// Every entry on `topic` whose node is alive.
    async fn load(&self, topic: &str) -> anyhow::Result<Vec<PresenceEntry>>;
    /// Adds or replaces an entry.
    async fn put(&self, topic: &str, entry: &PresenceEntry) -> anyhow::Result<()>;
    /// Removes an entry (nothing if it is gone).
    async fn remove(&self, topic: &str, node: &str, connection: ConnectionId)
    -> anyhow::Result<()>;
    /// Marks `node` alive for `ttl`: past that, its entries no longer count.
    async fn heartbeat(&self, node: &str, ttl: std::time::Duration) -> anyhow::Result<()>;
    /// Marks `node` gone at once (a clean shutdown).
    async fn depart(&self, node: &str) -> anyhow::Result<()>;
}

/// `{"type":"presence_state","channel":…,"members":[…]}`: sent after a subscribe.
pub fn state_frame(channel: &str, members: &[Member]) -> Bytes {
    let frame = serde_json::json!({
        "type": "presence_state",
        "channel": channel,
        "members": members,
    });
    Bytes::from(frame.to_string())
}

/// `{"type":"presence_diff","channel":…,"joins":[…],"leaves":[…]}`: the net change since
/// the previous diff. A member in `joins` who is already known replaces the known entry.
pub fn diff_frame(channel: &str, joins: &[Member], leaves: &[Member]) -> Bytes {
    let frame = serde_json::json!({
        "type": "presence_diff",
        "channel": channel,
        "joins": joins,
        "leaves": leaves,
    });
    Bytes::from(frame.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;

    fn entry(user: UserId, connection: ConnectionId, minutes: i64, meta: Value) -> PresenceEntry {
        let at = DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minutes);
        PresenceEntry {
            node: "n".into(),
            connection,
            user_id: user,
            name: "Ada".into(),
            since: at,
            meta,
            updated: at,
        }
    }

    #[test]
    fn two_tabs_are_one_member_with_the_latest_meta() {
        let ada = UserId::new(Utc::now());
        let tabs = [
            entry(ada, 1, 5, json!({"file": "a.rs"})),
            entry(ada, 2, 9, json!({"file": "b.rs"})),
        ];
        let members = Member::group(&tabs);
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].connections, 2);
        assert_eq!(members[0].since, tabs[0].since);
        assert_eq!(members[0].meta, json!({"file": "b.rs"}));
    }

    #[test]
    fn members_are_listed_longest_present_first() {
        let (early, late) = (UserId::new(Utc::now()), UserId::new(Utc::now()));
        let members = Member::group(&[
            entry(late, 1, 10, Value::Null),
            entry(early, 2, 1, Value::Null),
        ]);
        let order: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        assert_eq!(order, [early, late]);
    }
}
