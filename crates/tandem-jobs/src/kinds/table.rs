//! The table arithmetic of `data_processing`: rows as named cells, filter conditions,
//! aggregates, and the running profile (column statistics and groups) built row by row
//! in bounded memory.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One row: cells by column name, in the order read.
pub type Row = Vec<(String, Value)>;

/// Distinct values counted per column before the count is reported as a lower bound.
const MAX_DISTINCT: usize = 10_000;
/// Groups kept; rows of further groups are counted apart.
const MAX_GROUPS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

/// `column op value`: compared as numbers when both sides are numbers, else as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// A per-group aggregate of a column's numeric values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    pub column: String,
    #[serde(rename = "fn")]
    pub function: Function,
}

impl Aggregate {
    fn label(&self) -> String {
        let name = serde_json::to_value(self.function)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{name}({})", self.column)
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn cell<'r>(row: &'r Row, column: &str) -> Option<&'r Value> {
    row.iter().find(|(name, _)| name == column).map(|(_, v)| v)
}

impl Condition {
    fn matches(&self, row: &Row) -> bool {
        let Some(found) = cell(row, &self.column) else {
            return self.op == Op::Ne;
        };
        if self.op == Op::Contains {
            return text(found).contains(&text(&self.value));
        }
        let ordering = match (number(found), number(&self.value)) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            // A number in the condition compares numbers only: "x" is not above 2.5.
            (None, _) if self.value.is_number() => None,
            _ => Some(text(found).cmp(&text(&self.value))),
        };
        let Some(ordering) = ordering else {
            return self.op == Op::Ne;
        };
        match self.op {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
            Op::Contains => false,
        }
    }
}

/// Running sums of one column's numbers.
#[derive(Debug, Clone, Default)]
struct Numbers {
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
}

impl Numbers {
    fn add(&mut self, n: f64) {
        self.count += 1;
        self.sum += n;
        self.min = Some(self.min.map_or(n, |m| m.min(n)));
        self.max = Some(self.max.map_or(n, |m| m.max(n)));
    }

    fn get(&self, function: Function) -> Value {
        match function {
            Function::Count => json!(self.count),
            Function::Sum => json!(self.sum),
            Function::Avg if self.count > 0 => json!(self.sum / self.count as f64),
            Function::Min => json!(self.min),
            Function::Max => json!(self.max),
            Function::Avg => Value::Null,
        }
    }
}

#[derive(Debug, Default)]
struct Column {
    name: String,
    filled: u64,
    empty: u64,
    numbers: Numbers,
    distinct: HashSet<String>,
    distinct_capped: bool,
}

#[derive(Debug, Default)]
struct Group {
    count: u64,
    aggregates: Vec<Numbers>,
}

/// Statistics of every column over all rows, and groups of the rows that pass the filter.
#[derive(Debug)]
pub struct Profile<'p> {
    filter: &'p [Condition],
    group_by: Option<String>,
    aggregates: &'p [Aggregate],
    rows: u64,
    matched: u64,
    columns: Vec<Column>,
    groups: BTreeMap<String, Group>,
    ungrouped_rows: u64,
}

impl<'p> Profile<'p> {
    pub fn new(
        filter: &'p [Condition],
        group_by: Option<String>,
        aggregates: &'p [Aggregate],
    ) -> Self {
        Self {
            filter,
            group_by,
            aggregates,
            rows: 0,
            matched: 0,
            columns: Vec::new(),
            groups: BTreeMap::new(),
            ungrouped_rows: 0,
        }
    }

    pub fn add(&mut self, row: &Row) {
        self.rows += 1;
        for (name, value) in row {
            let index = match self.columns.iter().position(|c| &c.name == name) {
                Some(index) => index,
                None => {
                    self.columns.push(Column {
                        name: name.clone(),
                        ..Column::default()
                    });
                    self.columns.len() - 1
                }
            };
            let column = &mut self.columns[index];
            let shown = text(value);
            if shown.is_empty() {
                column.empty += 1;
                continue;
            }
            column.filled += 1;
            if let Some(n) = number(value) {
                column.numbers.add(n);
            }
            if column.distinct.len() < MAX_DISTINCT {
                column.distinct.insert(shown);
            } else if !column.distinct.contains(&shown) {
                column.distinct_capped = true;
            }
        }
        if !self.filter.iter().all(|condition| condition.matches(row)) {
            return;
        }
        self.matched += 1;
        let key = self.group_by.as_deref().map_or_else(String::new, |column| {
            cell(row, column).map(text).unwrap_or_default()
        });
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            self.ungrouped_rows += 1;
            return;
        }
        let group = self.groups.entry(key).or_insert_with(|| Group {
            count: 0,
            aggregates: vec![Numbers::default(); self.aggregates.len()],
        });
        group.count += 1;
        for (aggregate, numbers) in self.aggregates.iter().zip(&mut group.aggregates) {
            if let Some(n) = cell(row, &aggregate.column).and_then(number) {
                numbers.add(n);
            }
        }
    }

    pub fn finish(self) -> Value {
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|c| {
                let numeric = (c.numbers.count > 0).then(|| {
                    json!({
                        "count": c.numbers.count,
                        "sum": c.numbers.sum,
                        "min": c.numbers.min,
                        "max": c.numbers.max,
                        "mean": c.numbers.sum / c.numbers.count as f64,
                    })
                });
                json!({
                    "name": c.name,
                    "filled": c.filled,
                    "empty": c.empty,
                    "distinct": c.distinct.len(),
                    "distinct_capped": c.distinct_capped,
                    "numeric": numeric,
                })
            })
            .collect();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|(key, group)| {
                let mut entry = Map::new();
                entry.insert("key".into(), json!(key));
                entry.insert("count".into(), json!(group.count));
                for (aggregate, numbers) in self.aggregates.iter().zip(&group.aggregates) {
                    entry.insert(aggregate.label(), numbers.get(aggregate.function));
                }
                Value::Object(entry)
            })
            .collect();
        json!({
            "rows": self.rows,
            "rows_matched": self.matched,
            "columns": columns,
            "group_by": self.group_by,
            "groups": groups,
            "rows_in_dropped_groups": self.ungrouped_rows,
        })
    }
}
