//! SQLite's [`RowQueryStore`]: the shared generator's statements (see
//! [`crate::rows::sql`]), bound in the text encodings the row tables use, each run under
//! a progress handler that interrupts it at its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection};
use tandem_domain::{FieldId, RowId, TableId, UserId};
use tandem_tables::bind::{BoundFilter, BoundQuery, FieldDef};
use tandem_tables::field::{SqlKind, Stored};

use super::{SqliteStore, decode_id, decode_opt_time, decode_time, encode_id, encode_time};
use crate::rows::sql::{self, Dialect, ROW_COLUMNS, Statement};
use crate::rows::{CountMode, RowPage, RowQueryStore, StoredRow, page};
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
        let statement = sql::page(Dialect::Sqlite, table, query);
        let mut conn = self.pool.acquire().await?;
        let deadline = Deadline::arm(&mut conn, timeout).await?;
        let read = bound(&statement.statement).fetch_all(&mut *conn).await;
        let read = deadline.disarm(&mut conn, read).await?;
        let rows = read
            .iter()
            .map(|row| decode_row(row, &statement.fields))
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
        let deadline = Deadline::arm(&mut conn, timeout).await?;
        let counted = bound(&statement).fetch_one(&mut *conn).await;
        let counted = deadline.disarm(&mut conn, counted).await?;
        let n: i64 = counted.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

/// A statement with its values bound as the row tables store them: booleans as 0/1,
/// dates as `YYYY-MM-DD`, instants and ids in the module's text formats.
fn bound(statement: &Statement) -> Query<'static, Sqlite, SqliteArguments> {
    let query = sqlx::query(AssertSqlSafe(statement.sql.clone()));
    statement
        .params
        .iter()
        .fold(query, |query, value| match value {
            Stored::Null => query.bind(None::<String>),
            Stored::Text(s) | Stored::Json(s) => query.bind(s.clone()),
            Stored::Integer(n) => query.bind(*n),
            Stored::Real(x) => query.bind(*x),
            Stored::Bool(b) => query.bind(i64::from(*b)),
            Stored::Date(d) => query.bind(d.format("%Y-%m-%d").to_string()),
            Stored::Timestamp(t) => query.bind(encode_time(*t)),
            Stored::Uuid(u) => query.bind(encode_id(*u)),
        })
}

/// A row of a page statement: [`ROW_COLUMNS`], then the columns of `fields`.
fn decode_row(row: &SqliteRow, fields: &[FieldDef]) -> Result<StoredRow, sqlx::Error> {
    let text = |i: usize| row.try_get::<String, _>(i);
    let mut cells = std::collections::BTreeMap::new();
    for (i, field) in fields.iter().enumerate() {
        let stored = stored_value(row, ROW_COLUMNS.len() + i, field.sql_kind())?;
        cells.insert(FieldId(field.id), page::cell(field, stored)?);
    }
    Ok(StoredRow {
        id: RowId(decode_id("id", &text(0)?)?),
        version: row.try_get(1)?,
        autonumber: row.try_get(2)?,
        created_at: decode_time("created_at", &text(3)?)?,
        updated_at: decode_time("updated_at", &text(4)?)?,
        created_by: UserId(decode_id("created_by", &text(5)?)?),
        updated_by: UserId(decode_id("updated_by", &text(6)?)?),
        deleted_at: decode_opt_time(
            "deleted_at",
            row.try_get::<Option<String>, _>(7)?.as_deref(),
        )?,
        cells,
    })
}

/// One field column as the scalar `CellValue::from_stored` reads: dates, instants and
/// ids stay text, which it parses.
fn stored_value(row: &SqliteRow, index: usize, kind: SqlKind) -> Result<Stored, sqlx::Error> {
    Ok(match kind {
        SqlKind::Integer => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Stored::Null, Stored::Integer),
        SqlKind::Real => row
            .try_get::<Option<f64>, _>(index)?
            .map_or(Stored::Null, Stored::Real),
        SqlKind::Boolean => row
            .try_get::<Option<bool>, _>(index)?
            .map_or(Stored::Null, Stored::Bool),
        SqlKind::Json => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Stored::Null, Stored::Json),
        SqlKind::Text | SqlKind::Date | SqlKind::Timestamp | SqlKind::Uuid => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Stored::Null, Stored::Text),
    })
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
