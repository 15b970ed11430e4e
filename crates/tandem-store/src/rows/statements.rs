//! The SQL text of row writes, reads by id and row history, for both dialects. Every
//! identifier comes from [`super::layout`], every value is a parameter; the parameter
//! numbering each function documents is what its backend binds.

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

/// The most rows one insert statement writes, whatever the parameter limit allows.
pub(crate) const MAX_ROWS_PER_INSERT: usize = 1_000;

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

/// How many rows of `cells` cell columns one insert statement may write.
pub(crate) fn rows_per_insert(dialect: Dialect, cells: usize) -> usize {
    ((dialect.max_params() - 2) / (1 + cells)).clamp(1, MAX_ROWS_PER_INSERT)
}

/// Inserts `rows` rows at version 1 with the cells of the fields at `columns`.
/// Parameters: 1 the time, 2 the actor, then per row its id and its cells in
/// `columns` order. Returns each row's `id, seq`.
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
    let (at, actor) = (dialect.param(1), dialect.param(2));
    let per_row = 1 + columns.len();
    let mut sql = format!("INSERT INTO {} ({names}) VALUES ", row_table(table));
    for row in 0..rows {
        let first = 3 + row * per_row;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "({}, 1, {at}, {at}, {actor}, {actor}",
            dialect.param(first)
        ));
        for (offset, &index) in columns.iter().enumerate() {
            sql.push_str(", ");
            sql.push_str(&dialect.cell_param(first + 1 + offset, fields.get(index).kind));
        }
        sql.push(')');
    }
    sql.push_str(" RETURNING id, seq");
    sql
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
/// on. Parameters: 1 the time, 2 the actor, 3 the row id, then the cells in `columns`
/// order.
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
            dialect.cell_param(4 + offset, field.kind)
        ));
    }
    format!(
        "UPDATE {} SET {sets}version = version + 1, updated_at = {}, updated_by = {} \
         WHERE id = {} AND deleted_at IS NULL",
        row_table(table),
        dialect.param(1),
        dialect.param(2),
        dialect.param(3)
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

/// One page of the trash, most recently trashed first, then by id. Parameters: the
/// page size, then, when `after`, the last row's `deleted_at` and id.
pub(crate) fn list_trash(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    after: bool,
) -> String {
    let after = if after {
        let (at, id) = (dialect.param(2), dialect.param(3));
        format!(" AND (deleted_at < {at} OR (deleted_at = {at} AND id > {id}))")
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM {} WHERE deleted_at IS NOT NULL{after} \
         ORDER BY deleted_at DESC, id LIMIT {}",
        row_columns(dialect, fields),
        row_table(table),
        dialect.param(1)
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

/// The most history entries one insert statement writes: each binds three parameters.
pub(crate) const MAX_HISTORY_PER_INSERT: usize = 1_000;

/// Records `entries` history entries of one table, one action, actor and time.
/// Parameters: 1 the table id, 2 the action, 3 the actor, 4 the time, then per entry
/// its row id, version and changes (JSON text).
pub(crate) fn insert_history(dialect: Dialect, entries: usize) -> String {
    let values: Vec<String> = (0..entries)
        .map(|i| {
            let first = 5 + 3 * i;
            format!(
                "({}, {}, {}, {}, {}, {}, {})",
                dialect.param(1),
                dialect.param(first),
                dialect.param(first + 1),
                dialect.param(2),
                dialect.param(3),
                dialect.param(4),
                dialect.cell_param(first + 2, SqlKind::Json)
            )
        })
        .collect();
    format!(
        "INSERT INTO table_row_history (table_id, row_id, version, action, actor, at, changes) \
         VALUES {}",
        values.join(", ")
    )
}

/// A row's history, newest first. Parameters: 1 the table id, 2 the row id, 3 the page
/// size, then, when `before`, the version entries must be below.
pub(crate) fn row_history(dialect: Dialect, before: bool) -> String {
    let before = if before {
        format!(" AND version < {}", dialect.param(4))
    } else {
        String::new()
    };
    let changes = dialect.read_cell("changes", SqlKind::Json);
    format!(
        "SELECT version, action, actor, at, {changes} FROM table_row_history \
         WHERE table_id = {} AND row_id = {}{before} ORDER BY version DESC LIMIT {}",
        dialect.param(1),
        dialect.param(2),
        dialect.param(3)
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
    fn inserts_share_the_time_and_actor_and_number_each_rows_cells() {
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
                "VALUES ($3, 1, $1, $1, $2, $2, $4::text, $5::jsonb), \
                 ($6, 1, $1, $1, $2, $2, $7::text, $8::jsonb) RETURNING id, seq"
            ),
            "{sql}"
        );
    }

    #[test]
    fn inserts_stay_under_each_backends_parameter_limit() {
        assert_eq!(rows_per_insert(Dialect::Sqlite, 20), 1_000);
        assert_eq!(rows_per_insert(Dialect::Sqlite, 100), 324);
        assert_eq!(rows_per_insert(Dialect::Postgres, 100), 648);
        assert_eq!(rows_per_insert(Dialect::Postgres, 100_000), 1);
    }
}
