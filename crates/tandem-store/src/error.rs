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
    /// A query ran past its time limit and was cancelled; the connection stays usable.
    #[error("the query ran past its time limit")]
    QueryTimeout,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How a write that names a unique key and a parent row fails, on both backends: a
/// taken key is `Conflict(taken)`, a missing parent (a foreign-key violation) is
/// `NotFound`, anything else stays `Other`.
pub(crate) fn on_write_error(taken: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(taken),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Other(err),
    }
}
