//! Building audit entries, shared by both backends so they record the same thing.

use serde::Serialize;
use tandem_domain::{AuditContext, AuditEntry, AuditId, ProjectId};

use crate::StoreError;

/// The entry for a change to `target` in `project`, with its state before and after.
///
/// Serialising a domain value cannot fail for the types the stores pass (plain structs
/// with string keys); should it, the change is refused rather than logged half-way.
pub(crate) fn entry(
    ctx: &AuditContext,
    project: ProjectId,
    action: &str,
    target: (&str, String),
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: AuditId::new(ctx.at),
        project_id: project,
        actor: ctx.actor,
        action: action.to_owned(),
        target_type: target.0.to_owned(),
        target_id: target.1,
        request_id: ctx.request_id.clone(),
        before: json(before)?,
        after: json(after)?,
        at: ctx.at,
    })
}

fn json(value: Option<&impl Serialize>) -> Result<Option<serde_json::Value>, StoreError> {
    value
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| StoreError::Config(format!("cannot record audit state: {e}")))
}
