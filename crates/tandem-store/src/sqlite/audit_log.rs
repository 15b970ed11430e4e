//! The audit log in SQLite: the `audit_log` table, written by every tenancy mutation
//! through [`insert_audit`] and read through [`AuditStore`].
//!
//! Rows are only ever inserted; a trigger aborts any `UPDATE`, and they are deleted only
//! by the cascade from their project.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::SqliteConnection;
use tandem_domain::{AuditEntry, AuditFilter, AuditId, ProjectId, UserId};

use super::{SqliteStore, decode_error, decode_id, decode_time, encode_id, encode_time};
use crate::{AuditStore, StoreError};

/// An `audit_log` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    project_id: String,
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
    request_id: Option<String>,
    before: Option<String>,
    after: Option<String>,
    at: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = sqlx::Error;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditEntry {
            id: AuditId(decode_id("audit_log.id", &row.id)?),
            project_id: ProjectId(decode_id("audit_log.project_id", &row.project_id)?),
            actor: UserId(decode_id("audit_log.actor", &row.actor)?),
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            before: decode_state("audit_log.before", row.before.as_deref())?,
            after: decode_state("audit_log.after", row.after.as_deref())?,
            at: decode_time("audit_log.at", &row.at)?,
        })
    }
}

/// Reads a `before` or `after` column: JSON text, or NULL.
fn decode_state(column: &str, text: Option<&str>) -> Result<Option<Value>, sqlx::Error> {
    text.map(|text| serde_json::from_str(text).map_err(|e| decode_error(column, e)))
        .transpose()
}

/// Writes `entry`, inside the transaction of the change it records.
pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log \
         (id, project_id, actor, action, target_type, target_id, request_id, before, after, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(encode_id(entry.id.0))
    .bind(encode_id(entry.project_id.0))
    .bind(encode_id(entry.actor.0))
    .bind(&entry.action)
    .bind(&entry.target_type)
    .bind(&entry.target_id)
    .bind(entry.request_id.as_deref())
    .bind(entry.before.as_ref().map(Value::to_string))
    .bind(entry.after.as_ref().map(Value::to_string))
    .bind(encode_time(entry.at))
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn list_audit(
        &self,
        project: ProjectId,
        filter: &AuditFilter,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // Each filter is skipped when its parameter is NULL, so one statement serves all.
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, project_id, actor, action, target_type, target_id, request_id, \
                    before, after, at \
             FROM audit_log \
             WHERE project_id = ?1 \
               AND (?2 IS NULL OR action = ?2) \
               AND (?3 IS NULL OR actor = ?3) \
               AND (?4 IS NULL OR at >= ?4) \
               AND (?5 IS NULL OR at < ?5) \
               AND (?6 IS NULL OR id > ?6) \
             ORDER BY id \
             LIMIT ?7",
        )
        .bind(encode_id(project.0))
        .bind(filter.action.as_deref())
        .bind(filter.actor.map(|actor| encode_id(actor.0)))
        .bind(filter.since.map(encode_time))
        .bind(filter.until.map(encode_time))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<Result<_, _>>()?)
    }
}
