//! The SQL text of row writes, reads by id and row history, for both dialects. Every
//! identifier comes from [`super::layout`], every value is a parameter; each function
//! documents its parameters in the order the backend binds them (see
//! [`super::dialect`] for why none is used twice).

use tandem_domain::TableId;
use tandem_tables::field::SqlKind;

use super::cells::StoredFields;
use super::dialect::Dialect;
use super::layout::row_table;

/// The system columns every row read selects first, in this order; the stored fields'
/// cells follow from index [`CELLS_START`].
const SYSTEM_READ: &str =
    "seq, id, version, created_at, updated_at, created_by, updated_by, deleted_at";

/// The index of the first cell column in a row read.
pub(crate) const CELLS_START: usize = 8;

/// The most rows one statement writes (an insert's rows, a trash's ids), whatever the
/// parameter limit allows.
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 1_000;

/// A row's columns as every read selects them: the system columns, then each stored
/// field's cell.
pub(crate) fn row_columns(dialect: Dialect, fields: &StoredFields<'_>) -> String {
    let mut columns = String::from(SYSTEM_READ);
    for field in fields.iter() {
        columns.push_str(", ");
        columns.push_str(&dialect.read_cell(&field.column, field.kind));
    }
    columns
}

/// The parameters of one inserted row besides its cells: its id, the time twice
/// (created and updated), the actor twice.
const INSERT_ROW_PARAMS: usize = 5;

/// How many rows of `cells` cell columns one insert statement may write.
pub(crate) fn rows_per_insert(dialect: Dialect, cells: usize) -> usize {
    (dialect.max_params() / (INSERT_ROW_PARAMS + cells)).clamp(1, MAX_ROWS_PER_STATEMENT)
}

/// Inserts `rows` rows at version 1 with the cells of the fields at `columns`, as one
/// `VALUES` list (SQLite's way; PostgreSQL uses [`insert_rows_from_arrays`]).
/// Parameters, per row: its id, the time, the time, the actor, the actor, then its
/// cells in `columns` order. Returns each row's `id, seq`.
pub(crate) fn insert_rows(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    columns: &[usize],
    rows: usize,
) -> String {
    let mut names = String::from("id, version, created_at, updated_at, created_by, updated_by");
    for &index in columns {
        names.push_str(", ");
        names.push_str(&fields.get(index).column);
    }
    let per_row = INSERT_ROW_PARAMS + columns.len();
    let mut sql = format!("INSERT INTO {} ({names}) VALUES ", row_table(table));
    for row in 0..rows {
        let first = 1 + row * per_row;
        if row > 0 {
            sql.push_str(", ");
        }
        let p = |k: usize| dialect.param(first + k);
        sql.push_str(&format!(
            "({}, 1, {}, {}, {}, {}",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4)
        ));
        for (offset, &index) in columns.iter().enumerate() {
            let n = first + INSERT_ROW_PARAMS + offset;
            sql.push_str(", ");
            sql.push_str(&dialect.cell_param(n, fields.get(index).kind));
        }
        sql.push(')');
    }
    sql.push_str(" RETURNING id, seq");
    sql
}

/// PostgreSQL only (SQLite has no arrays): inserts rows at version 1 from one array
/// per column, each array as long as the rows. Parameters: the row ids (`uuid[]`), the
/// time, the actor (each used twice), then one array of cells per column in `columns`
/// order. Returns each row's `id, seq`.
pub(crate) fn insert_rows_from_arrays(
    table: TableId,
    fields: &StoredFields<'_>,
    columns: &[usize],
) -> String {
    let mut names = String::from("id, version, created_at, updated_at, created_by, updated_by");
    let mut selected = String::from("u.id, 1, $2, $2, $3, $3");
    let mut arrays = String::from("$1::uuid[]");
    let mut aliases = String::from("id");
    for (offset, &index) in columns.iter().enumerate() {
        let field = fields.get(index);
        names.push_str(&format!(", {}", field.column));
        selected.push_str(&format!(", u.c{offset}"));
        let param = Dialect::Postgres.cell_param(4 + offset, field.kind);
        arrays.push_str(&format!(", {param}[]"));
        aliases.push_str(&format!(", c{offset}"));
    }
    format!(
        "INSERT INTO {} ({names}) SELECT {selected} FROM unnest({arrays}) AS u({aliases}) \
         RETURNING id, seq",
        row_table(table)
    )
}

/// One row by id (parameter 1), live or trashed, locked for the transaction on
/// PostgreSQL when `lock`.
pub(crate) fn row_by_id(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    lock: bool,
) -> String {
    let lock = if lock && dialect == Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    format!(
        "SELECT {} FROM {} WHERE id = {}{lock}",
        row_columns(dialect, fields),
        row_table(table),
        dialect.param(1)
    )
}

/// Writes the cells of the fields at `columns` into one live row and moves its version
/// on. Parameters: the cells in `columns` order, the time, the actor, the row id.
pub(crate) fn update_cells(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    columns: &[usize],
) -> String {
    let mut sets = String::new();
    for (offset, &index) in columns.iter().enumerate() {
        let field = fields.get(index);
        sets.push_str(&format!(
            "{} = {}, ",
            field.column,
            dialect.cell_param(1 + offset, field.kind)
        ));
    }
    let next = columns.len() + 1;
    format!(
        "UPDATE {} SET {sets}version = version + 1, updated_at = {}, updated_by = {} \
         WHERE id = {} AND deleted_at IS NULL",
        row_table(table),
        dialect.param(next),
        dialect.param(next + 1),
        dialect.param(next + 2)
    )
}

/// Moves live rows to the trash, bumping their versions. Parameters: 1 the time, 2 the
/// actor, then the `ids` row ids. Returns the rows trashed.
pub(crate) fn trash_rows(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    ids: usize,
) -> String {
    format!(
        "UPDATE {} SET deleted_at = {}, deleted_by = {}, version = version + 1 \
         WHERE deleted_at IS NULL AND id IN ({}) RETURNING {}",
        row_table(table),
        dialect.param(1),
        dialect.param(2),
        params(dialect, 3, ids),
        row_columns(dialect, fields)
    )
}

/// Brings trashed rows back, bumping their versions. Parameters: the `ids` row ids.
/// Returns the rows restored.
pub(crate) fn restore_rows(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    ids: usize,
) -> String {
    format!(
        "UPDATE {} SET deleted_at = NULL, deleted_by = NULL, version = version + 1 \
         WHERE deleted_at IS NOT NULL AND id IN ({}) RETURNING {}",
        row_table(table),
        params(dialect, 1, ids),
        row_columns(dialect, fields)
    )
}

/// One page of the trash, most recently trashed first, then by id. Parameters: when
/// `after`, the last row's `deleted_at` twice and its id; then the page size.
pub(crate) fn list_trash(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    after: bool,
) -> String {
    let (after, limit) = if after {
        let (at, same_at, id) = (dialect.param(1), dialect.param(2), dialect.param(3));
        (
            format!(" AND (deleted_at < {at} OR (deleted_at = {same_at} AND id > {id}))"),
            dialect.param(4),
        )
    } else {
        (String::new(), dialect.param(1))
    };
    format!(
        "SELECT {} FROM {} WHERE deleted_at IS NOT NULL{after} \
         ORDER BY deleted_at DESC, id LIMIT {limit}",
        row_columns(dialect, fields),
        row_table(table),
    )
}

/// Deletes the history of a table's rows trashed before parameter 2; parameter 1 is
/// the table's id.
pub(crate) fn purge_history(dialect: Dialect, table: TableId) -> String {
    format!(
        "DELETE FROM table_row_history WHERE table_id = {} AND row_id IN \
         (SELECT id FROM {} WHERE deleted_at < {})",
        dialect.param(1),
        row_table(table),
        dialect.param(2)
    )
}

/// Deletes a table's rows trashed before parameter 1.
pub(crate) fn purge_rows(dialect: Dialect, table: TableId) -> String {
    format!(
        "DELETE FROM {} WHERE deleted_at < {}",
        row_table(table),
        dialect.param(1)
    )
}

/// The most history entries one insert statement writes (seven parameters each).
pub(crate) const MAX_HISTORY_PER_INSERT: usize = 1_000;

/// Records `entries` history entries. Parameters, per entry: the table id, the row id,
/// the version, the action, the actor, the time, the changes (JSON text).
pub(crate) fn insert_history(dialect: Dialect, entries: usize) -> String {
    let values: Vec<String> = (0..entries)
        .map(|i| {
            let p = |k: usize| dialect.param(7 * i + k);
            format!(
                "({}, {}, {}, {}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                dialect.cell_param(7 * i + 7, SqlKind::Json)
            )
        })
        .collect();
    format!(
        "INSERT INTO table_row_history (table_id, row_id, version, action, actor, at, changes) \
         VALUES {}",
        values.join(", ")
    )
}

/// A row's history, newest first. Parameters: the table id, the row id, when
/// `before` the version entries must be below, then the page size.
pub(crate) fn row_history(dialect: Dialect, before: bool) -> String {
    let (before, limit) = if before {
        (
            format!(" AND version < {}", dialect.param(3)),
            dialect.param(4),
        )
    } else {
        (String::new(), dialect.param(3))
    };
    let changes = dialect.read_cell("changes", SqlKind::Json);
    format!(
        "SELECT version, action, actor, at, {changes} FROM table_row_history \
         WHERE table_id = {} AND row_id = {}{before} ORDER BY version DESC LIMIT {limit}",
        dialect.param(1),
        dialect.param(2),
    )
}

/// `count` parameters numbered from `first`, comma-separated.
fn params(dialect: Dialect, first: usize, count: usize) -> String {
    let list: Vec<String> = (first..first + count).map(|n| dialect.param(n)).collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TableField;
    use chrono::Utc;
    use tandem_domain::FieldId;
    use tandem_tables::field::{FieldName, FieldType};
    use uuid::Uuid;

    fn field(n: u128, field_type: FieldType) -> TableField {
        TableField {
            id: FieldId(Uuid::from_u128(n)),
            table_id: TableId(Uuid::from_u128(1)),
            name: FieldName::parse(&format!("f{n}")).unwrap(),
            field_type,
            position: 0,
            indexed: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn inserts_number_each_rows_parameters_in_text_order() {
        let all = [
            field(2, FieldType::Text),
            field(3, FieldType::CreatedAt),
            field(4, FieldType::Json),
        ];
        let fields = StoredFields::of(&all);
        assert_eq!(fields.len(), 2);
        let sql = insert_rows(
            Dialect::Postgres,
            TableId(Uuid::from_u128(1)),
            &fields,
            &[0, 1],
            2,
        );
        assert!(
            sql.ends_with(
                "VALUES ($1, 1, $2, $3, $4, $5, $6::text, $7::jsonb), \
                 ($8, 1, $9, $10, $11, $12, $13::text, $14::jsonb) RETURNING id, seq"
            ),
            "{sql}"
        );
    }

    #[test]
    fn postgres_inserts_read_one_array_per_column() {
        let all = [field(2, FieldType::Text), field(4, FieldType::Json)];
        let fields = StoredFields::of(&all);
        let sql = insert_rows_from_arrays(TableId(Uuid::from_u128(1)), &fields, &[1]);
        assert!(
            sql.ends_with(
                "SELECT u.id, 1, $2, $2, $3, $3, u.c0 \
                 FROM unnest($1::uuid[], $4::jsonb[]) AS u(id, c0) RETURNING id, seq"
            ),
            "{sql}"
        );
    }

    #[test]
    fn sqlite_parameters_are_anonymous_and_in_bind_order() {
        let all = [field(2, FieldType::Text)];
        let fields = StoredFields::of(&all);
        let sql = update_cells(Dialect::Sqlite, TableId(Uuid::from_u128(1)), &fields, &[0]);
        assert!(
            sql.ends_with(
                "SET f_00000000000000000000000000000002 = ?, version = version + 1, \
                 updated_at = ?, updated_by = ? WHERE id = ? AND deleted_at IS NULL"
            ),
            "{sql}"
        );
    }

    #[test]
    fn inserts_stay_under_each_backends_parameter_limit() {
        assert_eq!(rows_per_insert(Dialect::Sqlite, 20), 1_000);
        assert_eq!(rows_per_insert(Dialect::Sqlite, 100), 312);
        assert_eq!(rows_per_insert(Dialect::Postgres, 100), 624);
        assert_eq!(rows_per_insert(Dialect::Postgres, 100_000), 1);
    }
}
