//! Live tables' metadata in SQLite: a `live_tables` row and the lookups that the
//! tables' and the fields' writes share (`super::table_store` and `super::table_fields`).

use sqlx::SqliteConnection;
use tandem_domain::{AuditContext, Description, FieldId, ProjectId, TableId, UserId, WorkspaceId};
use tandem_tables::field::FieldName;

use super::{decode_error, decode_id, decode_time, encode_id, encode_time};
use crate::{LiveTable, StoreError};

/// A `live_tables` row as SQLite returns it.
#[derive(sqlx::FromRow)]
pub(super) struct TableRow {
    id: String,
    workspace_id: String,
    name: String,
    description: String,
    primary_field_id: Option<String>,
    created_by: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<TableRow> for LiveTable {
    type Error = sqlx::Error;

    fn try_from(row: TableRow) -> Result<Self, Self::Error> {
        Ok(LiveTable {
            id: TableId(decode_id("live_tables.id", &row.id)?),
            workspace_id: WorkspaceId(decode_id("live_tables.workspace_id", &row.workspace_id)?),
            name: FieldName::parse(&row.name).map_err(|e| decode_error("live_tables.name", e))?,
            description: Description::from_storage(row.description),
            primary_field_id: row
                .primary_field_id
                .map(|id| decode_id("live_tables.primary_field_id", &id).map(FieldId))
                .transpose()?,
            created_by: UserId(decode_id("live_tables.created_by", &row.created_by)?),
            created_at: decode_time("live_tables.created_at", &row.created_at)?,
            updated_at: decode_time("live_tables.updated_at", &row.updated_at)?,
        })
    }
}

/// The columns of a [`TableRow`], in its order.
macro_rules! table_columns {
    () => {
        "id, workspace_id, name, description, primary_field_id, created_by, created_at, updated_at"
    };
}
pub(super) use table_columns;

pub(super) async fn table_by_id(
    conn: &mut SqliteConnection,
    id: TableId,
) -> Result<Option<LiveTable>, StoreError> {
    let row: Option<TableRow> = sqlx::query_as(concat!(
        "SELECT ",
        table_columns!(),
        " FROM live_tables WHERE id = ?"
    ))
    .bind(encode_id(id.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(LiveTable::try_from).transpose()?)
}

/// The project a workspace belongs to, for the audit row; `NotFound` if there is none.
pub(super) async fn project_of(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
) -> Result<ProjectId, StoreError> {
    let project: Option<String> =
        sqlx::query_scalar("SELECT project_id FROM workspaces WHERE id = ?")
            .bind(encode_id(workspace.0))
            .fetch_optional(conn)
            .await?;
    let project = project.ok_or(StoreError::NotFound)?;
    Ok(ProjectId(decode_id("workspaces.project_id", &project)?))
}

/// Sets a table's primary field and `updated_at`, returning the table as it now is.
pub(super) async fn set_primary_field(
    conn: &mut SqliteConnection,
    table: TableId,
    field: Option<FieldId>,
    audit: &AuditContext,
) -> Result<LiveTable, StoreError> {
    let row: TableRow = sqlx::query_as(concat!(
        "UPDATE live_tables SET primary_field_id = ?, updated_at = ? WHERE id = ? \
         RETURNING ",
        table_columns!()
    ))
    .bind(field.map(|f| encode_id(f.0)))
    .bind(encode_time(audit.at))
    .bind(encode_id(table.0))
    .fetch_one(conn)
    .await?;
    Ok(LiveTable::try_from(row)?)
}

/// Whether `field` is one of `table`'s fields.
pub(super) async fn is_field_of(
    conn: &mut SqliteConnection,
    table: TableId,
    field: FieldId,
) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM table_fields WHERE id = ? AND table_id = ?")
            .bind(encode_id(field.0))
            .bind(encode_id(table.0))
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}
