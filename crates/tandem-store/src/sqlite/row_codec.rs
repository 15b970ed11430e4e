//! How SQLite holds rows' values: cells bound as parameters in the encodings of
//! [`crate::rows::layout`] (dates and instants as text that sorts in time order, ids
//! as hyphenated text, booleans as 0/1), and a row read back as a [`StoredRow`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Encode, Row, Sqlite, SqliteConnection, Type};
use tandem_domain::{RowId, TableId, UserId};
use tandem_tables::field::{CellValue, SqlKind, Stored};

use super::{decode_id, decode_opt_time, decode_time, encode_id, encode_time};
use sqlx::AssertSqlSafe;

use crate::StoreError;
use crate::rows::StoredRow;
use crate::rows::cells::StoredFields;
use crate::rows::statements::CELLS_START;

/// Adds one parameter.
pub(super) fn add<'t, T>(args: &mut SqliteArguments, value: T) -> Result<(), sqlx::Error>
where
    T: Encode<'t, Sqlite> + Type<Sqlite> + 't,
{
    args.add(value).map_err(sqlx::Error::Encode)
}

/// Adds one cell as a parameter.
pub(super) fn add_cell(args: &mut SqliteArguments, stored: Stored) -> Result<(), sqlx::Error> {
    match stored {
        Stored::Null => add(args, None::<String>),
        Stored::Text(s) | Stored::Json(s) => add(args, s),
        Stored::Integer(n) => add(args, n),
        Stored::Real(x) => add(args, x),
        Stored::Bool(b) => add(args, b),
        Stored::Date(d) => add(args, encode_date(d)),
        Stored::Timestamp(t) => add(args, encode_time(t)),
        Stored::Uuid(u) => add(args, encode_id(u)),
    }
}

/// Adds one cell, written straight from the value (text without a copy made first;
/// the same encodings as [`add_cell`] of its stored form).
pub(super) fn add_value(
    args: &mut SqliteArguments,
    value: Option<&CellValue>,
) -> Result<(), sqlx::Error> {
    match value {
        Some(CellValue::Text(s)) => add(args, s.as_str()),
        Some(CellValue::Option(id)) => add(args, id.as_str()),
        Some(value) => add_cell(args, value.to_stored()),
        None => add(args, None::<String>),
    }
}

/// A date as the `YYYY-MM-DD` text a date cell holds.
fn encode_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The scalar in column `index` of `row`, a cell of `kind`.
pub(super) fn read_cell(
    row: &SqliteRow,
    index: usize,
    kind: SqlKind,
) -> Result<Stored, sqlx::Error> {
    Ok(match kind {
        SqlKind::Text | SqlKind::Date | SqlKind::Timestamp | SqlKind::Uuid => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Stored::Null, Stored::Text),
        SqlKind::Json => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Stored::Null, Stored::Json),
        SqlKind::Integer | SqlKind::Boolean => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Stored::Null, Stored::Integer),
        SqlKind::Real => row
            .try_get::<Option<f64>, _>(index)?
            .map_or(Stored::Null, Stored::Real),
    })
}

/// A row read with [`crate::rows::statements::row_columns`] over `fields`.
pub(super) fn decode_row(
    row: &SqliteRow,
    fields: &StoredFields<'_>,
) -> Result<StoredRow, StoreError> {
    let text = |index: usize| row.try_get::<String, _>(index);
    let mut cells = BTreeMap::new();
    for (offset, field) in fields.iter().enumerate() {
        let stored = read_cell(row, CELLS_START + offset, field.kind)?;
        cells.insert(field.field.id, fields.decode(offset, stored)?);
    }
    Ok(StoredRow {
        autonumber: row.try_get(0)?,
        id: RowId(decode_id("rows.id", &text(1)?)?),
        version: row.try_get(2)?,
        created_at: decode_time("rows.created_at", &text(3)?)?,
        updated_at: decode_time("rows.updated_at", &text(4)?)?,
        created_by: UserId(decode_id("rows.created_by", &text(5)?)?),
        updated_by: UserId(decode_id("rows.updated_by", &text(6)?)?),
        deleted_at: decode_opt_time(
            "rows.deleted_at",
            row.try_get::<Option<String>, _>(7)?.as_deref(),
        )?,
        cells,
    })
}

/// `NotFound` unless the live table exists.
pub(super) async fn ensure_table(
    conn: &mut SqliteConnection,
    table: TableId,
) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM live_tables WHERE id = ?")
        .bind(encode_id(table.0))
        .fetch_optional(conn)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// Runs one statement of DDL (never cached: it runs once).
pub(super) async fn run(conn: &mut SqliteConnection, sql: String) -> Result<(), StoreError> {
    sqlx::query(AssertSqlSafe(sql))
        .persistent(false)
        .execute(conn)
        .await?;
    Ok(())
}
