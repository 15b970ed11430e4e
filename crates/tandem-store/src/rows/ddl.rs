//! The SQL text that makes, changes and drops row tables (see [`super::layout`]), for
//! both dialects; backends run it inside the transaction of the metadata change.

use tandem_domain::{FieldId, TableId};
use tandem_tables::field::SqlKind;

use super::dialect::Dialect;
use super::layout::{field_column, field_index, row_table};

/// `CREATE TABLE` for a table's row table, with the system columns only.
pub(crate) fn create_row_table(dialect: Dialect, table: TableId) -> String {
    let (seq, id, int, time, user) = match dialect {
        Dialect::Postgres => (
            "bigint GENERATED ALWAYS AS IDENTITY",
            "uuid PRIMARY KEY",
            "bigint",
            "timestamptz",
            "uuid",
        ),
        Dialect::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT NOT NULL UNIQUE",
            "INTEGER",
            "TEXT",
            "TEXT",
        ),
    };
    format!(
        "CREATE TABLE {table} (seq {seq}, id {id}, version {int} NOT NULL, \
         created_at {time} NOT NULL, updated_at {time} NOT NULL, \
         created_by {user} NOT NULL, updated_by {user} NOT NULL, \
         deleted_at {time}, deleted_by {user})",
        table = row_table(table)
    )
}

/// `DROP TABLE` for a table's row table; a table made before row tables existed has
/// none, which is no error.
pub(crate) fn drop_row_table(table: TableId) -> String {
    format!("DROP TABLE IF EXISTS {}", row_table(table))
}

/// Adds the column `column` for cells of `kind`.
pub(crate) fn add_column(dialect: Dialect, table: TableId, column: &str, kind: SqlKind) -> String {
    format!(
        "ALTER TABLE {} ADD COLUMN {column} {}",
        row_table(table),
        dialect.column_type(kind)
    )
}

/// Drops the column `column` (its index must be gone first on SQLite).
pub(crate) fn drop_column(table: TableId, column: &str) -> String {
    format!("ALTER TABLE {} DROP COLUMN {column}", row_table(table))
}

/// Gives the column `from` the name `to`.
pub(crate) fn rename_column(table: TableId, from: &str, to: &str) -> String {
    format!(
        "ALTER TABLE {} RENAME COLUMN {from} TO {to}",
        row_table(table)
    )
}

/// The index of an indexed field whose cells are of `kind`, over the live rows; `None`
/// where the layout gives that kind none (JSON on SQLite).
pub(crate) fn create_index(
    dialect: Dialect,
    table: TableId,
    field: FieldId,
    kind: SqlKind,
) -> Option<String> {
    let (index, table, column) = (field_index(field), row_table(table), field_column(field));
    match (dialect, kind) {
        (Dialect::Sqlite, SqlKind::Json) => None,
        (Dialect::Postgres, SqlKind::Json) => Some(format!(
            "CREATE INDEX {index} ON {table} USING gin ({column}) WHERE deleted_at IS NULL"
        )),
        _ => Some(format!(
            "CREATE INDEX {index} ON {table} ({column}, id) WHERE deleted_at IS NULL"
        )),
    }
}

/// Drops a field's index if it has one.
pub(crate) fn drop_index(field: FieldId) -> String {
    format!("DROP INDEX IF EXISTS {}", field_index(field))
}

/// The column a field's converted cells are written to while its type changes to
/// another SQL kind; it then takes the place (and name) of the field's column.
pub(crate) fn converting_column(field: FieldId) -> String {
    format!("c_{}", field.0.simple())
}

/// One page of the non-empty cells of `column`, live and trashed, by row id; the first
/// page when `after` is false, else the page after parameter 1. The page size is the
/// last parameter.
pub(crate) fn cells_page(
    dialect: Dialect,
    table: TableId,
    column: &str,
    kind: SqlKind,
    after: bool,
) -> String {
    let (after, limit) = if after {
        (format!(" AND id > {}", dialect.param(1)), dialect.param(2))
    } else {
        (String::new(), dialect.param(1))
    };
    format!(
        "SELECT id, {read} FROM {table} WHERE {column} IS NOT NULL{after} ORDER BY id LIMIT {limit}",
        read = dialect.read_cell(column, kind),
        table = row_table(table),
    )
}

/// Writes `rows` cells of `kind` into `column`, each parameter pair a row id and its
/// new value.
pub(crate) fn write_cells(
    dialect: Dialect,
    table: TableId,
    column: &str,
    kind: SqlKind,
    rows: usize,
) -> String {
    let table = row_table(table);
    let values: Vec<String> = (0..rows)
        .map(|i| {
            format!(
                "({}, {})",
                dialect.param(2 * i + 1),
                dialect.cell_param(2 * i + 2, kind)
            )
        })
        .collect();
    format!(
        "UPDATE {table} SET {column} = v.column2 FROM (VALUES {}) AS v \
         WHERE {table}.id = v.column1",
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ids() -> (TableId, FieldId) {
        (TableId(Uuid::from_u128(1)), FieldId(Uuid::from_u128(2)))
    }

    #[test]
    fn json_fields_get_a_gin_index_on_postgres_and_none_on_sqlite() {
        let (table, field) = ids();
        assert_eq!(
            create_index(Dialect::Sqlite, table, field, SqlKind::Json),
            None
        );
        let gin = create_index(Dialect::Postgres, table, field, SqlKind::Json).unwrap();
        assert!(gin.contains("USING gin"), "{gin}");
        let btree = create_index(Dialect::Sqlite, table, field, SqlKind::Text).unwrap();
        assert!(
            btree.ends_with("(f_00000000000000000000000000000002, id) WHERE deleted_at IS NULL")
        );
    }

    #[test]
    fn converted_cells_are_written_from_a_values_list() {
        let (table, field) = ids();
        let sql = write_cells(
            Dialect::Postgres,
            table,
            &field_column(field),
            SqlKind::Real,
            2,
        );
        assert!(
            sql.contains("(VALUES ($1, $2::float8), ($3, $4::float8)) AS v"),
            "{sql}"
        );
    }
}
