//! The one error type every store method returns.

/// What can go wrong in storage, in the terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the caller named does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names which (e.g. `users.email`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database URL or options are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Anything else: the database is down, a query failed, a row did not decode.
    #[error(transparent)]
    Other(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
