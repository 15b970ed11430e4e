//! The row events of the `table:{id}` channel, published after the write commits: one
//! event per call however many rows it wrote, carrying each row's new version and, for
//! updates, only the cells that changed. Cells are keyed by field id, which renames do
//! not change.

use serde_json::{Map, Value};
use tandem_domain::{DomainEvent, LiveTable, RowDelta, RowsEvent, UserId};
use tandem_store::{RowChange, StoredRow};
use tandem_tables::bind::Schema;
use tandem_tables::query::FieldsBy;

use super::scope::{RowScope, row_view};
use crate::events::EventPublisher;
use crate::state::AppState;

/// Rows were created: every cell of each.
pub fn created(state: &AppState, scope: &RowScope, rows: &[StoredRow]) {
    created_in(
        &state.events,
        scope.table.access.user_id,
        &scope.table.table,
        &scope.schema,
        rows,
    );
}

/// Rows were created in `table`, whose fields are `schema`, by `actor` (a request, or a
/// job acting for the user who submitted it): every cell of each.
pub(crate) fn created_in(
    events: &EventPublisher,
    actor: UserId,
    table: &LiveTable,
    schema: &Schema,
    rows: &[StoredRow],
) {
    let deltas = rows.iter().map(|row| whole(schema, row)).collect();
    publish(events, actor, table, DomainEvent::RowsCreated, deltas);
}

/// Rows were updated: each row that really changed, with only its changed cells.
pub fn updated(state: &AppState, scope: &RowScope, changes: &[RowChange]) {
    let deltas: Vec<RowDelta> = changes
        .iter()
        .filter(|change| !change.before.is_empty())
        .map(|change| {
            let mut delta = whole(&scope.schema, &change.row);
            delta
                .fields
                .retain(|key, _| change.before.keys().any(|f| f.to_string() == *key));
            delta
        })
        .collect();
    if !deltas.is_empty() {
        publish_for(state, scope, DomainEvent::RowsUpdated, deltas);
    }
}

/// Rows went to the trash: their ids and versions, no cells.
pub fn deleted(state: &AppState, scope: &RowScope, rows: &[StoredRow]) {
    let deltas = rows
        .iter()
        .map(|row| RowDelta {
            fields: Map::new(),
            ..whole_head(row)
        })
        .collect();
    publish_for(state, scope, DomainEvent::RowsDeleted, deltas);
}

/// Rows came back from the trash: every cell of each.
pub fn restored(state: &AppState, scope: &RowScope, rows: &[StoredRow]) {
    let deltas = rows.iter().map(|row| whole(&scope.schema, row)).collect();
    publish_for(state, scope, DomainEvent::RowsRestored, deltas);
}

fn publish_for(
    state: &AppState,
    scope: &RowScope,
    event: fn(RowsEvent) -> DomainEvent,
    rows: Vec<RowDelta>,
) {
    let actor = scope.table.access.user_id;
    publish(&state.events, actor, &scope.table.table, event, rows);
}

fn publish(
    events: &EventPublisher,
    actor: UserId,
    table: &LiveTable,
    event: fn(RowsEvent) -> DomainEvent,
    rows: Vec<RowDelta>,
) {
    let payload = RowsEvent {
        table_id: table.id,
        workspace_id: table.workspace_id,
        rows,
    };
    events.publish(actor, event(payload));
}

/// A row with every cell the schema has, keyed by field id.
fn whole(schema: &Schema, row: &StoredRow) -> RowDelta {
    let view = row_view(schema.fields(), row, FieldsBy::Id);
    RowDelta {
        fields: view.fields,
        ..whole_head(row)
    }
}

fn whole_head(row: &StoredRow) -> RowDelta {
    RowDelta {
        id: row.id,
        version: row.version,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
        fields: Map::<String, Value>::new(),
    }
}
