//! Live tables' fields in SQLite: the `table_fields` rows, each type kept as the JSON
//! text of its serde form.

use sqlx::{SqliteConnection, SqlitePool};
use tandem_domain::{AuditContext, FieldId, ProjectId, TableId};
use tandem_tables::field::{FieldName, FieldType};

use super::audit_log::insert_audit;
use super::row_ddl;
use super::tables::{project_of, set_primary_field, table_by_id};
use super::{BEGIN_WRITE, decode_error, decode_id, decode_time, encode_id, encode_time};
use crate::error::on_write_error;
use crate::{FIELD_NAME_TAKEN, FieldChanges, LiveTable, StoreError, TableField, audit};

/// A `table_fields` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct FieldRow {
    id: String,
    table_id: String,
    name: String,
    field_type: String,
    position: i64,
    indexed: bool,
    created_at: String,
    updated_at: String,
}

impl TryFrom<FieldRow> for TableField {
    type Error = sqlx::Error;

    fn try_from(row: FieldRow) -> Result<Self, Self::Error> {
        Ok(TableField {
            id: FieldId(decode_id("table_fields.id", &row.id)?),
            table_id: TableId(decode_id("table_fields.table_id", &row.table_id)?),
            name: FieldName::parse(&row.name).map_err(|e| decode_error("table_fields.name", e))?,
            field_type: serde_json::from_str(&row.field_type)
                .map_err(|e| decode_error("table_fields.field_type", e))?,
            position: row.position,
            indexed: row.indexed,
            created_at: decode_time("table_fields.created_at", &row.created_at)?,
            updated_at: decode_time("table_fields.updated_at", &row.updated_at)?,
        })
    }
}

/// The columns of a [`FieldRow`], in its order.
macro_rules! field_columns {
    () => {
        "id, table_id, name, field_type, position, indexed, created_at, updated_at"
    };
}

/// A field type as the JSON text the column holds.
fn encode_type(field_type: &FieldType) -> Result<String, StoreError> {
    serde_json::to_string(field_type)
        .map_err(|e| StoreError::Config(format!("cannot store a field type: {e}")))
}

pub(super) async fn field_by_id(
    conn: &mut SqliteConnection,
    id: FieldId,
) -> Result<Option<TableField>, StoreError> {
    let row: Option<FieldRow> = sqlx::query_as(concat!(
        "SELECT ",
        field_columns!(),
        " FROM table_fields WHERE id = ?"
    ))
    .bind(encode_id(id.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(TableField::try_from).transpose()?)
}

/// A table with the project it is audited in; `NotFound` if there is no such table.
async fn table_and_project(
    conn: &mut SqliteConnection,
    table: TableId,
) -> Result<(LiveTable, ProjectId), StoreError> {
    let table = table_by_id(conn, table)
        .await?
        .ok_or(StoreError::NotFound)?;
    let project = project_of(conn, table.workspace_id).await?;
    Ok((table, project))
}

pub(super) async fn create_field(
    pool: &SqlitePool,
    field: &TableField,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    let field_type = encode_type(&field.field_type)?;
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let (_, project) = table_and_project(&mut tx, field.table_id).await?;
    sqlx::query(concat!(
        "INSERT INTO table_fields (",
        field_columns!(),
        ", name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(encode_id(field.id.0))
    .bind(encode_id(field.table_id.0))
    .bind(field.name.as_str())
    .bind(field_type)
    .bind(field.position)
    .bind(field.indexed)
    .bind(encode_time(field.created_at))
    .bind(encode_time(field.updated_at))
    .bind(field.name.key())
    .execute(&mut *tx)
    .await
    .map_err(on_write_error(FIELD_NAME_TAKEN))?;
    row_ddl::add_field(&mut tx, field).await?;
    let entry = audit::entry(
        audit,
        project,
        "field.created",
        ("field", field.id.to_string()),
        None::<&TableField>,
        Some(field),
    )?;
    insert_audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_fields(
    pool: &SqlitePool,
    table: TableId,
) -> Result<Vec<TableField>, StoreError> {
    let rows: Vec<FieldRow> = sqlx::query_as(concat!(
        "SELECT ",
        field_columns!(),
        " FROM table_fields WHERE table_id = ? ORDER BY position, id"
    ))
    .bind(encode_id(table.0))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(TableField::try_from)
        .collect::<Result<_, _>>()?)
}

pub(super) async fn update_field(
    pool: &SqlitePool,
    id: FieldId,
    changes: &FieldChanges,
    audit: &AuditContext,
) -> Result<TableField, StoreError> {
    let field_type = changes.field_type.as_ref().map(encode_type).transpose()?;
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let before = field_by_id(&mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let (_, project) = table_and_project(&mut tx, before.table_id).await?;
    // Each part is kept when its parameter is NULL, so one statement serves all.
    let row: FieldRow = sqlx::query_as(concat!(
        "UPDATE table_fields SET name = COALESCE(?1, name), name_key = COALESCE(?2, name_key), \
         field_type = COALESCE(?3, field_type), indexed = COALESCE(?4, indexed), \
         position = COALESCE(?5, position), updated_at = ?6 WHERE id = ?7 RETURNING ",
        field_columns!()
    ))
    .bind(changes.name.as_ref().map(FieldName::as_str))
    .bind(changes.name.as_ref().map(FieldName::key))
    .bind(field_type)
    .bind(changes.indexed)
    .bind(changes.position)
    .bind(encode_time(audit.at))
    .bind(encode_id(id.0))
    .fetch_one(&mut *tx)
    .await
    .map_err(on_write_error(FIELD_NAME_TAKEN))?;
    let after = TableField::try_from(row)?;
    row_ddl::change_field(&mut tx, &before, &after, &changes.limits).await?;
    let entry = audit::entry(
        audit,
        project,
        "field.updated",
        ("field", id.to_string()),
        Some(&before),
        Some(&after),
    )?;
    insert_audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn delete_field(
    pool: &SqlitePool,
    id: FieldId,
    audit: &AuditContext,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let before = field_by_id(&mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let (table, project) = table_and_project(&mut tx, before.table_id).await?;
    sqlx::query("DELETE FROM table_fields WHERE id = ?")
        .bind(encode_id(id.0))
        .execute(&mut *tx)
        .await?;
    row_ddl::drop_field(&mut tx, &before).await?;
    let entry = audit::entry(
        audit,
        project,
        "field.deleted",
        ("field", id.to_string()),
        Some(&before),
        None::<&TableField>,
    )?;
    insert_audit(&mut tx, &entry).await?;
    // The primary field column has no foreign key, so the store clears it itself.
    if table.primary_field_id == Some(id) {
        let after = set_primary_field(&mut tx, table.id, None, audit).await?;
        let entry = audit::entry(
            audit,
            project,
            "table.updated",
            ("table", table.id.to_string()),
            Some(&table),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(())
}
