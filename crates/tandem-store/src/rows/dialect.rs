//! The two SQL dialects the row statements are written in: how a parameter is
//! written and typed, how a cell column is read, and how many parameters one
//! statement may bind.
//!
//! Every statement lists its parameters in the order they are bound and names each
//! once: SQLite's are anonymous `?`, because with numbered ones (`?NNN`) sqlx looks
//! up every parameter's name, and SQLite finds a name by a linear scan, so binding
//! the 20,000 parameters of a bulk insert took the better part of a second.

use tandem_tables::field::SqlKind;

use super::layout;

/// A backend's SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Parameter `n` (from 1, in text order).
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// Parameter `n` holding a cell of `kind`. On PostgreSQL it carries its type, so a
    /// statement's text names its parameter types: a statement the server cached
    /// before a field changed kind is never reused with values of the new kind.
    pub fn cell_param(self, n: usize, kind: SqlKind) -> String {
        match self {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}::{}", pg_cast(kind)),
        }
    }

    /// How a cell column of `kind` is selected. On PostgreSQL it is cast to the type
    /// the store decodes (JSON as text, which the cell decoder parses), which also
    /// makes the statement's text name its column's kind, for the same reason as in
    /// [`Dialect::cell_param`]: the server refuses to reuse a cached statement whose
    /// result type changed, collation included, so a JSON column is read through
    /// `jsonb` and never by the same text as a text column (`text COLLATE "C"`).
    pub fn read_cell(self, column: &str, kind: SqlKind) -> String {
        match (self, kind) {
            (Dialect::Sqlite, _) => column.to_owned(),
            (Dialect::Postgres, SqlKind::Json) => format!("{column}::jsonb::text"),
            (Dialect::Postgres, kind) => format!("{column}::{}", pg_cast(kind)),
        }
    }

    /// The column type of a cell of `kind`.
    pub fn column_type(self, kind: SqlKind) -> &'static str {
        match self {
            Dialect::Sqlite => layout::sqlite_type(kind),
            Dialect::Postgres => layout::postgres_type(kind),
        }
    }

    /// The most parameters one statement binds: SQLite's `SQLITE_MAX_VARIABLE_NUMBER`
    /// (32766 in the bundled build), PostgreSQL's 16-bit parameter count.
    pub fn max_params(self) -> usize {
        match self {
            Dialect::Sqlite => 32_766,
            Dialect::Postgres => 65_535,
        }
    }
}

/// The PostgreSQL type name a cell of `kind` is cast to.
fn pg_cast(kind: SqlKind) -> &'static str {
    match kind {
        SqlKind::Text => "text",
        SqlKind::Integer => "int8",
        SqlKind::Real => "float8",
        SqlKind::Boolean => "bool",
        SqlKind::Date => "date",
        SqlKind::Timestamp => "timestamptz",
        SqlKind::Uuid => "uuid",
        SqlKind::Json => "jsonb",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_parameters_and_reads_name_their_types() {
        assert_eq!(Dialect::Postgres.cell_param(3, SqlKind::Json), "$3::jsonb");
        assert_eq!(Dialect::Sqlite.cell_param(3, SqlKind::Json), "?");
        assert_eq!(
            Dialect::Postgres.read_cell("f_a", SqlKind::Json),
            "f_a::jsonb::text"
        );
        assert_eq!(
            Dialect::Postgres.read_cell("f_a", SqlKind::Real),
            "f_a::float8"
        );
        assert_eq!(Dialect::Sqlite.read_cell("f_a", SqlKind::Real), "f_a");
    }
}
