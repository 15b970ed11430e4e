//! Tandem's storage: one trait per aggregate, one `StoreError`, and an implementation of
//! each trait for SQLite and for PostgreSQL, picked by the database URL's scheme.
//!
//! Both implementations pass the same conformance suite (`tests/conformance/`); that
//! suite, not either implementation, is the contract.

mod audit;
mod chat;
mod error;
mod files;
mod jobs;
mod postgres;
mod presence;
pub mod rows;
mod sqlite;
mod tables;
mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;

use std::sync::Arc;

pub use chat::{ChatStore, HistoryPage, Posted, RoomListing};
pub use error::StoreError;
pub use files::{DocumentStore, FileStore, StoredDocument};
pub use jobs::{Artifact, Claimed, Enqueued, Finish, JobFilter, JobStore, QueueStats};
pub use postgres::{JOBS_CANCEL_CHANNEL, JOBS_WAKE_CHANNEL, PgStore};
pub use presence::{LastSeen, Place, PresenceStore};
pub use rows::{
    CountMode, NewRow, RowAction, RowChange, RowHistoryEntry, RowPage, RowPatch, RowQueryStore,
    RowStore, RowWriteError, StoredRow,
};
pub use sqlite::SqliteStore;
pub use tables::{
    FIELD_NAME_TAKEN, FieldChanges, LiveTable, TABLE_NAME_TAKEN, TableChanges, TableField,
    TableStore,
};
pub use tenancy::{
    Acceptance, AuditStore, InvitationStore, MemberStore, ProjectStore, ProjectWithRole,
    WorkspaceStore,
};
pub use traits::{SessionStore, Store, UserStore};

/// The backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(StoreError::Config(format!(
                "unsupported database URL scheme {other:?}: use sqlite: or postgres:"
            ))),
        }
    }
}

/// Connects to the database at `url` and brings its schema up to date.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match Backend::from_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
        Backend::Postgres => Arc::new(PgStore::connect(url).await?),
    };
    store.migrate().await?;
    Ok(store)
}
