//! `data_processing`: CSV (with a header row) or JSON lines in; out come statistics of
//! every column, and the rows that pass a filter grouped by a column with aggregates.
//! It runs on a blocking thread, reporting progress and stopping when asked.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_domain::FieldError;

use super::table::{Aggregate, Condition, Profile, Row};
use crate::handler::{Fault, JobContext, JobHandler, Output};

/// The most input accepted, in bytes.
pub const MAX_DATA_BYTES: usize = 8 * 1024 * 1024;
/// The most rows read; the rest are counted as skipped.
pub const MAX_ROWS: usize = 1_000_000;
/// Rows between two progress reports.
const PROGRESS_EVERY: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

/// A `data_processing` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataProcessingPayload {
    pub format: Format,
    pub data: String,
    /// Rows must match every condition to be grouped.
    #[serde(default)]
    pub filter: Vec<Condition>,
    /// Group matching rows by this column's value (one group of all if absent).
    pub group_by: Option<String>,
    /// Computed per group, besides the row count.
    #[serde(default)]
    pub aggregates: Vec<Aggregate>,
    /// Read at most this many rows.
    pub max_rows: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DataProcessing;

#[async_trait]
impl JobHandler for DataProcessing {
    fn kind(&self) -> &'static str {
        "data_processing"
    }

    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>> {
        let parsed: DataProcessingPayload = serde_json::from_value(payload.clone())
            .map_err(|e| vec![FieldError::new("payload", e.to_string())])?;
        let mut errors = Vec::new();
        if parsed.data.len() > MAX_DATA_BYTES {
            errors.push(FieldError::new("payload.data", "must be at most 8 MiB"));
        }
        if parsed.max_rows.is_some_and(|n| n == 0 || n > MAX_ROWS) {
            errors.push(FieldError::new(
                "payload.max_rows",
                "must be between 1 and 1000000",
            ));
        }
        if parsed.filter.len() > 16 || parsed.aggregates.len() > 16 {
            errors.push(FieldError::new(
                "payload",
                "at most 16 filters and 16 aggregates",
            ));
        }
        if errors.is_empty() {
            serde_json::to_value(parsed)
                .map_err(|e| vec![FieldError::new("payload", e.to_string())])
        } else {
            Err(errors)
        }
    }

    async fn run(&self, ctx: &JobContext, payload: Value) -> Result<Output, Fault> {
        let payload: DataProcessingPayload = serde_json::from_value(payload)
            .map_err(|e| Fault::new(format!("stored payload does not parse: {e}")))?;
        let progress = ctx.progress.clone();
        let stop = ctx.stop.clone();
        let result = tokio::task::spawn_blocking(move || {
            process(&payload, |rows| {
                progress.send_replace(Some(json!({ "rows_read": rows })));
                !stop.is_cancelled()
            })
        })
        .await
        .map_err(|e| Fault::new(format!("processing stopped: {e}")))?;
        Ok(Output::result(result))
    }
}

/// Reads the rows and profiles them. `report(rows)` is called every so often and
/// returns false to stop early.
pub fn process(payload: &DataProcessingPayload, mut report: impl FnMut(usize) -> bool) -> Value {
    let limit = payload.max_rows.unwrap_or(MAX_ROWS).min(MAX_ROWS);
    let mut profile = Profile::new(
        &payload.filter,
        payload.group_by.clone(),
        &payload.aggregates,
    );
    let mut errors = Vec::new();
    let mut stopped = false;
    let mut visit = |index: usize, row: Result<Row, String>| -> bool {
        match row {
            Ok(row) => profile.add(&row),
            Err(error) if errors.len() < 10 => {
                errors.push(json!({"row": index + 1, "error": error}))
            }
            Err(_) => {}
        }
        if (index + 1).is_multiple_of(PROGRESS_EVERY) && !report(index + 1) {
            stopped = true;
            return false;
        }
        true
    };
    let read = match payload.format {
        Format::Csv => read_csv(&payload.data, limit, &mut visit),
        Format::Jsonl => read_jsonl(&payload.data, limit, &mut visit),
    };
    let mut result = profile.finish();
    result["rows_skipped"] = json!(read.skipped);
    result["stopped"] = json!(stopped);
    result["errors"] = Value::Array(errors);
    if let Some(fatal) = read.fatal {
        result["fatal_error"] = json!(fatal);
    }
    result
}

struct Read {
    skipped: usize,
    fatal: Option<String>,
}

fn read_csv(
    data: &str,
    limit: usize,
    visit: &mut impl FnMut(usize, Result<Row, String>) -> bool,
) -> Read {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(data.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(str::to_owned).collect(),
        Err(e) => {
            return Read {
                skipped: 0,
                fatal: Some(format!("header row: {e}")),
            };
        }
    };
    let mut skipped = 0;
    for (index, record) in reader.records().enumerate() {
        if index >= limit {
            skipped += 1;
            continue;
        }
        let row = record.map_err(|e| e.to_string()).map(|record| {
            headers
                .iter()
                .zip(record.iter())
                .map(|(name, value)| (name.clone(), Value::String(value.to_owned())))
                .collect::<Row>()
        });
        if !visit(index, row) {
            break;
        }
    }
    Read {
        skipped,
        fatal: None,
    }
}

fn read_jsonl(
    data: &str,
    limit: usize,
    visit: &mut impl FnMut(usize, Result<Row, String>) -> bool,
) -> Read {
    let mut skipped = 0;
    let lines = data.lines().filter(|line| !line.trim().is_empty());
    for (index, line) in lines.enumerate() {
        if index >= limit {
            skipped += 1;
            continue;
        }
        let row = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => Ok(map.into_iter().collect::<Row>()),
            Ok(_) => Err("not a JSON object".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        if !visit(index, row) {
            break;
        }
    }
    Read {
        skipped,
        fatal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(format: Format, data: &str, rest: Value) -> DataProcessingPayload {
        let mut value = json!({"format": format, "data": data});
        if let Value::Object(extra) = rest {
            value.as_object_mut().unwrap().extend(extra);
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn csv_columns_are_profiled_and_rows_grouped() {
        let data = "country,amount,name\nfr,10,a\nde,5,b\nfr,2.5,c\nde,,d\nit,x,e\n";
        let p = payload(
            Format::Csv,
            data,
            json!({
                "filter": [{"column": "amount", "op": "ge", "value": 2.5}],
                "group_by": "country",
                "aggregates": [{"column": "amount", "fn": "sum"}, {"column": "amount", "fn": "max"}]
            }),
        );
        let out = process(&p, |_| true);
        assert_eq!(out["rows"], 5);
        assert_eq!(out["rows_matched"], 3);
        let amount = &out["columns"].as_array().unwrap()[1];
        assert_eq!(amount["name"], "amount");
        assert_eq!(amount["empty"], 1);
        assert_eq!(amount["numeric"]["count"], 3);
        assert_eq!(amount["numeric"]["sum"], 17.5);
        assert_eq!(amount["numeric"]["min"], 2.5);
        let groups = out["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0]["key"], "de");
        assert_eq!(groups[0]["count"], 1);
        assert_eq!(groups[1]["key"], "fr");
        assert_eq!(groups[1]["sum(amount)"], 12.5);
        assert_eq!(groups[1]["max(amount)"], 10.0);
    }

    #[test]
    fn jsonl_rows_with_errors_are_reported_not_fatal() {
        let data = "{\"a\": 1}\nnot json\n[1]\n{\"a\": 3, \"b\": \"x\"}\n";
        let out = process(&payload(Format::Jsonl, data, json!({})), |_| true);
        assert_eq!(out["rows"], 2);
        assert_eq!(out["errors"].as_array().unwrap().len(), 2);
        assert_eq!(out["groups"][0]["count"], 2);
    }

    #[test]
    fn reading_stops_at_max_rows_and_when_asked() {
        let mut data = String::from("n\n");
        for i in 0..120_000 {
            data.push_str(&format!("{i}\n"));
        }
        let out = process(
            &payload(Format::Csv, &data, json!({"max_rows": 1000})),
            |_| true,
        );
        assert_eq!(
            (out["rows"].as_u64(), out["rows_skipped"].as_u64()),
            (Some(1000), Some(119_000))
        );
        let out = process(&payload(Format::Csv, &data, json!({})), |_| false);
        assert_eq!(out["stopped"], true);
        assert_eq!(out["rows"], 50_000);
    }
}
