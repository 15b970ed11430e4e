//! The SQLite implementation of every store trait: the connection pool, the schema
//! migrations, and how ids and times are written as text.
//!
//! SQLite has no time or UUID type, and sqlx's chrono encoding for it varies the number
//! of fractional digits, so this module writes both itself: ids as hyphenated lower-case
//! UUIDs and times as UTC text in one fixed-width format. In both, comparing the text
//! compares the values, which is what `ORDER BY id`, `id > ?` and time comparisons in
//! SQL rely on.

mod audit_log;
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
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDateTime, SubsecRound, Timelike, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tandem_domain::Role;
use uuid::Uuid;

use crate::{Store, StoreError};

/// The one text format of a stored time: fixed width, so text order is time order.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// How every transaction that writes begins: it takes the write lock up front (waiting
/// up to the busy timeout for it) instead of reading under a shared lock and then failing
/// with `SQLITE_BUSY` when it tries to upgrade. Read-then-write checks are race-free
/// under it.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How long a connection waits for another one's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything Tandem stores, in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the database a `sqlite:` URL names.
    ///
    /// Does not migrate; call [`Store::migrate`] or use [`crate::connect`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);

        let in_memory = is_in_memory(url);
        let pool = if in_memory {
            // An in-memory database lives only while a connection to it is open, and a
            // shared-cache one fails writers with SQLITE_LOCKED instead of waiting, so it
            // gets exactly one connection that is never retired.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            if let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!(
                        "cannot create database folder {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            // WAL lets readers proceed while one writer commits.
            SqlitePoolOptions::new()
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await?
        };
        Ok(Self { pool })
    }
}

/// Whether a `sqlite:` URL names an in-memory database rather than a file.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
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
        "sqlite"
    }
}

/// Writes a time in the stored format, truncated to microseconds as PostgreSQL keeps it.
///
/// Written field by field rather than through `format(TIME_FORMAT)`, which parses the
/// pattern on every call: a bulk insert encodes several instants per row. Years
/// outside 0..=9999 and leap seconds take the general path.
fn encode_time(at: DateTime<Utc>) -> String {
    let at = at.trunc_subsecs(6);
    let (date, time) = (at.date_naive(), at.time());
    if (0..=9999).contains(&date.year()) && time.nanosecond() < 1_000_000_000 {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            date.year(),
            date.month(),
            date.day(),
            time.hour(),
            time.minute(),
            time.second(),
            time.nanosecond() / 1_000
        );
    }
    at.format(TIME_FORMAT).to_string()
}

/// Reads a time written by [`encode_time`]; `column` names it in the error.
fn decode_time(column: &str, text: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(|e| decode_error(column, e))
}

/// Reads an optional time written by [`encode_time`].
fn decode_opt_time(column: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    text.map(|text| decode_time(column, text)).transpose()
}

/// Writes an id as hyphenated lower-case text.
fn encode_id(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// Reads an id written by [`encode_id`].
fn decode_id(column: &str, text: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(text).map_err(|e| decode_error(column, e))
}

/// Reads a role column; `column` names it in the error.
fn decode_role(column: &str, text: &str) -> Result<Role, sqlx::Error> {
    text.parse()
        .map_err(|()| decode_error(column, UnknownRole(text.to_owned())))
}

/// A role column held a value no `Role` parses from.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}")]
struct UnknownRole(String);

fn decode_error(
    column: &str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(source),
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

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn stored_times_have_a_fixed_width_and_round_trip() {
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let text = encode_time(whole);
        assert_eq!(text, "2026-01-02T03:04:05.000000Z");
        assert_eq!(decode_time("t", &text).unwrap(), whole);

        let fine = whole + Duration::microseconds(7);
        assert_eq!(encode_time(fine), "2026-01-02T03:04:05.000007Z");
        assert_eq!(decode_time("t", &encode_time(fine)).unwrap(), fine);
    }

    #[test]
    fn stored_times_sort_as_text_in_time_order() {
        let start = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let times: Vec<_> = [0, 1, 999_999, 1_000_000, 86_400_000_000]
            .into_iter()
            .map(|us| start + Duration::microseconds(us))
            .collect();
        let texts: Vec<_> = times.iter().copied().map(encode_time).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn stored_times_are_written_as_the_format_says() {
        let instants = [
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap()
                + Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(9999, 6, 7, 8, 9, 10).unwrap() + Duration::microseconds(42),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ];
        for at in instants {
            let general = at.trunc_subsecs(6).format(TIME_FORMAT).to_string();
            assert_eq!(encode_time(at), general);
        }
    }

    #[test]
    fn stored_times_drop_sub_microsecond_digits() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + Duration::nanoseconds(1_999);
        assert_eq!(encode_time(at), "2026-01-02T03:04:05.000001Z");
    }

    #[test]
    fn malformed_stored_times_are_decode_errors() {
        assert!(decode_time("t", "2026-01-02 03:04:05").is_err());
    }
}
