//! PostgreSQL's [`RowQueryStore`]: the shared generator's statements (see
//! [`crate::rows::sql`]), each in a read transaction of its own under
//! `SET LOCAL statement_timeout`, so that the server cancels it at its deadline and the
//! setting ends with the transaction.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row};
use tandem_domain::TableId;
use tandem_tables::bind::{BoundFilter, BoundQuery};

use super::PgStore;
use super::row_codec::{add_cell, decode_row, ensure_table};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::sql::{self, Statement, param_kind};
use crate::rows::{CountMode, RowPage, RowQueryStore, layout, page};
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
        let read = page::read_fields(fields, query);
        let read = StoredFields::of(&read);
        let statement = sql::page(Dialect::Postgres, table, &read, query);
        let mut tx = self.pool.begin().await?;
        ensure_table(&mut tx, table, false).await?;
        limit_time(&mut tx, timeout).await?;
        let found = bound(&statement)?
            .fetch_all(&mut *tx)
            .await
            .map_err(on_cancel)?;
        tx.commit().await?;
        let rows = found
            .iter()
            .map(|row| decode_row(row, &read))
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
        ensure_table(&mut tx, table, false).await?;
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

/// A statement with its values bound as the types its placeholders name.
fn bound(statement: &Statement) -> Result<Query<'static, Postgres, PgArguments>, StoreError> {
    let mut arguments = PgArguments::default();
    for value in &statement.params {
        add_cell(&mut arguments, param_kind(value), value.clone())?;
    }
    Ok(sqlx::query_with(
        AssertSqlSafe(statement.sql.clone()),
        arguments,
    ))
}
