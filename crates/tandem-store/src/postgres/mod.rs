//! The PostgreSQL implementation of every store trait: the connection pool and the
//! schema migrations. Ids are `UUID` and times `TIMESTAMPTZ`, decoded by sqlx directly.

/// The columns of a message, without its search vector.
macro_rules! message_columns {
    () => {
        "id, room_id, seq, author_id, body, reply_to, client_id, created_at, edited_at, deleted_at"
    };
}

mod chat;
mod chat_messages;
mod chat_social;
mod documents;
mod files;
mod invitations;
mod job_writes;
mod jobs;
mod members;
mod presence;
mod projects;
mod row_codec;
mod row_convert;
mod row_ddl;
mod row_history;
mod row_query;
mod row_trash;
mod row_writes;
mod rows;
mod sessions;
mod table_fields;
mod table_store;
mod tables;
mod users;
mod workspaces;

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::{Store, StoreError};

pub use jobs::{CANCEL_CHANNEL as JOBS_CANCEL_CHANNEL, WAKE_CHANNEL as JOBS_WAKE_CHANNEL};

/// Everything Tandem stores, in one PostgreSQL database (or schema: the connection's
/// `search_path` decides where the tables live).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres:` URL names.
    ///
    /// Does not migrate; call [`Store::migrate`] or use [`crate::connect`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new().connect_with(options).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}

/// Turns a unique-constraint violation into `Conflict(what)`; any other error stays `Other`.
fn on_unique_violation(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Other(err),
    }
}

/// Turns a foreign-key violation (a row named by id does not exist) into `NotFound`;
/// any other error stays `Other`.
fn on_foreign_key_violation(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Other(err),
    }
}

/// Truncates a time to the microseconds PostgreSQL keeps, as the SQLite store does.
///
/// sqlx would otherwise round toward the year 2000 (PostgreSQL's epoch), which differs
/// from truncation for earlier times.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}
