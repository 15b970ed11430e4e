//! What an import would do, shared by the preview, the import request and its job:
//! which field each CSV column goes to (an existing one by name ignoring case, one to
//! create with the inferred type, or none), and each cell read and checked with its
//! field's rules. Every refused cell is named `rows[i].{column}` (`i` from 0, the first
//! row after the header) with its value code.

use std::collections::BTreeSet;

use tandem_domain::{FieldError, ProjectId, UserId};
use tandem_store::{Store, StoreError, TableField};
use tandem_tables::field::{CellValue, FieldType, Limits, ValueError, validate};
use tandem_tables::import::{Csv, cell_value, infer};

/// The most refused cells an answer lists (all are counted).
pub const MAX_REPORTED: usize = 100;

/// Where one column goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing field of that name (ignoring case).
    Existing(TableField),
    /// A field to create, of the inferred type.
    Create(FieldType),
    /// Nowhere: `read_only_field` (a system field's values are the server's) or
    /// `no_field` (no field of that name, and fields are not to be created).
    Skip(&'static str),
}

impl Target {
    /// The type the column's cells are checked against, unless it is skipped.
    pub fn field_type(&self) -> Option<&FieldType> {
        match self {
            Target::Existing(field) => Some(&field.field_type),
            Target::Create(field_type) => Some(field_type),
            Target::Skip(_) => None,
        }
    }
}

/// Each column's target, in column order.
pub fn targets(csv: &Csv, fields: &[TableField], create: bool) -> Vec<Target> {
    infer(csv)
        .into_iter()
        .zip(&csv.columns)
        .map(
            |(inferred, column)| match fields.iter().find(|f| f.name.key() == column.key()) {
                Some(field) if field.field_type.is_read_only() => Target::Skip("read_only_field"),
                Some(field) => Target::Existing(field.clone()),
                None if create => Target::Create(inferred),
                None => Target::Skip("no_field"),
            },
        )
        .collect()
}

/// One cell's text checked against its field's type.
pub fn check_cell(
    field_type: &FieldType,
    text: &str,
    limits: &Limits,
) -> Result<CellValue, ValueError> {
    validate(field_type, cell_value(field_type, text), limits)
}

/// A refused cell as the API reports it.
pub fn cell_error(csv: &Csv, row: usize, column: usize, error: &ValueError) -> FieldError {
    let line = csv.lines.get(row).copied().unwrap_or(0);
    FieldError::new(
        format!("rows[{row}].{}", csv.columns[column].as_str()),
        format!("line {line}: {error}"),
    )
    .with_code(error.code())
}

/// A row's non-empty cells, each with its column.
pub type CheckedRow = Vec<(usize, CellValue)>;

/// Every row's cells, by column, checked against `types` (`None` skips the column);
/// the errors are the first [`MAX_REPORTED`] refused cells, with the count of all.
pub fn check_rows(
    csv: &Csv,
    types: &[Option<&FieldType>],
    limits: &Limits,
) -> (Vec<CheckedRow>, Vec<FieldError>, usize) {
    let mut rows = Vec::with_capacity(csv.rows.len());
    let mut errors = Vec::new();
    let mut refused = 0;
    for (r, row) in csv.rows.iter().enumerate() {
        let mut cells = Vec::with_capacity(types.len());
        for (c, field_type) in types.iter().enumerate() {
            let Some(field_type) = field_type else {
                continue;
            };
            match check_cell(field_type, &row[c], limits) {
                Ok(CellValue::Null) => {}
                Ok(value) => cells.push((c, value)),
                Err(error) => {
                    refused += 1;
                    if errors.len() < MAX_REPORTED {
                        errors.push(cell_error(csv, r, c, &error));
                    }
                }
            }
        }
        rows.push(cells);
    }
    (rows, errors, refused)
}

/// The user cells that name someone who is not a member of `project`, reported as
/// `not_a_member` (at most [`MAX_REPORTED`]).
pub async fn strangers(
    store: &dyn Store,
    project: ProjectId,
    csv: &Csv,
    rows: &[CheckedRow],
) -> Result<Vec<FieldError>, StoreError> {
    let named: BTreeSet<UserId> = rows
        .iter()
        .flatten()
        .filter_map(|(_, v)| match v {
            CellValue::User(u) => Some(UserId(*u)),
            _ => None,
        })
        .collect();
    let mut outside = BTreeSet::new();
    for user in named {
        if store.membership(project, user).await?.is_none() {
            outside.insert(user.0);
        }
    }
    let mut errors = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row {
            if let CellValue::User(u) = value
                && outside.contains(u)
                && errors.len() < MAX_REPORTED
            {
                errors.push(
                    FieldError::new(
                        format!("rows[{r}].{}", csv.columns[*c].as_str()),
                        format!("{u} is not a member of this project"),
                    )
                    .with_code("not_a_member"),
                );
            }
        }
    }
    Ok(errors)
}
