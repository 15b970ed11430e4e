//! The storage contract for presence: when each user was last present in a workspace.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{UserId, WorkspaceId};

use crate::StoreError;

/// When a user was last present in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSeen {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub seen_at: DateTime<Utc>,
}

/// Last-seen times, one per user and workspace, as the realtime gateway reports them: when
/// a user's last connection leaves a workspace's channel, or when the node holding it is
/// found dead. Times are kept to the microsecond.
///
/// A row goes with its workspace (and so with its project) and with its user.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// Records that `user_id` was present in `workspace_id` at `seen_at`, in one statement.
    ///
    /// The stored time only ever moves forward: a `seen_at` older than the one stored
    /// changes nothing. So several nodes may report the same departure, in any order and
    /// at the same time, and the newest time is the one kept.
    ///
    /// A workspace or user that does not exist, or is deleted meanwhile, is silently
    /// ignored: nothing is recorded and the result is `Ok(())`, so a report that arrives
    /// after a deletion needs no special case.
    async fn record_last_seen(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Every user recorded for `workspace_id`, most recent first, ties by user id; empty
    /// if there are none or the workspace does not exist.
    async fn last_seen(&self, workspace_id: WorkspaceId) -> Result<Vec<LastSeen>, StoreError>;
}
