//! Typed identifiers. All ids are UUIDv7, so they sort by creation time.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::{ContextV7, Uuid};

/// Keeps ids made in the same millisecond (or at one frozen test instant) in the order
/// they were made: lists paginate by id, so "sorted by id" must mean "oldest first".
/// A std mutex: the critical section is a counter bump, never held across an await.
static ID_CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id stamped with `at` (taken from the injected clock).
            pub fn new(at: DateTime<Utc>) -> Self {
                let ts = uuid::Timestamp::from_unix(
                    &ID_CONTEXT,
                    at.timestamp() as u64,
                    at.timestamp_subsec_nanos(),
                );
                Self(Uuid::new_v7(ts))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies an account.
    UserId
);
id_type!(
    /// Identifies a login session: every refresh and access token descends from one.
    SessionId
);
id_type!(
    /// Identifies a project: the unit of membership and permission.
    ProjectId
);
id_type!(
    /// Identifies a workspace inside a project.
    WorkspaceId
);
id_type!(
    /// Identifies an invitation to a project.
    InvitationId
);
id_type!(
    /// Identifies an audit-log entry.
    AuditId
);
id_type!(
    /// Identifies a file in a workspace (and its collaborative document).
    FileId
);
id_type!(
    /// Identifies a saved version of a file.
    VersionId
);
id_type!(
    /// Identifies a background job.
    JobId
);
id_type!(
    /// Identifies a chat room.
    RoomId
);
id_type!(
    /// Identifies a chat message.
    MessageId
);
id_type!(
    /// Identifies an invite token of a private room.
    RoomInviteId
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ids_sort_by_creation_time() {
        let t = Utc::now();
        let a = UserId::new(t);
        let b = UserId::new(t + Duration::milliseconds(1));
        assert!(a < b);
        assert_eq!(a.0.get_version_num(), 7);
    }

    #[test]
    fn ids_made_at_one_instant_keep_their_order() {
        let t = Utc::now();
        let ids: Vec<SessionId> = (0..1000).map(|_| SessionId::new(t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
