//! How PostgreSQL holds rows' values: cells bound as typed parameters (an empty cell
//! as a NULL of its column's type), and a row read back as a [`StoredRow`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments, Encode, PgConnection, Postgres, Row, Type};
use tandem_domain::{RowId, TableId, UserId};
use tandem_tables::field::{CellValue, SqlKind, Stored};
use uuid::Uuid;

use super::micros;
use sqlx::AssertSqlSafe;

use crate::StoreError;
use crate::rows::StoredRow;
use crate::rows::cells::StoredFields;
use crate::rows::statements::CELLS_START;

/// Adds one parameter.
pub(super) fn add<'t, T>(args: &mut PgArguments, value: T) -> Result<(), sqlx::Error>
where
    T: Encode<'t, Postgres> + Type<Postgres> + 't,
{
    args.add(value).map_err(sqlx::Error::Encode)
}

/// Adds one cell of a column of `kind` as a parameter.
pub(super) fn add_cell(
    args: &mut PgArguments,
    kind: SqlKind,
    stored: Stored,
) -> Result<(), sqlx::Error> {
    match stored {
        Stored::Null => add_null(args, kind),
        Stored::Text(s) | Stored::Json(s) => add(args, s),
        Stored::Integer(n) => add(args, n),
        Stored::Real(x) => add(args, x),
        Stored::Bool(b) => add(args, b),
        Stored::Date(d) => add(args, d),
        Stored::Timestamp(t) => add(args, micros(t)),
        Stored::Uuid(u) => add(args, u),
    }
}

/// Adds a column of cells of `kind` as one array parameter (an empty cell as NULL).
/// Text is encoded from the cells themselves, with no copy made first.
pub(super) fn add_column<'c>(
    args: &mut PgArguments,
    kind: SqlKind,
    cells: impl Iterator<Item = Option<&'c CellValue>>,
) -> Result<(), sqlx::Error> {
    // The cells of one variant, copied out; any other cell (empty) is NULL.
    macro_rules! column {
        ($variant:ident, $value:expr) => {{
            let values: Vec<_> = cells
                .map(|cell| match cell {
                    Some(CellValue::$variant(v)) => Some($value(v)),
                    _ => None,
                })
                .collect();
            add(args, values)
        }};
    }
    match kind {
        SqlKind::Text => {
            let values: Vec<Option<&str>> = cells
                .map(|cell| match cell {
                    Some(CellValue::Text(s)) => Some(s.as_str()),
                    Some(CellValue::Option(id)) => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            add(args, values)
        }
        SqlKind::Json => {
            let values: Vec<Option<String>> = cells
                .map(|cell| match cell.map(CellValue::to_stored) {
                    Some(Stored::Json(json)) => Some(json),
                    _ => None,
                })
                .collect();
            add(args, values)
        }
        SqlKind::Integer => column!(Integer, |n: &i64| *n),
        SqlKind::Real => column!(Number, |x: &f64| *x),
        SqlKind::Boolean => column!(Boolean, |b: &bool| *b),
        SqlKind::Date => column!(Date, |d: &NaiveDate| *d),
        SqlKind::Timestamp => column!(Datetime, |t: &DateTime<Utc>| micros(*t)),
        SqlKind::Uuid => column!(User, |u: &Uuid| *u),
    }
}

/// An empty cell: a NULL of the type the statement casts the parameter to.
fn add_null(args: &mut PgArguments, kind: SqlKind) -> Result<(), sqlx::Error> {
    match kind {
        SqlKind::Text | SqlKind::Json => add(args, None::<String>),
        SqlKind::Integer => add(args, None::<i64>),
        SqlKind::Real => add(args, None::<f64>),
        SqlKind::Boolean => add(args, None::<bool>),
        SqlKind::Date => add(args, None::<NaiveDate>),
        SqlKind::Timestamp => add(args, None::<DateTime<Utc>>),
        SqlKind::Uuid => add(args, None::<Uuid>),
    }
}

/// The scalar in column `index` of `row`, a cell of `kind` read with
/// `Dialect::read_cell` (JSON as text).
pub(super) fn read_cell(row: &PgRow, index: usize, kind: SqlKind) -> Result<Stored, sqlx::Error> {
    fn get<'r, T: sqlx::Decode<'r, Postgres> + Type<Postgres>>(
        row: &'r PgRow,
        index: usize,
    ) -> Result<Option<T>, sqlx::Error> {
        row.try_get::<Option<T>, _>(index)
    }
    Ok(match kind {
        SqlKind::Text => get(row, index)?.map(Stored::Text),
        SqlKind::Json => get(row, index)?.map(Stored::Json),
        SqlKind::Integer => get(row, index)?.map(Stored::Integer),
        SqlKind::Real => get(row, index)?.map(Stored::Real),
        SqlKind::Boolean => get(row, index)?.map(Stored::Bool),
        SqlKind::Date => get(row, index)?.map(Stored::Date),
        SqlKind::Timestamp => get(row, index)?.map(Stored::Timestamp),
        SqlKind::Uuid => get(row, index)?.map(Stored::Uuid),
    }
    .unwrap_or(Stored::Null))
}

/// A row read with [`crate::rows::statements::row_columns`] over `fields`.
pub(super) fn decode_row(row: &PgRow, fields: &StoredFields<'_>) -> Result<StoredRow, StoreError> {
    let mut cells = BTreeMap::new();
    for (offset, field) in fields.iter().enumerate() {
        let stored = read_cell(row, CELLS_START + offset, field.kind)?;
        cells.insert(field.field.id, fields.decode(offset, stored)?);
    }
    Ok(StoredRow {
        autonumber: row.try_get(0)?,
        id: RowId(row.try_get(1)?),
        version: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
        created_by: UserId(row.try_get(5)?),
        updated_by: UserId(row.try_get(6)?),
        deleted_at: row.try_get(7)?,
        cells,
    })
}

/// `NotFound` unless the live table exists; with `share`, its `live_tables` row stays
/// key-share locked until the transaction ends: every schema change locks that row for
/// update first, so none runs beside a write of rows, while writes of rows run beside
/// each other.
pub(super) async fn ensure_table(
    conn: &mut PgConnection,
    table: TableId,
    share: bool,
) -> Result<(), StoreError> {
    let sql = if share {
        "SELECT 1 FROM live_tables WHERE id = $1 FOR KEY SHARE"
    } else {
        "SELECT 1 FROM live_tables WHERE id = $1"
    };
    let found: Option<i32> = sqlx::query_scalar(sql)
        .bind(table.0)
        .fetch_optional(conn)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// Runs one statement of DDL (never cached: it runs once).
pub(super) async fn run(conn: &mut PgConnection, sql: String) -> Result<(), StoreError> {
    sqlx::query(AssertSqlSafe(sql))
        .persistent(false)
        .execute(conn)
        .await?;
    Ok(())
}
