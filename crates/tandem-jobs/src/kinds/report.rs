//! `report`: a project's activity over a period, from its audit log: who changed what,
//! as a Markdown summary and a CSV of every entry, kept as the job's artifacts. The
//! period ends at the job's submission unless the payload says otherwise, so a re-run
//! writes the same report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_domain::{AuditEntry, AuditFilter, FieldError, UserId};
use tandem_store::{Artifact, Store};

use crate::handler::{Fault, JobContext, JobHandler, Output};

/// The longest period a report covers.
const MAX_DAYS: i64 = 366;
/// Entries read per page, and at most in all.
const PAGE: u32 = 500;
const MAX_ENTRIES: usize = 100_000;
/// Latest changes listed in the Markdown summary.
const LATEST: usize = 50;

/// A `report` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportPayload {
    /// Start of the period (default: seven days before its end).
    pub from: Option<DateTime<Utc>>,
    /// End of the period (default: when the job was submitted).
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Report {
    store: Arc<dyn Store>,
}

impl Report {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    async fn entries(
        &self,
        ctx: &JobContext,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEntry>, bool), Fault> {
        let mut entries = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_audit(ctx.job.project_id, filter, after, PAGE)
                .await
                .map_err(|e| Fault::new(format!("reading the audit log: {e}")))?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|e| e.id);
            entries.extend(page);
            ctx.progress(json!({ "entries_read": entries.len() }));
            if entries.len() >= MAX_ENTRIES {
                entries.truncate(MAX_ENTRIES);
                return Ok((entries, true));
            }
            if !full {
                return Ok((entries, false));
            }
        }
    }

    async fn names(&self, entries: &[AuditEntry]) -> HashMap<UserId, String> {
        let mut names = HashMap::new();
        for entry in entries {
            if names.contains_key(&entry.actor) {
                continue;
            }
            let name = match self.store.user_by_id(entry.actor).await {
                Ok(Some(user)) => user.name.as_str().to_owned(),
                _ => "(deleted account)".to_owned(),
            };
            names.insert(entry.actor, name);
        }
        names
    }
}

fn period(payload: &ReportPayload, submitted: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = payload.to.unwrap_or(submitted);
    let from = payload.from.unwrap_or(to - Duration::days(7));
    (from, to)
}

#[async_trait]
impl JobHandler for Report {
    fn kind(&self) -> &'static str {
        "report"
    }

    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>> {
        let parsed: ReportPayload = serde_json::from_value(payload.clone())
            .map_err(|e| vec![FieldError::new("payload", e.to_string())])?;
        if let (Some(from), Some(to)) = (parsed.from, parsed.to) {
            if from >= to {
                return Err(vec![FieldError::new(
                    "payload.from",
                    "must be before payload.to",
                )]);
            }
            if to - from > Duration::days(MAX_DAYS) {
                return Err(vec![FieldError::new(
                    "payload",
                    "the period must be at most 366 days",
                )]);
            }
        }
        serde_json::to_value(parsed).map_err(|e| vec![FieldError::new("payload", e.to_string())])
    }

    async fn run(&self, ctx: &JobContext, payload: Value) -> Result<Output, Fault> {
        let payload: ReportPayload = serde_json::from_value(payload)
            .map_err(|e| Fault::new(format!("stored payload does not parse: {e}")))?;
        let (from, to) = period(&payload, ctx.job.created_at);
        let filter = AuditFilter {
            since: Some(from),
            // `until` excludes its instant; the report includes the end of its period.
            until: Some(to + Duration::microseconds(1)),
            ..AuditFilter::default()
        };
        let (entries, truncated) = self.entries(ctx, &filter).await?;
        let names = self.names(&entries).await;
        let mut by_actor: BTreeMap<(String, UserId), usize> = BTreeMap::new();
        let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in &entries {
            let name = names.get(&entry.actor).cloned().unwrap_or_default();
            *by_actor.entry((name, entry.actor)).or_default() += 1;
            *by_action.entry(entry.action.as_str()).or_default() += 1;
        }
        let csv =
            csv_of(&entries, &names).map_err(|e| Fault::new(format!("writing the CSV: {e}")))?;
        let markdown = markdown_of(
            &entries,
            &names,
            &by_actor,
            &by_action,
            (from, to),
            truncated,
        );
        let result = json!({
            "from": from,
            "to": to,
            "entries": entries.len(),
            "truncated": truncated,
            "actors": by_actor.iter().map(|((name, id), count)| json!({"user_id": id, "name": name, "changes": count})).collect::<Vec<_>>(),
            "actions": by_action.iter().map(|(action, count)| json!({"action": action, "count": count})).collect::<Vec<_>>(),
            "artifacts": ["report.md", "report.csv"],
        });
        Ok(Output {
            result,
            artifacts: vec![
                Artifact {
                    name: "report.md".into(),
                    content_type: "text/markdown; charset=utf-8".into(),
                    data: markdown.into_bytes(),
                },
                Artifact {
                    name: "report.csv".into(),
                    content_type: "text/csv; charset=utf-8".into(),
                    data: csv,
                },
            ],
        })
    }
}

fn csv_of(entries: &[AuditEntry], names: &HashMap<UserId, String>) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "at",
        "actor_id",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "request_id",
    ])?;
    for e in entries {
        writer.write_record([
            e.at.to_rfc3339().as_str(),
            e.actor.to_string().as_str(),
            names.get(&e.actor).map_or("", String::as_str),
            e.action.as_str(),
            e.target_type.as_str(),
            e.target_id.as_str(),
            e.request_id.as_deref().unwrap_or(""),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn markdown_of(
    entries: &[AuditEntry],
    names: &HashMap<UserId, String>,
    by_actor: &BTreeMap<(String, UserId), usize>,
    by_action: &BTreeMap<&str, usize>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    truncated: bool,
) -> String {
    let mut md = format!(
        "# Project activity\n\nFrom {} to {}: {} change{}.\n",
        from.to_rfc3339(),
        to.to_rfc3339(),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    if truncated {
        md.push_str(&format!(
            "\nOnly the first {MAX_ENTRIES} changes are included.\n"
        ));
    }
    md.push_str("\n## Who\n\n| Member | Changes |\n| --- | ---: |\n");
    for ((name, _), count) in by_actor {
        md.push_str(&format!("| {} | {count} |\n", cell(name)));
    }
    md.push_str("\n## What\n\n| Action | Count |\n| --- | ---: |\n");
    for (action, count) in by_action {
        md.push_str(&format!("| `{}` | {count} |\n", cell(action)));
    }
    md.push_str(
        "\n## Latest changes\n\n| When | Who | Action | Target |\n| --- | --- | --- | --- |\n",
    );
    for e in entries.iter().rev().take(LATEST) {
        let who = names.get(&e.actor).map_or("", String::as_str);
        md.push_str(&format!(
            "| {} | {} | `{}` | {} {} |\n",
            e.at.to_rfc3339(),
            cell(who),
            cell(&e.action),
            cell(&e.target_type),
            cell(&e.target_id)
        ));
    }
    md
}
