//! The row tables' DDL on PostgreSQL (whose DDL is transactional): each function runs
//! inside the transaction of the metadata change it goes with, so a table and its
//! row table, or a field and its column, never exist one without the other.

use sqlx::PgConnection;
use tandem_domain::{ProjectId, TableId, WorkspaceId};
use tandem_tables::field::Limits;
use uuid::Uuid;

use super::row_codec::run;
use super::row_convert::convert_cells;
use crate::rows::conversion::{ColumnChange, column_change};
use crate::rows::ddl;
use crate::rows::dialect::Dialect;
use crate::rows::layout::{field_column, is_stored};
use crate::{StoreError, TableField};

const POSTGRES: Dialect = Dialect::Postgres;

pub(super) async fn create_row_table(
    conn: &mut PgConnection,
    table: TableId,
) -> Result<(), StoreError> {
    run(conn, ddl::create_row_table(POSTGRES, table)).await
}

pub(super) async fn drop_row_table(
    conn: &mut PgConnection,
    table: TableId,
) -> Result<(), StoreError> {
    run(conn, ddl::drop_row_table(table)).await
}

/// Adds a new field's column, and its index when it is indexed; a system field has
/// neither.
pub(super) async fn add_field(
    conn: &mut PgConnection,
    field: &TableField,
) -> Result<(), StoreError> {
    if !is_stored(&field.field_type) {
        return Ok(());
    }
    let kind = field.field_type.sql_kind();
    let column = field_column(field.id);
    run(
        conn,
        ddl::add_column(POSTGRES, field.table_id, &column, kind),
    )
    .await?;
    if field.indexed {
        create_index(conn, field).await?;
    }
    Ok(())
}

/// Drops a deleted field's index and column.
pub(super) async fn drop_field(
    conn: &mut PgConnection,
    field: &TableField,
) -> Result<(), StoreError> {
    if !is_stored(&field.field_type) {
        return Ok(());
    }
    run(conn, ddl::drop_index(field.id)).await?;
    run(
        conn,
        ddl::drop_column(field.table_id, &field_column(field.id)),
    )
    .await
}

/// Brings a field's column in line with its changed metadata: a new type converts the
/// cells (see [`convert_cells`]), `indexed` makes or drops the index. A change between
/// a stored and a system type is refused (see [`column_change`]).
pub(super) async fn change_field(
    conn: &mut PgConnection,
    before: &TableField,
    after: &TableField,
    limits: &Limits,
) -> Result<(), StoreError> {
    let change = column_change(&before.field_type, &after.field_type)?;
    if !is_stored(&after.field_type) {
        return Ok(());
    }
    let replace = change == ColumnChange::Replace;
    // A replaced column loses its index first; it is made afresh on the new column.
    if before.indexed && (!after.indexed || replace) {
        run(conn, ddl::drop_index(before.id)).await?;
    }
    if change != ColumnChange::None {
        convert_cells(conn, before, &after.field_type, limits, change).await?;
    }
    if after.indexed && (!before.indexed || replace) {
        create_index(conn, after).await?;
    }
    Ok(())
}

async fn create_index(conn: &mut PgConnection, field: &TableField) -> Result<(), StoreError> {
    let kind = field.field_type.sql_kind();
    match ddl::create_index(POSTGRES, field.table_id, field.id, kind) {
        Some(sql) => run(conn, sql).await,
        None => Ok(()),
    }
}

/// Drops the row tables of a workspace's live tables, before the workspace's deletion
/// cascades to their metadata. Their `live_tables` rows are locked first, as every
/// schema change locks them, so no write of rows is under way in them.
pub(super) async fn drop_row_tables_of_workspace(
    conn: &mut PgConnection,
    workspace: WorkspaceId,
) -> Result<(), StoreError> {
    let tables: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM live_tables WHERE workspace_id = $1 FOR UPDATE")
            .bind(workspace.0)
            .fetch_all(&mut *conn)
            .await?;
    drop_all(conn, tables).await
}

/// Drops the row tables of every live table in a project's workspaces, locking them as
/// [`drop_row_tables_of_workspace`] does.
pub(super) async fn drop_row_tables_of_project(
    conn: &mut PgConnection,
    project: ProjectId,
) -> Result<(), StoreError> {
    let tables: Vec<Uuid> = sqlx::query_scalar(
        "SELECT t.id FROM live_tables t JOIN workspaces w ON w.id = t.workspace_id \
         WHERE w.project_id = $1 FOR UPDATE OF t",
    )
    .bind(project.0)
    .fetch_all(&mut *conn)
    .await?;
    drop_all(conn, tables).await
}

async fn drop_all(conn: &mut PgConnection, tables: Vec<Uuid>) -> Result<(), StoreError> {
    for table in tables {
        drop_row_table(conn, TableId(table)).await?;
    }
    Ok(())
}
