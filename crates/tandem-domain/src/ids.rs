//! Typed identifiers. All ids are UUIDv7, so they sort by creation time.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::{ContextV7, Uuid};

/// Keeps ids in the order they were made, even when their stamps are not: lists paginate
/// by id, so "sorted by id" must mean "oldest first". Stamps may arrive out of order
/// (several injected clocks in one process, or a system clock stepped back), and
/// `ContextV7` alone does not survive that: handed an earlier second it keeps the later
/// second but takes the larger sub-second part, and the next stamp then sorts before
/// the id it just made. So the context only ever sees the latest stamp so far.
/// A std mutex: the critical section is a comparison and a counter bump, never held
/// across an await.
static ID_CLOCK: Mutex<IdClock> = Mutex::new(IdClock {
    context: ContextV7::new(),
    latest: (0, 0),
});

/// The v7 context and the latest (seconds, nanoseconds) it has been given.
struct IdClock {
    context: ContextV7,
    latest: (u64, u32),
}

/// A new UUIDv7 stamped with `at`, or with the latest stamp so far if that is later.
fn stamp(at: DateTime<Utc>) -> Uuid {
    let incoming = (at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
    // A poisoned lock only means another thread panicked mid-bump; the state is whole.
    let mut clock = ID_CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.latest = clock.latest.max(incoming);
    let (seconds, nanos) = clock.latest;
    Uuid::new_v7(uuid::Timestamp::from_unix(&clock.context, seconds, nanos))
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id stamped with `at` (taken from the injected clock).
            pub fn new(at: DateTime<Utc>) -> Self {
                Self(stamp(at))
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
id_type!(
    /// Identifies a live table in a workspace.
    TableId
);
id_type!(
    /// Identifies a field (a typed column) of a live table.
    FieldId
);
id_type!(
    /// Identifies a row of a live table.
    RowId
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
    fn ids_keep_their_order_when_stamps_step_back_across_a_second() {
        // Two clocks a second apart, as two tests' frozen clocks in one process: the
        // later clock just past a second, the earlier one late in its second.
        let late = DateTime::from_timestamp(1_000, 500_100_000).unwrap();
        let early = DateTime::from_timestamp(999, 900_000_000).unwrap();
        let ids = [
            JobId::new(late),
            JobId::new(early),
            JobId::new(late + Duration::microseconds(100)),
            JobId::new(late + Duration::milliseconds(1)),
        ];
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[test]
    fn ids_made_at_one_instant_keep_their_order() {
        let t = Utc::now();
        let ids: Vec<SessionId> = (0..1000).map(|_| SessionId::new(t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
