//! Live tables' metadata in PostgreSQL: a `live_tables` row and the lookups that the
//! tables' and the fields' writes share (`super::table_store` and `super::table_fields`).
//!
//! Every change locks the table's row first (`FOR UPDATE`), so concurrent changes to a
//! table, or to its fields, each see the state the one before left.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{AuditContext, Description, FieldId, ProjectId, TableId, UserId, WorkspaceId};
use tandem_tables::field::FieldName;
use uuid::Uuid;

use super::micros;
use crate::{LiveTable, StoreError};

/// A `live_tables` row.
#[derive(sqlx::FromRow)]
pub(super) struct TableRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: String,
    primary_field_id: Option<Uuid>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TableRow> for LiveTable {
    type Error = sqlx::Error;

    fn try_from(row: TableRow) -> Result<Self, Self::Error> {
        Ok(LiveTable {
            id: TableId(row.id),
            workspace_id: WorkspaceId(row.workspace_id),
            name: FieldName::parse(&row.name).map_err(|e| sqlx::Error::ColumnDecode {
                index: "live_tables.name".to_owned(),
                source: Box::new(e),
            })?,
            description: Description::from_storage(row.description),
            primary_field_id: row.primary_field_id.map(FieldId),
            created_by: UserId(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
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

/// The table, its row locked, with the project it is audited in; `NotFound` if there
/// is none.
pub(super) async fn table_for_update(
    conn: &mut PgConnection,
    id: TableId,
) -> Result<(LiveTable, ProjectId), StoreError> {
    let row: Option<TableRow> = sqlx::query_as(concat!(
        "SELECT ",
        table_columns!(),
        " FROM live_tables WHERE id = $1 FOR UPDATE"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let table = LiveTable::try_from(row.ok_or(StoreError::NotFound)?)?;
    let project = project_of(conn, table.workspace_id).await?;
    Ok((table, project))
}

/// The project a workspace belongs to; `NotFound` if there is no such workspace.
pub(super) async fn project_of(
    conn: &mut PgConnection,
    workspace: WorkspaceId,
) -> Result<ProjectId, StoreError> {
    let project: Option<Uuid> =
        sqlx::query_scalar("SELECT project_id FROM workspaces WHERE id = $1")
            .bind(workspace.0)
            .fetch_optional(conn)
            .await?;
    project.map(ProjectId).ok_or(StoreError::NotFound)
}

/// Sets a table's primary field and `updated_at`, returning the table as it now is.
pub(super) async fn set_primary_field(
    conn: &mut PgConnection,
    table: TableId,
    field: Option<FieldId>,
    audit: &AuditContext,
) -> Result<LiveTable, StoreError> {
    let row: TableRow = sqlx::query_as(concat!(
        "UPDATE live_tables SET primary_field_id = $2, updated_at = $3 WHERE id = $1 RETURNING ",
        table_columns!()
    ))
    .bind(table.0)
    .bind(field.map(|f| f.0))
    .bind(micros(audit.at))
    .fetch_one(conn)
    .await?;
    Ok(LiveTable::try_from(row)?)
}

/// Whether `field` is one of `table`'s fields.
pub(super) async fn is_field_of(
    conn: &mut PgConnection,
    table: TableId,
    field: FieldId,
) -> Result<bool, StoreError> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM table_fields WHERE id = $1 AND table_id = $2")
            .bind(field.0)
            .bind(table.0)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}
