//! `RowScope`: a table named in the path with its fields, the caller's standing, and
//! the shapes every row endpoint shares: a stored row as JSON, and written cells checked
//! against the fields (a user cell must name a member of the project).

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Map, Value};
use tandem_domain::{Action, FieldError, FieldId, UserId};
use tandem_store::{StoredRow, TableField};
use tandem_tables::bind::{FieldDef, Schema};
use tandem_tables::field::{CellValue, FieldType};
use tandem_tables::query::FieldsBy;
use tandem_tables::row::{cell_json, read_cells, render_cells};

use super::dto::RowView;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tables::access::TableAccess;

/// A table, its fields and the caller, loaded once per request.
#[derive(Debug, Clone)]
pub struct RowScope {
    pub table: TableAccess,
    pub fields: Vec<TableField>,
    pub schema: Schema,
}

impl RowScope {
    /// Loads the table's fields for a caller who may read it.
    pub async fn load(state: &AppState, table: TableAccess) -> Result<Self, ApiError> {
        table.access.require(Action::ReadTables)?;
        let fields = state.store.list_fields(table.table.id).await?;
        let schema = Schema::new(fields.iter().map(TableField::def).collect());
        Ok(Self {
            table,
            fields,
            schema,
        })
    }

    /// Asks the policy for a write.
    pub fn require_edit(&self) -> Result<(), ApiError> {
        self.table.access.require(Action::EditTables)
    }

    /// A stored row as the API shows it, with `fields` (the schema's when `None`) keyed
    /// the way the caller asked.
    pub fn view(&self, row: &StoredRow, fields: Option<&[FieldDef]>, by: FieldsBy) -> RowView {
        row_view(fields.unwrap_or(self.schema.fields()), row, by)
    }

    /// Checks written rows' cells: every key a field, every value valid for it, every
    /// user a member of the project. All errors are reported together, each naming
    /// its cell (`fields.{key}`, or `rows[i].fields.{key}` in a list) with its code.
    pub async fn check(
        &self,
        state: &AppState,
        written: Vec<(String, Map<String, Value>)>,
    ) -> Result<Vec<Vec<(FieldId, CellValue)>>, ApiError> {
        let limits = state.config.tables.limits;
        let mut checked = Vec::with_capacity(written.len());
        let mut errors = Vec::new();
        let mut paths = Vec::with_capacity(written.len());
        for (path, cells) in written {
            match read_cells(&self.schema, cells, &limits) {
                Ok(cells) => {
                    checked.push(cells.into_iter().map(|(id, v)| (FieldId(id), v)).collect());
                    paths.push(path);
                }
                Err(found) => errors.extend(found.iter().map(|e| {
                    FieldError::new(cell_path(&path, e.key()), e.to_string()).with_code(e.code())
                })),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let strangers = self.strangers(state, &checked).await?;
        if !strangers.is_empty() {
            for (path, cells) in paths.iter().zip(&checked) {
                for (field, value) in cells {
                    if let CellValue::User(u) = value
                        && strangers.contains(&UserId(*u))
                    {
                        let name = self
                            .schema
                            .by_id(field.0)
                            .map_or_else(|| field.to_string(), |f| f.name.as_str().to_owned());
                        errors.push(
                            FieldError::new(
                                cell_path(path, &name),
                                format!("{u} is not a member of this project"),
                            )
                            .with_code("not_a_member"),
                        );
                    }
                }
            }
            return Err(ApiError::Validation(errors));
        }
        Ok(checked)
    }

    /// The users named in user cells who are not members of the table's project.
    async fn strangers(
        &self,
        state: &AppState,
        cells: &[Vec<(FieldId, CellValue)>],
    ) -> Result<BTreeSet<UserId>, ApiError> {
        let named: BTreeSet<UserId> = cells
            .iter()
            .flatten()
            .filter_map(|(_, v)| match v {
                CellValue::User(u) => Some(UserId(*u)),
                _ => None,
            })
            .collect();
        let mut strangers = BTreeSet::new();
        for user in named {
            let member = state
                .store
                .membership(self.table.access.project_id, user)
                .await?;
            if member.is_none() {
                strangers.insert(user);
            }
        }
        Ok(strangers)
    }
}

/// Where a cell is in a request body: `fields.{key}` for a body that is one row,
/// `rows[i].fields.{key}` in a list.
fn cell_path(row: &str, key: &str) -> String {
    if row.is_empty() {
        format!("fields.{key}")
    } else {
        format!("{row}.fields.{key}")
    }
}

/// A stored row as the API shows it, with the cells of `fields` keyed as asked.
pub(crate) fn row_view(fields: &[FieldDef], row: &StoredRow, by: FieldsBy) -> RowView {
    let cells = render_cells(fields, by, |field| system_or_cell(row, field));
    RowView::new(row, cells)
}

/// A field's value in a row: the system column for a system field, else its cell.
fn system_or_cell(row: &StoredRow, field: &FieldDef) -> Value {
    match field.field_type {
        FieldType::Autonumber => Value::from(row.autonumber),
        FieldType::CreatedAt => CellValue::Datetime(row.created_at).to_json(),
        FieldType::UpdatedAt => CellValue::Datetime(row.updated_at).to_json(),
        FieldType::CreatedBy => Value::String(row.created_by.to_string()),
        FieldType::UpdatedBy => Value::String(row.updated_by.to_string()),
        _ => cell_json(row.cells.get(&FieldId(field.id))),
    }
}

impl FromRequestParts<AppState> for RowScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let table = TableAccess::from_request_parts(parts, state).await?;
        Self::load(state, table).await
    }
}
