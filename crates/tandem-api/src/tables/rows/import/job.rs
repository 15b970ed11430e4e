//! `table_import`: the rows of a CSV inserted into a live table, 1,000 per transaction,
//! with progress (`{rows_done, rows_total}`) and one `row.created` event per batch on
//! `table:{id}`. The CSV waits in the job's payload (at most `tables_import_max_bytes`)
//! with the field each column goes to, chosen when the import was requested.
//!
//! Idempotent under retry: row `i`'s id is derived from the job's id and `i`, and a
//! batch whose first row already exists was written by an earlier attempt (a batch is
//! one transaction), so it is skipped. Every cell is checked before the first batch;
//! one refused cell and the attempt writes nothing and fails, naming the cells.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_domain::{Action, AuditContext, Clock, FieldError, FieldId, RowId, TableId, allows};
use tandem_jobs::{Fault, JobContext, JobHandler, Output};
use tandem_store::{NewRow, Store, TableField};
use tandem_tables::bind::Schema;
use tandem_tables::import::parse;
use uuid::Uuid;

use super::super::events::created_in;
use super::super::write::MAX_BATCH;
use super::plan::{check_rows, strangers};
use crate::events::EventPublisher;
use crate::tables::TablesConfig;

/// The kind's name.
pub const KIND: &str = "table_import";

/// A `table_import` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportPayload {
    pub table_id: Uuid,
    /// The field each CSV column goes to, in column order; `null` skips the column.
    pub columns: Vec<Option<Uuid>>,
    /// The CSV, header row included.
    pub csv: String,
}

/// Runs `table_import` jobs: as the user who submitted them, who must still be an
/// editor of the table's project, which must be the job's.
#[derive(Clone)]
pub struct TableImport {
    store: Arc<dyn Store>,
    events: EventPublisher,
    clock: Arc<dyn Clock>,
    config: TablesConfig,
}

impl std::fmt::Debug for TableImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableImport").finish_non_exhaustive()
    }
}

impl TableImport {
    pub fn new(
        store: Arc<dyn Store>,
        events: EventPublisher,
        clock: Arc<dyn Clock>,
        config: TablesConfig,
    ) -> Self {
        Self {
            store,
            events,
            clock,
            config,
        }
    }
}

/// Row `index`'s id in the import `job`: a UUIDv7 with the job's timestamp and
/// counter bits (the first 8 bytes, and the next 30 bits), then the index, so an
/// import's rows sort in file order and two imports never share an id.
pub fn row_id(job: Uuid, index: usize) -> RowId {
    let bytes = job.as_bytes();
    let mut head = [0u8; 8];
    head.copy_from_slice(&bytes[..8]);
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&bytes[8..]);
    let kept = u64::from_be_bytes(tail) & 0x3FFF_FFFF_0000_0000;
    let low = 0x8000_0000_0000_0000 | kept | (index as u64 & 0xFFFF_FFFF);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&head);
    id[8..].copy_from_slice(&low.to_be_bytes());
    RowId(Uuid::from_bytes(id))
}

fn fault(what: &str, e: impl std::fmt::Display) -> Fault {
    Fault::new(format!("{what}: {e}"))
}

fn refused(errors: &[FieldError], count: usize) -> Fault {
    let listed: Vec<String> = errors.iter().take(10).map(ToString::to_string).collect();
    Fault::new(format!(
        "{count} cells are refused, nothing was imported: {}",
        listed.join("; ")
    ))
}

#[async_trait]
impl JobHandler for TableImport {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>> {
        let parsed: ImportPayload = serde_json::from_value(payload.clone())
            .map_err(|e| vec![FieldError::new("payload", e.to_string())])?;
        let max = self.config.import_max_bytes;
        if parsed.csv.len() > max {
            return Err(vec![FieldError::new(
                "payload.csv",
                format!("must be at most {max} bytes"),
            )]);
        }
        serde_json::to_value(parsed).map_err(|e| vec![FieldError::new("payload", e.to_string())])
    }

    async fn run(&self, ctx: &JobContext, payload: Value) -> Result<Output, Fault> {
        let payload: ImportPayload =
            serde_json::from_value(payload).map_err(|e| fault("reading the payload", e))?;
        let store = self.store.as_ref();
        let table_id = TableId(payload.table_id);
        let table = store
            .table_by_id(table_id)
            .await
            .map_err(|e| fault("reading the table", e))?
            .ok_or_else(|| Fault::new("the table no longer exists"))?;
        let workspace = store
            .workspace_by_id(table.workspace_id)
            .await
            .map_err(|e| fault("reading the workspace", e))?
            .ok_or_else(|| Fault::new("the table no longer exists"))?;
        if workspace.project_id != ctx.job.project_id {
            return Err(Fault::new("the table is not in this job's project"));
        }
        let actor = ctx
            .job
            .created_by
            .ok_or_else(|| Fault::new("the job's submitter no longer exists"))?;
        let member = store
            .membership(ctx.job.project_id, actor)
            .await
            .map_err(|e| fault("reading the membership", e))?;
        if !member.is_some_and(|m| allows(m.role, Action::EditTables)) {
            return Err(Fault::new("the job's submitter may not edit this table"));
        }
        let fields = store
            .list_fields(table_id)
            .await
            .map_err(|e| fault("reading the fields", e))?;
        let csv = parse(payload.csv.as_bytes()).map_err(|e| fault("reading the CSV", e))?;
        if payload.columns.len() != csv.columns.len() {
            return Err(Fault::new("the payload names a field for each CSV column"));
        }
        let targets: Vec<Option<&TableField>> = payload
            .columns
            .iter()
            .map(|id| match id {
                None => Ok(None),
                Some(id) => fields
                    .iter()
                    .find(|f| f.id.0 == *id && !f.field_type.is_read_only())
                    .map(Some)
                    .ok_or_else(|| Fault::new(format!("field {id} is gone or read-only"))),
            })
            .collect::<Result<_, _>>()?;
        let types: Vec<_> = targets.iter().map(|t| t.map(|f| &f.field_type)).collect();
        let (checked, errors, count) = check_rows(&csv, &types, &self.config.limits);
        if count > 0 {
            return Err(refused(&errors, count));
        }
        let outside = strangers(store, ctx.job.project_id, &csv, &checked)
            .await
            .map_err(|e| fault("reading memberships", e))?;
        if !outside.is_empty() {
            return Err(refused(&outside, outside.len()));
        }
        let schema = Schema::new(fields.iter().map(TableField::def).collect());
        let total = checked.len();
        let mut done = 0;
        let mut skipped = 0;
        ctx.progress(json!({"rows_done": 0, "rows_total": total}));
        for (b, batch) in checked.chunks(MAX_BATCH).enumerate() {
            if ctx.stop.is_cancelled() {
                return Err(Fault::new("stopped before the import finished"));
            }
            let first = b * MAX_BATCH;
            let exists = store
                .row_by_id(table_id, &fields, row_id(ctx.job.id.0, first), true)
                .await
                .map_err(|e| fault("looking for an earlier attempt's rows", e))?;
            if exists.is_some() {
                skipped += batch.len();
            } else {
                let rows: Vec<NewRow> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, cells)| NewRow {
                        id: row_id(ctx.job.id.0, first + i),
                        cells: cells
                            .iter()
                            .filter_map(|(c, v)| targets[*c].map(|f| (FieldId(f.id.0), v.clone())))
                            .collect(),
                    })
                    .collect();
                let audit = AuditContext {
                    actor,
                    request_id: None,
                    at: self.clock.now(),
                };
                let stored = store
                    .insert_rows(table_id, &fields, &rows, &audit)
                    .await
                    .map_err(|e| fault("inserting rows", e))?;
                created_in(&self.events, actor, &table, &schema, &stored);
            }
            done += batch.len();
            ctx.progress(json!({"rows_done": done, "rows_total": total}));
        }
        Ok(Output::result(json!({
            "table_id": table_id.0,
            "rows_imported": total - skipped,
            "rows_already_imported": skipped,
            "rows_total": total,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_follow_the_index_and_differ_between_jobs() {
        let job = Uuid::now_v7();
        let ids: Vec<RowId> = (0..3000).map(|i| row_id(job, i)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].0.get_version_num(), 7);
        assert_eq!(row_id(job, 5), row_id(job, 5));
        assert_ne!(row_id(Uuid::now_v7(), 5), row_id(job, 5));
    }
}
