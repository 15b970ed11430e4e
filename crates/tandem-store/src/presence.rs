//! The storage contract for presence: when each user was last present in a workspace or
//! a chat room.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{RoomId, UserId, WorkspaceId};

use crate::StoreError;

/// Where someone is present: a workspace or a chat room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    Workspace(WorkspaceId),
    Room(RoomId),
}

impl From<WorkspaceId> for Place {
    fn from(id: WorkspaceId) -> Self {
        Place::Workspace(id)
    }
}

impl From<RoomId> for Place {
    fn from(id: RoomId) -> Self {
        Place::Room(id)
    }
}

/// When a user was last present somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSeen {
    pub user_id: UserId,
    pub place: Place,
    pub seen_at: DateTime<Utc>,
}

/// Last-seen times, one per user and place, as the realtime gateway reports them: when
/// a user's last connection leaves a workspace's or room's channel, or when the node
/// holding it is found dead. Times are kept to the microsecond.
///
/// A row goes with its place (a workspace with its project, a room) and with its user.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// Records that `user_id` was present at `place` at `seen_at`, in one statement.
    ///
    /// The stored time only ever moves forward: a `seen_at` older than the one stored
    /// changes nothing. So several nodes may report the same departure, in any order and
    /// at the same time, and the newest time is the one kept.
    ///
    /// A place or user that does not exist, or is deleted meanwhile, is silently
    /// ignored: nothing is recorded and the result is `Ok(())`, so a report that arrives
    /// after a deletion needs no special case.
    async fn record_last_seen(
        &self,
        place: Place,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Every user recorded at `place`, most recent first, ties by user id; empty if there
    /// are none or the place does not exist.
    async fn last_seen(&self, place: Place) -> Result<Vec<LastSeen>, StoreError>;
}
