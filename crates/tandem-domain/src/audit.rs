//! The audit log: who changed what in a project, when, from which request, with the
//! state before and after. Written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::{AuditId, ProjectId, UserId};

/// Who is acting, for the audit row every mutation writes.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: UserId,
    /// The `x-request-id` of the request that made the change.
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub project_id: ProjectId,
    pub actor: UserId,
    /// What happened, e.g. `project.updated`, `member.role_changed`.
    pub action: String,
    /// What it happened to: `project`, `member`, `workspace`, `invitation`.
    pub target_type: String,
    pub target_id: String,
    pub request_id: Option<String>,
    /// The target before the change (absent on creation); never holds secrets.
    pub before: Option<Value>,
    /// The target after the change (absent on deletion).
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
}

/// Filters for listing a project's audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<UserId>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}
