//! Where a live table's rows live in SQL, on both backends: the row table's name, its
//! system columns, and one column per stored field, every name derived from an id and
//! never from user text, so generated SQL holds no identifier a user chose.
//!
//! The row table of table `T` is `tr_<T as 32 hex digits>`; it has:
//!
//! | column       | PostgreSQL                               | SQLite                              |
//! |--------------|------------------------------------------|-------------------------------------|
//! | `seq`        | `bigint GENERATED ALWAYS AS IDENTITY`    | `INTEGER PRIMARY KEY AUTOINCREMENT` |
//! | `id`         | `uuid PRIMARY KEY`                       | `TEXT NOT NULL UNIQUE`              |
//! | `version`    | `bigint NOT NULL`                        | `INTEGER NOT NULL`                  |
//! | `created_at`, `updated_at` | `timestamptz NOT NULL`     | `TEXT NOT NULL` (fixed-width micros)|
//! | `created_by`, `updated_by` | `uuid NOT NULL`            | `TEXT NOT NULL`                     |
//! | `deleted_at` | `timestamptz` (trash)                    | `TEXT`                              |
//! | `deleted_by` | `uuid`                                   | `TEXT`                              |
//! | `f_<F>`      | per the field's `SqlKind`; text `COLLATE "C"` | per `SqlKind`                  |
//!
//! `seq` is the `autonumber`; `created_at`, `updated_at`, `created_by` and `updated_by`
//! are the system fields of the same names. An `indexed` field `F` has the index
//! `ix_<F>` on `(f_<F>, id) WHERE deleted_at IS NULL` (on PostgreSQL a multi select or
//! json field gets a GIN index instead; on SQLite those two get none).
//!
//! A field's column type follows its [`SqlKind`] ([`postgres_type`], [`sqlite_type`]).
//! SQLite has no date, time, UUID, boolean or JSON type, so its cells are written as
//! the store writes its own columns: dates as `YYYY-MM-DD` text, instants as the
//! fixed-width micros text of `src/sqlite/mod.rs` (text order is time order), UUIDs as
//! hyphenated lower-case text, booleans as 0/1 and JSON as compact text.

use tandem_domain::{FieldId, TableId};
use tandem_tables::bind::FieldDef;
use tandem_tables::field::{FieldType, SqlKind};

/// The row table of a live table.
pub fn row_table(table: TableId) -> String {
    format!("tr_{}", table.0.simple())
}

/// The column of a stored field.
pub fn field_column(field: FieldId) -> String {
    format!("f_{}", field.0.simple())
}

/// The index of an indexed field.
pub fn field_index(field: FieldId) -> String {
    format!("ix_{}", field.0.simple())
}

/// The system columns, in the order the DDL lists them after `seq`.
pub const SYSTEM_COLUMNS: [&str; 8] = [
    "id",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "deleted_by",
];

/// The column that holds a field's cells: a system column for the system field types,
/// else the field's own column.
pub fn column_of(field: &FieldDef) -> String {
    system_column(&field.field_type).map_or_else(
        || field_column(FieldId(field.id)),
        |column| column.to_owned(),
    )
}

/// The system column a system field type reads, or `None` for a stored field type
/// (one with a column of its own).
pub fn system_column(field_type: &FieldType) -> Option<&'static str> {
    match field_type {
        FieldType::Autonumber => Some("seq"),
        FieldType::CreatedAt => Some("created_at"),
        FieldType::UpdatedAt => Some("updated_at"),
        FieldType::CreatedBy => Some("created_by"),
        FieldType::UpdatedBy => Some("updated_by"),
        _ => None,
    }
}

/// Whether a field of this type has a column of its own.
pub fn is_stored(field_type: &FieldType) -> bool {
    system_column(field_type).is_none()
}

/// The PostgreSQL type of a stored field's column.
pub fn postgres_type(kind: SqlKind) -> &'static str {
    match kind {
        SqlKind::Text => "text COLLATE \"C\"",
        SqlKind::Integer => "bigint",
        SqlKind::Real => "double precision",
        SqlKind::Boolean => "boolean",
        SqlKind::Date => "date",
        SqlKind::Timestamp => "timestamptz",
        SqlKind::Uuid => "uuid",
        SqlKind::Json => "jsonb",
    }
}

/// The SQLite type (affinity) of a stored field's column; see the module docs for how
/// each kind is written.
pub fn sqlite_type(kind: SqlKind) -> &'static str {
    match kind {
        SqlKind::Integer | SqlKind::Boolean => "INTEGER",
        SqlKind::Real => "REAL",
        SqlKind::Text | SqlKind::Date | SqlKind::Timestamp | SqlKind::Uuid | SqlKind::Json => {
            "TEXT"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn names_are_derived_from_ids_and_fit_postgres_identifiers() {
        let id = Uuid::parse_str("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        assert_eq!(
            row_table(TableId(id)),
            "tr_0190a1b2c3d47e5f8a9b0c1d2e3f4a5b"
        );
        assert_eq!(
            field_column(FieldId(id)),
            "f_0190a1b2c3d47e5f8a9b0c1d2e3f4a5b"
        );
        assert!(field_index(FieldId(id)).len() <= 63);
    }

    #[test]
    fn system_fields_read_system_columns() {
        assert_eq!(system_column(&FieldType::Autonumber), Some("seq"));
        assert_eq!(system_column(&FieldType::UpdatedBy), Some("updated_by"));
        assert!(is_stored(&FieldType::Text));
    }
}
