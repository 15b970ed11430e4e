//! Live tables' fields in PostgreSQL: the `table_fields` rows, each type kept as the
//! JSONB of its serde form.
//!
//! A change to a field first locks its table's row, as table changes do, so a field
//! change and a table change (or the table's deletion) never interleave.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use tandem_domain::{AuditContext, FieldId, ProjectId, TableId};
use tandem_tables::field::{FieldName, FieldType};
use uuid::Uuid;

use super::micros;
use super::projects::insert_audit;
use super::row_ddl;
use super::tables::{set_primary_field, table_for_update};
use crate::audit::entry;
use crate::error::on_write_error;
use crate::{FIELD_NAME_TAKEN, FieldChanges, LiveTable, StoreError, TableField};

/// A `table_fields` row.
#[derive(sqlx::FromRow)]
struct FieldRow {
    id: Uuid,
    table_id: Uuid,
    name: String,
    field_type: Json<FieldType>,
    position: i64,
    indexed: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<FieldRow> for TableField {
    type Error = sqlx::Error;

    fn try_from(row: FieldRow) -> Result<Self, Self::Error> {
        Ok(TableField {
            id: FieldId(row.id),
            table_id: TableId(row.table_id),
            name: FieldName::parse(&row.name).map_err(|e| sqlx::Error::ColumnDecode {
                index: "table_fields.name".to_owned(),
                source: Box::new(e),
            })?,
            field_type: row.field_type.0,
            position: row.position,
            indexed: row.indexed,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns of a [`FieldRow`], in its order.
macro_rules! field_columns {
    () => {
        "id, table_id, name, field_type, position, indexed, created_at, updated_at"
    };
}

/// The field, its row locked if `lock`.
pub(super) async fn field_by_id(
    conn: &mut PgConnection,
    id: FieldId,
    lock: bool,
) -> Result<Option<TableField>, StoreError> {
    let sql = if lock {
        concat!(
            "SELECT ",
            field_columns!(),
            " FROM table_fields WHERE id = $1 FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            field_columns!(),
            " FROM table_fields WHERE id = $1"
        )
    };
    let row: Option<FieldRow> = sqlx::query_as(sql).bind(id.0).fetch_optional(conn).await?;
    Ok(row.map(TableField::try_from).transpose()?)
}

/// The field with its table, both rows locked, and the project they are audited in;
/// `NotFound` if the field does not exist (or was deleted while waiting for the lock).
async fn field_for_update(
    conn: &mut PgConnection,
    id: FieldId,
) -> Result<(TableField, LiveTable, ProjectId), StoreError> {
    // The table is locked before the field, in the order every table change takes.
    let table_id: Option<Uuid> =
        sqlx::query_scalar("SELECT table_id FROM table_fields WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let table_id = TableId(table_id.ok_or(StoreError::NotFound)?);
    let (table, project) = table_for_update(conn, table_id).await?;
    let field = field_by_id(conn, id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((field, table, project))
}

pub(super) async fn create_field(
    pool: &PgPool,
    field: &TableField,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let (_, project) = table_for_update(&mut tx, field.table_id).await?;
    sqlx::query(concat!(
        "INSERT INTO table_fields (",
        field_columns!(),
        ", name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(field.id.0)
    .bind(field.table_id.0)
    .bind(field.name.as_str())
    .bind(Json(&field.field_type))
    .bind(field.position)
    .bind(field.indexed)
    .bind(micros(field.created_at))
    .bind(micros(field.updated_at))
    .bind(field.name.key())
    .execute(&mut *tx)
    .await
    .map_err(on_write_error(FIELD_NAME_TAKEN))?;
    row_ddl::add_field(&mut tx, field).await?;
    let row = entry(
        audit,
        project,
        "field.created",
        ("field", field.id.to_string()),
        None::<&TableField>,
        Some(field),
    )?;
    insert_audit(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_fields(
    pool: &PgPool,
    table: TableId,
) -> Result<Vec<TableField>, StoreError> {
    let rows: Vec<FieldRow> = sqlx::query_as(concat!(
        "SELECT ",
        field_columns!(),
        " FROM table_fields WHERE table_id = $1 ORDER BY position, id"
    ))
    .bind(table.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(TableField::try_from)
        .collect::<Result<_, _>>()?)
}

pub(super) async fn update_field(
    pool: &PgPool,
    id: FieldId,
    changes: &FieldChanges,
    audit: &AuditContext,
) -> Result<TableField, StoreError> {
    let mut tx = pool.begin().await?;
    let (before, _, project) = field_for_update(&mut tx, id).await?;
    // Each part is kept when its parameter is NULL, so one statement serves all.
    let row: FieldRow = sqlx::query_as(concat!(
        "UPDATE table_fields SET name = COALESCE($2, name), name_key = COALESCE($3, name_key), \
         field_type = COALESCE($4, field_type), indexed = COALESCE($5, indexed), \
         position = COALESCE($6, position), updated_at = $7 WHERE id = $1 RETURNING ",
        field_columns!()
    ))
    .bind(id.0)
    .bind(changes.name.as_ref().map(FieldName::as_str))
    .bind(changes.name.as_ref().map(FieldName::key))
    .bind(changes.field_type.as_ref().map(Json))
    .bind(changes.indexed)
    .bind(changes.position)
    .bind(micros(audit.at))
    .fetch_one(&mut *tx)
    .await
    .map_err(on_write_error(FIELD_NAME_TAKEN))?;
    let after = TableField::try_from(row)?;
    row_ddl::change_field(&mut tx, &before, &after, &changes.limits).await?;
    let row = entry(
        audit,
        project,
        "field.updated",
        ("field", id.to_string()),
        Some(&before),
        Some(&after),
    )?;
    insert_audit(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn delete_field(
    pool: &PgPool,
    id: FieldId,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let (before, table, project) = field_for_update(&mut tx, id).await?;
    sqlx::query("DELETE FROM table_fields WHERE id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    row_ddl::drop_field(&mut tx, &before).await?;
    let row = entry(
        audit,
        project,
        "field.deleted",
        ("field", id.to_string()),
        Some(&before),
        None::<&TableField>,
    )?;
    insert_audit(&mut tx, &row).await?;
    // The primary field column has no foreign key, so the store clears it itself.
    if table.primary_field_id == Some(id) {
        let after = set_primary_field(&mut tx, table.id, None, audit).await?;
        let row = entry(
            audit,
            project,
            "table.updated",
            ("table", table.id.to_string()),
            Some(&table),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
    }
    tx.commit().await?;
    Ok(())
}
