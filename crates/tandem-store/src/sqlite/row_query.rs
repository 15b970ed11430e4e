//! SQLite's [`RowQueryStore`]: the shared generator's statements (see
//! [`crate::rows::sql`]), bound in the text encodings the row tables use, each run under
//! a progress handler that interrupts it at its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection};
use tandem_domain::TableId;
use tandem_tables::bind::{BoundFilter, BoundQuery};

use super::SqliteStore;
use super::row_codec::{add_cell, decode_row, ensure_table};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::sql::{self, Statement};
use crate::rows::{CountMode, RowPage, RowQueryStore, page};
use crate::{StoreError, TableField};

/// How many virtual-machine steps SQLite runs between two looks at the clock: often
/// enough to stop within a millisecond or so, rarely enough to cost nothing measurable.
const STEPS_PER_CHECK: i32 = 1_000;

#[async_trait]
impl RowQueryStore for SqliteStore {
    async fn query_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        query: &BoundQuery,
        timeout: Duration,
    ) -> Result<RowPage, StoreError> {
        page::check_fields(fields, Some(query), query.filter.as_ref())?;
        let read = page::read_fields(fields, query);
        let read = StoredFields::of(&read);
        let statement = sql::page(Dialect::Sqlite, table, &read, query);
        let mut conn = self.pool.acquire().await?;
        ensure_table(&mut conn, table).await?;
        let deadline = Deadline::arm(&mut conn, timeout).await?;
        let found = bound(&statement)?.fetch_all(&mut *conn).await;
        let found = deadline.disarm(&mut conn, found).await?;
        let rows = found
            .iter()
            .map(|row| decode_row(row, &read))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(query, rows))
    }

    /// Always exact: SQLite keeps no row count a query could read cheaply.
    async fn count_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        filter: Option<&BoundFilter>,
        _mode: CountMode,
        timeout: Duration,
    ) -> Result<u64, StoreError> {
        page::check_fields(fields, None, filter)?;
        let statement = sql::count(Dialect::Sqlite, table, filter);
        let mut conn = self.pool.acquire().await?;
        ensure_table(&mut conn, table).await?;
        let deadline = Deadline::arm(&mut conn, timeout).await?;
        let counted = bound(&statement)?.fetch_one(&mut *conn).await;
        let counted = deadline.disarm(&mut conn, counted).await?;
        let n: i64 = counted.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

/// A statement with its values bound as the row tables hold them.
fn bound(statement: &Statement) -> Result<Query<'static, Sqlite, SqliteArguments>, StoreError> {
    let mut arguments = SqliteArguments::default();
    for value in &statement.params {
        add_cell(&mut arguments, value.clone())?;
    }
    Ok(sqlx::query_with(
        AssertSqlSafe(statement.sql.clone()),
        arguments,
    ))
}

/// A time limit on one connection's statements: a progress handler that interrupts
/// whatever runs once the deadline has passed.
struct Deadline {
    /// Cleared when the call ends however it ends, so that a handler left behind by a
    /// cancelled call never interrupts the connection's next user.
    armed: Arc<AtomicBool>,
    /// Set when the handler interrupted a statement.
    fired: Arc<AtomicBool>,
}

impl Deadline {
    async fn arm(conn: &mut SqliteConnection, timeout: Duration) -> Result<Self, StoreError> {
        // A limit too far off to represent is no limit.
        let at = Instant::now().checked_add(timeout);
        let armed = Arc::new(AtomicBool::new(true));
        let fired = Arc::new(AtomicBool::new(false));
        let handler = {
            let (armed, fired) = (armed.clone(), fired.clone());
            move || {
                let late = at.is_some_and(|at| Instant::now() >= at);
                if late && armed.load(Ordering::Relaxed) {
                    fired.store(true, Ordering::Relaxed);
                    return false;
                }
                true
            }
        };
        conn.lock_handle()
            .await?
            .set_progress_handler(STEPS_PER_CHECK, handler);
        Ok(Deadline { armed, fired })
    }

    /// Removes the handler and says what the statement's outcome means: a failure after
    /// the handler interrupted is [`StoreError::QueryTimeout`].
    async fn disarm<T>(
        self,
        conn: &mut SqliteConnection,
        outcome: Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        conn.lock_handle().await?.remove_progress_handler();
        match outcome {
            Ok(value) => Ok(value),
            Err(_) if self.fired.load(Ordering::Relaxed) => Err(StoreError::QueryTimeout),
            Err(e) => Err(StoreError::Other(e)),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}
