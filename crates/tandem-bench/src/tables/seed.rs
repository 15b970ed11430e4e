//! Tables for the `tables` scenario: a table with a mix of field types, filled with
//! deterministic rows over REST in 1,000-row calls, and the timed reads made of it.

use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};

use serde_json::{Value, json};

use crate::fixture::{Fixture, text};
use crate::target::Target;

/// Rows per call, the API's most.
const BATCH: usize = 1_000;

/// A table the scenario made, and its field names in order.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub id: String,
    pub fields: Vec<(String, &'static str)>,
}

/// The types the fields cycle through: text-heavy, as tables are.
const TYPES: [&str; 10] = [
    "text",
    "number",
    "single_select",
    "text",
    "date",
    "boolean",
    "number",
    "datetime",
    "long_text",
    "email",
];

impl Sheet {
    /// A table of `width` fields: `Category` (single select, indexed), `Amount` (number,
    /// indexed), `Score` (number, not indexed), `Title` (text), then a cycle of types.
    pub async fn create(fixture: &Fixture, name: &str, width: usize) -> anyhow::Result<Self> {
        let table = post(
            fixture,
            &format!("/api/v1/workspaces/{}/tables", fixture.workspace),
            &json!({"name": format!("{name} {}", uuid::Uuid::now_v7().simple())}),
        )
        .await?;
        let id = text(&table, "id")?;
        let options: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("c{i}"), "name": format!("Category {i}")}))
            .collect();
        let mut specs = vec![
            json!({"name": "Category", "type": "single_select", "options": options, "indexed": true}),
            json!({"name": "Amount", "type": "number", "precision": 2, "indexed": true}),
            json!({"name": "Score", "type": "number", "precision": 0}),
            json!({"name": "Title", "type": "text"}),
        ];
        for i in specs.len()..width {
            let kind = TYPES[i % TYPES.len()];
            let mut spec = json!({"name": format!("F{i}"), "type": kind});
            match kind {
                "number" => spec["precision"] = json!(1),
                "single_select" => spec["options"] = Value::Array(options.clone()),
                _ => {}
            }
            specs.push(spec);
        }
        let mut fields = Vec::with_capacity(width);
        for spec in specs {
            post(fixture, &format!("/api/v1/tables/{id}/fields"), &spec).await?;
            let kind = TYPES
                .iter()
                .find(|t| **t == spec["type"])
                .copied()
                .unwrap_or("text");
            fields.push((text(&spec, "name")?, kind));
        }
        Ok(Self { id, fields })
    }

    /// Row `n`'s cells: every field filled, deterministically.
    fn row(&self, n: usize) -> Value {
        let mut cells = serde_json::Map::new();
        for (name, kind) in &self.fields {
            let value = match (name.as_str(), *kind) {
                ("Category", _) => json!(format!("c{}", n % 10)),
                ("Amount", _) => json!((n * 7919 % 100_000) as f64 / 100.0),
                ("Score", _) => json!(n % 1000),
                (_, "number") => json!((n % 977) as f64 / 10.0),
                (_, "single_select") => json!(format!("c{}", n % 7)),
                (_, "date") => json!(format!("2026-{:02}-{:02}", 1 + n % 12, 1 + n % 28)),
                (_, "datetime") => json!(format!("2026-01-01T00:00:{:02}Z", n % 60)),
                (_, "boolean") => json!(n.is_multiple_of(2)),
                (_, "email") => json!(format!("user{}@example.com", n % 5000)),
                (_, "long_text") => {
                    json!(format!("Notes for row {n}: a line of text\nand another"))
                }
                _ => json!(format!("{name} of row {n}")),
            };
            cells.insert(name.clone(), value);
        }
        json!({"fields": cells})
    }

    /// Inserts `count` rows in 1,000-row calls, `concurrency` calls at once.
    pub async fn fill(
        &self,
        fixture: &Fixture,
        count: usize,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let batches: Vec<(usize, usize)> = (0..count)
            .step_by(BATCH)
            .map(|start| (start, (start + BATCH).min(count)))
            .collect();
        // Bodies are built before the clock matters to the caller's measure as little as
        // the server's work: building 1,000 rows is a few milliseconds.
        futures::stream::iter(batches)
            .map(|(start, end)| {
                let rows: Vec<Value> = (start..end).map(|n| self.row(n)).collect();
                let path = format!("/api/v1/tables/{}/rows", self.id);
                async move {
                    post(fixture, &path, &json!({"rows": rows}))
                        .await
                        .map(|_| ())
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// The time of one page read with `query`, checking it holds `expect` rows.
    pub async fn timed_page(
        &self,
        fixture: &Fixture,
        query: &str,
        expect: usize,
    ) -> anyhow::Result<Duration> {
        let url = format!("{}/api/v1/tables/{}/rows?{query}", fixture.base, self.id);
        let (took, page) = super::timed(async {
            let page: Value = fixture
                .client
                .get(&url)
                .bearer_auth(&fixture.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(page)
        })
        .await?;
        let got = page["items"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(got == expect, "{query}: {got} rows, expected {expect}");
        Ok(took)
    }

    pub async fn add_field(&self, fixture: &Fixture, spec: Value) -> anyhow::Result<()> {
        post(
            fixture,
            &format!("/api/v1/tables/{}/fields", self.id),
            &spec,
        )
        .await?;
        Ok(())
    }

    /// Streams the whole table as CSV, sampling the server's memory every 50 ms:
    /// (seconds, data lines, RSS before, peak RSS).
    pub async fn export(
        &self,
        fixture: &Fixture,
        target: &Target,
    ) -> anyhow::Result<(f64, usize, u64, u64)> {
        let before = target.rss_bytes().await?;
        let url = format!("{}/api/v1/tables/{}/rows.csv", fixture.base, self.id);
        let started = std::time::Instant::now();
        let mut response = fixture
            .client
            .get(&url)
            .bearer_auth(&fixture.token)
            .send()
            .await?
            .error_for_status()?;
        let mut lines = 0usize;
        let mut peak = before;
        let mut last_sample = std::time::Instant::now();
        while let Some(chunk) = response.chunk().await.context("the export's body")? {
            lines += chunk.iter().filter(|b| **b == b'\n').count();
            if last_sample.elapsed() > Duration::from_millis(50) {
                peak = peak.max(target.rss_bytes().await?);
                last_sample = std::time::Instant::now();
            }
        }
        peak = peak.max(target.rss_bytes().await?);
        // Lines include the header; a long-text cell's line break is inside quotes and
        // counted too, so the count is of physical lines.
        Ok((started.elapsed().as_secs_f64(), lines, before, peak))
    }
}

/// POSTs `body` as the fixture's user and returns the answer's JSON.
pub async fn post(fixture: &Fixture, path: &str, body: &Value) -> anyhow::Result<Value> {
    let response = fixture
        .client
        .post(format!("{}{path}", fixture.base))
        .bearer_auth(&fixture.token)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path}: {status} {value}");
    Ok(value)
}
