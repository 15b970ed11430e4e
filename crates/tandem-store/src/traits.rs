//! The storage contract: one trait per aggregate, and `Store`, which bundles them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{
    DisplayName, NewSession, Rotation, Session, SessionId, TokenHash, User, UserId,
};

use crate::{
    AuditStore, ChatStore, DocumentStore, FileStore, InvitationStore, JobStore, MemberStore,
    PresenceStore, ProjectStore, RowQueryStore, RowStore, StoreError, TableStore, WorkspaceStore,
};

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new account; `Conflict("users.email")` if the email is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Looks an account up by its normalised email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// Renames an account; `NotFound` if there is none.
    async fn update_user_name(
        &self,
        id: UserId,
        name: &DisplayName,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
    /// Replaces the password hash; `NotFound` if there is no such account.
    async fn update_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// Login sessions and their refresh-token chains.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens a session together with its first refresh token, in one transaction;
    /// `NotFound` if the user does not exist.
    async fn create_session(&self, session: &NewSession) -> Result<Session, StoreError>;
    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// The user's active sessions, oldest first, starting after `after`.
    async fn list_active_sessions(
        &self,
        user_id: UserId,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;
    /// Presents refresh token `presented`; if it is current, marks it used and stores
    /// `next` (expiring at `next_expires_at`) in the same session, atomically.
    ///
    /// A token that was used before revokes its whole session (`Rotation::Reused`). Of
    /// two concurrent presentations of one token, exactly one rotates.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        next_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError>;
    /// Revokes one session; false if it did not exist or was already revoked.
    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Revokes every active session of `user_id` except `keep`; returns how many.
    async fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// Everything the server stores, behind one handle.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + ProjectStore
    + MemberStore
    + InvitationStore
    + WorkspaceStore
    + AuditStore
    + PresenceStore
    + FileStore
    + DocumentStore
    + JobStore
    + ChatStore
    + TableStore
    + RowStore
    + RowQueryStore
    + std::fmt::Debug
{
    /// Applies the embedded migrations that have not run yet.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Waits for connections to finish and closes the pool.
    async fn close(&self);
    /// `sqlite` or `postgres`, for logs and `/readyz`.
    fn backend_name(&self) -> &'static str;
}
