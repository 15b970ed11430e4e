//! The `RowStore` of PostgreSQL: rows in their row tables (see `crate::rows::layout`), with
//! the writes in [`super::row_writes`], the trash in [`super::row_trash`] and history in
//! [`super::row_history`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use tandem_domain::{AuditContext, RowId, TableId};

use super::row_codec::{decode_row, ensure_table};
use super::{PgStore, row_history, row_trash, row_writes};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::statements;
use crate::rows::{
    NewRow, RowAction, RowChange, RowHistoryEntry, RowPatch, RowStore, RowWriteError, StoredRow,
};
use crate::{StoreError, TableField};

#[async_trait]
impl RowStore for PgStore {
    async fn insert_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        rows: &[NewRow],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError> {
        row_writes::insert_rows(&self.pool, table, fields, rows, audit).await
    }

    async fn update_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        patches: &[RowPatch],
        audit: &AuditContext,
    ) -> Result<Vec<RowChange>, RowWriteError> {
        row_writes::update_rows(&self.pool, table, fields, patches, audit).await
    }

    async fn trash_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        ids: &[RowId],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError> {
        row_trash::move_rows(&self.pool, table, fields, ids, RowAction::Trashed, audit).await
    }

    async fn restore_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        ids: &[RowId],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError> {
        row_trash::move_rows(&self.pool, table, fields, ids, RowAction::Restored, audit).await
    }

    async fn row_by_id(
        &self,
        table: TableId,
        fields: &[TableField],
        id: RowId,
        trashed: bool,
    ) -> Result<Option<StoredRow>, StoreError> {
        let stored = StoredFields::of(fields);
        let mut conn = self.pool.acquire().await?;
        ensure_table(&mut conn, table, false).await?;
        let sql = statements::row_by_id(Dialect::Postgres, table, &stored, false);
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
        let row = row.map(|row| decode_row(&row, &stored)).transpose()?;
        Ok(row.filter(|row| trashed || row.deleted_at.is_none()))
    }

    async fn list_trash(
        &self,
        table: TableId,
        fields: &[TableField],
        after: Option<(DateTime<Utc>, RowId)>,
        limit: u32,
    ) -> Result<Vec<StoredRow>, StoreError> {
        row_trash::list_trash(&self.pool, table, fields, after, limit).await
    }

    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        row_trash::purge_trash(&self.pool, before).await
    }

    async fn row_history(
        &self,
        table: TableId,
        id: RowId,
        before_version: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RowHistoryEntry>, StoreError> {
        row_history::row_history(&self.pool, table, id, before_version, limit).await
    }
}
