//! A field's type change on PostgreSQL: its cells, live and trashed, read a page at a
//! time by row id, converted by `tandem_tables::field::convert` (not by a cast: the
//! rules are the model's, the same on both backends), and written back in place or
//! into a new column that then replaces the field's column. Also the dry run that
//! counts what a change would empty.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tandem_tables::field::{FieldType, Limits, Stored};
use uuid::Uuid;

use super::row_codec::{add, add_cell, read_cell, run};
use crate::rows::conversion::{
    CONVERSION_PAGE, ColumnChange, column_change, convert_page, count_lost,
};
use crate::rows::ddl;
use crate::rows::dialect::Dialect;
use crate::rows::layout::field_column;
use crate::{StoreError, TableField};

const POSTGRES: Dialect = Dialect::Postgres;

/// Converts every cell of `field` to `to`, in place ([`ColumnChange::Rewrite`]) or
/// through a new column ([`ColumnChange::Replace`], whose index the caller has dropped).
pub(super) async fn convert_cells(
    conn: &mut PgConnection,
    field: &TableField,
    to: &FieldType,
    limits: &Limits,
    change: ColumnChange,
) -> Result<(), StoreError> {
    let table = field.table_id;
    let column = field_column(field.id);
    let target = match change {
        ColumnChange::None => return Ok(()),
        ColumnChange::Rewrite => column.clone(),
        ColumnChange::Replace => {
            let target = ddl::converting_column(field.id);
            run(
                conn,
                ddl::add_column(POSTGRES, table, &target, to.sql_kind()),
            )
            .await?;
            target
        }
    };
    let mut after = None;
    loop {
        let cells = cells_page(conn, field, after).await?;
        let full = cells.len() == CONVERSION_PAGE;
        after = cells.last().map(|(id, _)| *id);
        let page = convert_page(&field.field_type, to, limits, change, cells)?;
        if !page.writes.is_empty() {
            let sql = ddl::write_cells(POSTGRES, table, &target, to.sql_kind(), page.writes.len());
            let mut args = PgArguments::default();
            for (row, stored) in page.writes {
                add(&mut args, row)?;
                add_cell(&mut args, to.sql_kind(), stored)?;
            }
            sqlx::query_with(AssertSqlSafe(sql), args)
                .execute(&mut *conn)
                .await?;
        }
        if !full {
            break;
        }
    }
    if change == ColumnChange::Replace {
        run(conn, ddl::drop_column(table, &column)).await?;
        run(conn, ddl::rename_column(table, &target, &column)).await?;
    }
    Ok(())
}

/// How many non-empty cells of `field` changing to `to` would empty, read on `conn`
/// (the caller's snapshot); nothing is written. A change the store refuses (see
/// [`column_change`]) is refused here too.
pub(super) async fn conversion_loss(
    conn: &mut PgConnection,
    field: &TableField,
    to: &FieldType,
    limits: &Limits,
) -> Result<u64, StoreError> {
    if column_change(&field.field_type, to)? == ColumnChange::None {
        return Ok(0);
    }
    let mut lost = 0;
    let mut after = None;
    loop {
        let cells = cells_page(conn, field, after).await?;
        let full = cells.len() == CONVERSION_PAGE;
        after = cells.last().map(|(id, _)| *id);
        let values = cells.into_iter().map(|(_, stored)| stored).collect();
        lost += count_lost(&field.field_type, to, limits, values)?;
        if !full {
            return Ok(lost);
        }
    }
}

/// The page of `field`'s non-empty cells after row `after`, by row id.
async fn cells_page(
    conn: &mut PgConnection,
    field: &TableField,
    after: Option<Uuid>,
) -> Result<Vec<(Uuid, Stored)>, StoreError> {
    let kind = field.field_type.sql_kind();
    let column = field_column(field.id);
    let sql = ddl::cells_page(POSTGRES, field.table_id, &column, kind, after.is_some());
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(after) = after {
        query = query.bind(after);
    }
    let limit = i64::try_from(CONVERSION_PAGE).unwrap_or(i64::MAX);
    let rows: Vec<PgRow> = query.bind(limit).fetch_all(conn).await?;
    let cells = rows
        .iter()
        .map(|row| {
            let id: Uuid = row.try_get(0)?;
            Ok((id, read_cell(row, 1, kind)?))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(cells)
}
