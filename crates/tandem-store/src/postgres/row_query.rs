//! PostgreSQL's [`RowQueryStore`]: the shared generator's statements (see
//! [`crate::rows::sql`]), each in a read transaction of its own under
//! `SET LOCAL statement_timeout`, so that the server cancels it at its deadline and the
//! setting ends with the transaction.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row};
use tandem_domain::{FieldId, RowId, TableId, UserId};
use tandem_tables::bind::{BoundFilter, BoundQuery, FieldDef};
use tandem_tables::field::{SqlKind, Stored};

use super::PgStore;
use crate::rows::sql::{self, Dialect, ROW_COLUMNS, Statement};
use crate::rows::{CountMode, RowPage, RowQueryStore, StoredRow, layout, page};
use crate::{StoreError, TableField};

/// The SQLSTATE of a statement cancelled, here by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

#[async_trait]
impl RowQueryStore for PgStore {
    async fn query_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        query: &BoundQuery,
        timeout: Duration,
    ) -> Result<RowPage, StoreError> {
        page::check_fields(fields, Some(query), query.filter.as_ref())?;
        let statement = sql::page(Dialect::Postgres, table, query);
        let mut tx = self.pool.begin().await?;
        limit_time(&mut tx, timeout).await?;
        let read = bound(&statement.statement)?
            .fetch_all(&mut *tx)
            .await
            .map_err(on_cancel)?;
        tx.commit().await?;
        let rows = read
            .iter()
            .map(|row| decode_row(row, &statement.fields))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page::finish(query, rows))
    }

    /// `Estimated` without a filter reads the planner's row count of the row table
    /// (`pg_class.reltuples`, kept by `ANALYZE` and autovacuum), which counts trashed rows
    /// too and may lag; it counts exactly when the table has no statistics yet.
    async fn count_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        filter: Option<&BoundFilter>,
        mode: CountMode,
        timeout: Duration,
    ) -> Result<u64, StoreError> {
        page::check_fields(fields, None, filter)?;
        if mode == CountMode::Estimated && filter.is_none() {
            let estimate: Option<f32> =
                sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)")
                    .bind(layout::row_table(table))
                    .fetch_optional(&self.pool)
                    .await?;
            // -1 is "never analysed".
            if let Some(estimate) = estimate.filter(|e| *e >= 0.0) {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a non-negative row estimate, far below u64::MAX"
                )]
                return Ok(estimate.round() as u64);
            }
        }
        let statement = sql::count(Dialect::Postgres, table, filter);
        let mut tx = self.pool.begin().await?;
        limit_time(&mut tx, timeout).await?;
        let counted = bound(&statement)?
            .fetch_one(&mut *tx)
            .await
            .map_err(on_cancel)?;
        tx.commit().await?;
        let n: i64 = counted.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

/// `SET LOCAL statement_timeout` for the rest of the transaction, the value bound. Zero
/// would mean no limit, so the shortest limit is a millisecond.
async fn limit_time(conn: &mut PgConnection, timeout: Duration) -> Result<(), StoreError> {
    let millis = timeout.as_millis().clamp(1, i32::MAX as u128);
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(format!("{millis}ms"))
        .execute(conn)
        .await?;
    Ok(())
}

/// A statement cancelled by its time limit is [`StoreError::QueryTimeout`]; its
/// transaction is rolled back when dropped, and the connection stays usable.
fn on_cancel(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(QUERY_CANCELED) => {
            StoreError::QueryTimeout
        }
        _ => StoreError::Other(err),
    }
}

/// A statement with its values bound as the PostgreSQL types of the row tables' columns.
fn bound(statement: &Statement) -> Result<Query<'static, Postgres, PgArguments>, StoreError> {
    let mut query = sqlx::query(AssertSqlSafe(statement.sql.clone()));
    for value in &statement.params {
        query = match value {
            Stored::Null => query.bind(None::<String>),
            Stored::Text(s) => query.bind(s.clone()),
            Stored::Integer(n) => query.bind(*n),
            Stored::Real(x) => query.bind(*x),
            Stored::Bool(b) => query.bind(*b),
            Stored::Json(s) => query.bind(Json(
                serde_json::value::RawValue::from_string(s.clone())
                    .map_err(|e| StoreError::Other(sqlx::Error::Encode(Box::new(e))))?,
            )),
            Stored::Date(d) => query.bind(*d),
            Stored::Timestamp(t) => query.bind(*t),
            Stored::Uuid(u) => query.bind(*u),
        };
    }
    Ok(query)
}

/// A row of a page statement: [`ROW_COLUMNS`], then the columns of `fields`.
fn decode_row(row: &PgRow, fields: &[FieldDef]) -> Result<StoredRow, sqlx::Error> {
    let mut cells = std::collections::BTreeMap::new();
    for (i, field) in fields.iter().enumerate() {
        let stored = stored_value(row, ROW_COLUMNS.len() + i, field.sql_kind())?;
        cells.insert(FieldId(field.id), page::cell(field, stored)?);
    }
    Ok(StoredRow {
        id: RowId(row.try_get(0)?),
        version: row.try_get(1)?,
        autonumber: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
        created_by: UserId(row.try_get(5)?),
        updated_by: UserId(row.try_get(6)?),
        deleted_at: row.try_get(7)?,
        cells,
    })
}

/// One field column as the scalar `CellValue::from_stored` reads.
fn stored_value(row: &PgRow, index: usize, kind: SqlKind) -> Result<Stored, sqlx::Error> {
    fn get<T>(row: &PgRow, index: usize, wrap: fn(T) -> Stored) -> Result<Stored, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        Ok(row
            .try_get::<Option<T>, _>(index)?
            .map_or(Stored::Null, wrap))
    }
    match kind {
        SqlKind::Text => get(row, index, Stored::Text),
        SqlKind::Integer => get(row, index, Stored::Integer),
        SqlKind::Real => get(row, index, Stored::Real),
        SqlKind::Boolean => get(row, index, Stored::Bool),
        SqlKind::Date => get(row, index, Stored::Date),
        SqlKind::Timestamp => get(row, index, Stored::Timestamp),
        SqlKind::Uuid => get(row, index, Stored::Uuid),
        SqlKind::Json => get(row, index, |v: serde_json::Value| {
            Stored::Json(v.to_string())
        }),
    }
}
