//! The `TableStore` of PostgreSQL: the tables' methods here, on the rows and helpers of
//! [`super::tables`]; the fields' methods delegate to [`super::table_fields`].

use super::projects::insert_audit;
use super::tables::{TableRow, is_field_of, project_of, table_columns, table_for_update};
use super::{PgStore, micros};
use super::{row_convert, row_ddl, table_fields};
use crate::audit::entry;
use crate::error::on_write_error;
use crate::{
    FieldChanges, LiveTable, StoreError, TABLE_NAME_TAKEN, TableChanges, TableField, TableStore,
};
use async_trait::async_trait;
use tandem_domain::{AuditContext, Description, FieldId, TableId, WorkspaceId};
use tandem_tables::field::{FieldName, FieldType, Limits};

#[async_trait]
impl TableStore for PgStore {
    async fn create_table(
        &self,
        table: &LiveTable,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        // A new table has no fields, so no primary field can be one of them.
        if table.primary_field_id.is_some() {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.pool.begin().await?;
        let project = project_of(&mut tx, table.workspace_id).await?;
        sqlx::query(concat!(
            "INSERT INTO live_tables (",
            table_columns!(),
            ", name_key) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8)"
        ))
        .bind(table.id.0)
        .bind(table.workspace_id.0)
        .bind(table.name.as_str())
        .bind(table.description.as_str())
        .bind(table.created_by.0)
        .bind(micros(table.created_at))
        .bind(micros(table.updated_at))
        .bind(table.name.key())
        .execute(&mut *tx)
        .await
        .map_err(on_write_error(TABLE_NAME_TAKEN))?;
        row_ddl::create_row_table(&mut tx, table.id).await?;
        let row = entry(
            audit,
            project,
            "table.created",
            ("table", table.id.to_string()),
            None::<&LiveTable>,
            Some(table),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn table_by_id(&self, id: TableId) -> Result<Option<LiveTable>, StoreError> {
        let row: Option<TableRow> = sqlx::query_as(concat!(
            "SELECT ",
            table_columns!(),
            " FROM live_tables WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(LiveTable::try_from).transpose()?)
    }

    async fn list_tables(
        &self,
        workspace: WorkspaceId,
        after: Option<TableId>,
        limit: u32,
    ) -> Result<Vec<LiveTable>, StoreError> {
        let rows: Vec<TableRow> = sqlx::query_as(concat!(
            "SELECT ",
            table_columns!(),
            " FROM live_tables WHERE workspace_id = $1 AND ($2::uuid IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        ))
        .bind(workspace.0)
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(LiveTable::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn update_table(
        &self,
        id: TableId,
        changes: &TableChanges,
        audit: &AuditContext,
    ) -> Result<LiveTable, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (before, project) = table_for_update(&mut tx, id).await?;
        if let Some(Some(field)) = changes.primary_field_id
            && !is_field_of(&mut tx, id, field).await?
        {
            return Err(StoreError::NotFound);
        }
        let primary = changes.primary_field_id.unwrap_or(before.primary_field_id);
        // Each part is kept when its parameter is NULL, so one statement serves all.
        let row: TableRow = sqlx::query_as(concat!(
            "UPDATE live_tables SET name = COALESCE($2, name), name_key = COALESCE($3, name_key), \
             description = COALESCE($4, description), primary_field_id = $5, updated_at = $6 \
             WHERE id = $1 RETURNING ",
            table_columns!()
        ))
        .bind(id.0)
        .bind(changes.name.as_ref().map(FieldName::as_str))
        .bind(changes.name.as_ref().map(FieldName::key))
        .bind(changes.description.as_ref().map(Description::as_str))
        .bind(primary.map(|f| f.0))
        .bind(micros(audit.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(on_write_error(TABLE_NAME_TAKEN))?;
        let after = LiveTable::try_from(row)?;
        let row = entry(
            audit,
            project,
            "table.updated",
            ("table", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_table(&self, id: TableId, audit: &AuditContext) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (before, project) = table_for_update(&mut tx, id).await?;
        // Its fields and its rows' history go by the cascade.
        sqlx::query("DELETE FROM live_tables WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        row_ddl::drop_row_table(&mut tx, id).await?;
        let row = entry(
            audit,
            project,
            "table.deleted",
            ("table", id.to_string()),
            Some(&before),
            None::<&LiveTable>,
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn count_tables(&self, workspace: WorkspaceId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM live_tables WHERE workspace_id = $1")
            .bind(workspace.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn create_field(
        &self,
        field: &TableField,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        table_fields::create_field(&self.pool, field, audit).await
    }

    async fn field_by_id(&self, id: FieldId) -> Result<Option<TableField>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        table_fields::field_by_id(&mut conn, id, false).await
    }

    async fn list_fields(&self, table: TableId) -> Result<Vec<TableField>, StoreError> {
        table_fields::list_fields(&self.pool, table).await
    }

    async fn update_field(
        &self,
        id: FieldId,
        changes: &FieldChanges,
        audit: &AuditContext,
    ) -> Result<TableField, StoreError> {
        table_fields::update_field(&self.pool, id, changes, audit).await
    }

    async fn delete_field(&self, id: FieldId, audit: &AuditContext) -> Result<(), StoreError> {
        table_fields::delete_field(&self.pool, id, audit).await
    }

    async fn count_fields(&self, table: TableId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM table_fields WHERE table_id = $1")
            .bind(table.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn conversion_loss(
        &self,
        id: FieldId,
        to: &FieldType,
        limits: &Limits,
    ) -> Result<u64, StoreError> {
        // One read-only snapshot, so every page of cells sees the same rows.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let field = table_fields::field_by_id(&mut tx, id, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        row_convert::conversion_loss(&mut tx, &field, to, limits).await
    }
}
