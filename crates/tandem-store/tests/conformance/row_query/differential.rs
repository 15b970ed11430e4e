//! The differential test: random tables (fields of random types), random rows (empty
//! cells, non-ASCII text, ASCII case variants, `%` `_` `\` `*` `[` in text, many ties,
//! some trashed) and random queries (filter trees over every operator each type takes,
//! multi-key sorts with either nulls placement, random projections, small pages), paged
//! through by cursor on the backend under test, must give exactly the pages
//! `tandem_tables::eval::evaluate` gives over the same live rows, cursors included, and
//! `count_rows` the number of rows it matches.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tandem_domain::User;
use tandem_store::rows::layout;
use tandem_tables::field::FieldType;
use tandem_tables::query::{Cursor, Direction, IsValue, Nulls, Sort};
use uuid::Uuid;

use super::*;
use crate::tables::number;

/// Each case makes a table, fills it and pages through one query: a few dozen cases
/// cover the operators and sorts well and keep the test to seconds on either backend.
const CASES: u32 = 40;
const MAX_FIELDS: usize = 5;
const MAX_ROWS: usize = 14;

#[derive(Debug, Clone)]
struct Case {
    types: Vec<u8>,
    rows: Vec<RowSeed>,
    filter: Option<FilterSeed>,
    order: Vec<(u8, bool, bool)>,
    select: Option<Vec<u8>>,
    limit: u32,
}

#[derive(Debug, Clone)]
struct RowSeed {
    cells: Vec<u8>,
    /// Inserted a millisecond after the row before (else at the same instant).
    later: bool,
    by_bob: bool,
    trashed: bool,
}

#[derive(Debug, Clone)]
enum FilterSeed {
    And(Vec<FilterSeed>),
    Or(Vec<FilterSeed>),
    Not(Box<FilterSeed>),
    Condition {
        field: u8,
        op: u8,
        value: u8,
        list: Vec<u8>,
    },
}

fn any_case() -> impl Strategy<Value = Case> {
    let row = (
        prop::collection::vec(any::<u8>(), MAX_FIELDS),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(cells, later, by_bob, trashed)| RowSeed {
            cells,
            later,
            by_bob,
            trashed,
        });
    let leaf = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..3),
    )
        .prop_map(|(field, op, value, list)| FilterSeed::Condition {
            field,
            op,
            value,
            list,
        });
    let filter = leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(FilterSeed::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(FilterSeed::Or),
            inner.prop_map(|f| FilterSeed::Not(Box::new(f))),
        ]
    });
    (
        prop::collection::vec(any::<u8>(), 1..=MAX_FIELDS),
        prop::collection::vec(row, 0..=MAX_ROWS),
        prop::option::weighted(0.85, filter),
        prop::collection::vec((any::<u8>(), any::<bool>(), any::<bool>()), 0..=3),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..=3)),
        0u32..5,
    )
        .prop_map(|(types, rows, filter, order, select, limit)| Case {
            types,
            rows,
            filter,
            order,
            select,
            limit,
        })
}

const TEXTS: [&str; 16] = [
    "a", "A", "b", "ab", "aB", "Ab", "a%b", "a_b", "a\\b", "é", "É", "z*", "日本", "a b", "[x]?",
    "%_\\",
];
const PATTERNS: [&str; 12] = [
    "a*", "A*", "*b", "*%*", "*_*", "*\\*", "é*", "É*", "*[*", "?", "a", "*",
];
const EMAILS: [&str; 5] = ["a@x.io", "A@x.io", "a%_b@x.io", "é@x.io", "b@y.io"];
const URLS: [&str; 4] = [
    "https://x.io/a",
    "https://x.io/A",
    "http://x.io/a%25_b",
    "https://x.io/é",
];
const NUMBERS: [f64; 6] = [-1.5, 0.0, 0.5, 1.0, 2.25, 1e6];
const DATES: [&str; 5] = [
    "0001-01-01",
    "2024-01-01",
    "2024-01-02",
    "2024-02-29",
    "9999-12-31",
];
const INSTANTS: [&str; 5] = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000001Z",
    "2024-01-01T01:00:00+01:00",
    "1999-12-31T23:59:59.999999Z",
    "2024-06-01T12:00:00Z",
];
/// Option ids, and one option's name, which a literal may name it by.
const OPTIONS: [&str; 4] = ["todo", "done", "wip", "To do"];

/// What literals refer to beyond constants: the case's users and when it started.
struct Context {
    users: Vec<Uuid>,
    start: DateTime<Utc>,
}

/// A single or multi select with the options `todo`, `done` and `wip`.
fn three_options(multi: bool) -> FieldType {
    let tag = if multi {
        "multi_select"
    } else {
        "single_select"
    };
    serde_json::from_value(json!({
        "type": tag,
        "options": [
            { "id": "todo", "name": "To do" },
            { "id": "done", "name": "Done" },
            { "id": "wip", "name": "In progress" }
        ]
    }))
    .unwrap()
}

fn field_type(seed: u8) -> FieldType {
    match seed % 18 {
        0 => FieldType::Text,
        1 => FieldType::LongText,
        2 => FieldType::Email,
        3 => FieldType::Url,
        4 => number(0),
        5 => number(2),
        6 => FieldType::Boolean,
        7 => FieldType::Date,
        8 => FieldType::Datetime,
        9 => three_options(false),
        10 => three_options(true),
        11 => FieldType::User,
        12 => FieldType::Json,
        13 => FieldType::Autonumber,
        14 => FieldType::CreatedAt,
        15 => FieldType::UpdatedAt,
        16 => FieldType::CreatedBy,
        _ => FieldType::UpdatedBy,
    }
}

/// A cell as the API's JSON; a fifth of them empty, few distinct values so ties are common.
fn cell_json(field_type: &FieldType, seed: u8, ctx: &Context) -> Value {
    if seed.is_multiple_of(5) {
        return Value::Null;
    }
    let s = usize::from(seed / 5);
    match field_type {
        FieldType::Text | FieldType::LongText => json!(TEXTS[s % TEXTS.len()]),
        FieldType::Email => json!(EMAILS[s % EMAILS.len()]),
        FieldType::Url => json!(URLS[s % URLS.len()]),
        FieldType::Number { .. } => json!(NUMBERS[s % NUMBERS.len()]),
        FieldType::Boolean => json!(s % 2 == 0),
        FieldType::Date => json!(DATES[s % DATES.len()]),
        FieldType::Datetime => json!(INSTANTS[s % INSTANTS.len()]),
        FieldType::SingleSelect { .. } => json!(OPTIONS[s % 3]),
        FieldType::MultiSelect { .. } => {
            let mask = 1 + s % 7;
            let ids: Vec<&str> = (0..3)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| OPTIONS[b])
                .collect();
            json!(ids)
        }
        FieldType::User => json!(ctx.users[s % ctx.users.len()]),
        _ => [
            json!(1),
            json!("x"),
            json!({"a": [1, null]}),
            json!([]),
            json!(false),
        ][s % 5]
            .clone(),
    }
}

/// The operators a field's type takes.
fn ops(field_type: &FieldType) -> &'static [Op] {
    match field_type {
        FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Url => &[
            Op::Eq,
            Op::Neq,
            Op::Gt,
            Op::Gte,
            Op::Lt,
            Op::Lte,
            Op::Like,
            Op::Ilike,
            Op::In,
            Op::Is,
        ],
        FieldType::Number { .. }
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::CreatedAt
        | FieldType::UpdatedAt
        | FieldType::Autonumber => &[
            Op::Eq,
            Op::Neq,
            Op::Gt,
            Op::Gte,
            Op::Lt,
            Op::Lte,
            Op::In,
            Op::Is,
        ],
        FieldType::Json => &[Op::Is],
        _ => &[Op::Eq, Op::Neq, Op::In, Op::Is],
    }
}

/// A literal for a field's type, chosen by `seed`.
fn literal(field_type: &FieldType, seed: u8, ctx: &Context) -> Literal {
    let s = usize::from(seed);
    let text = |t: &str| Literal::Text(t.to_owned());
    match field_type {
        FieldType::Email => text(EMAILS[s % EMAILS.len()]),
        FieldType::Url => text(URLS[s % URLS.len()]),
        FieldType::Number { .. } => {
            Literal::Number(serde_json::Number::from_f64(NUMBERS[s % NUMBERS.len()]).unwrap())
        }
        FieldType::Boolean => Literal::Bool(s % 2 == 0),
        FieldType::Date => text(DATES[s % DATES.len()]),
        FieldType::Datetime => text(INSTANTS[s % INSTANTS.len()]),
        FieldType::SingleSelect { .. } | FieldType::MultiSelect { .. } => {
            text(OPTIONS[s % OPTIONS.len()])
        }
        FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy => {
            text(&ctx.users[s % ctx.users.len()].to_string())
        }
        FieldType::CreatedAt | FieldType::UpdatedAt => {
            let at = ctx.start + chrono::Duration::milliseconds((s % 8) as i64);
            text(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
        }
        FieldType::Autonumber => Literal::Number((s % 12).into()),
        _ => text(TEXTS[s % TEXTS.len()]),
    }
}

fn to_filter(seed: &FilterSeed, fields: &[TableField], ctx: &Context) -> Filter {
    match seed {
        FilterSeed::And(children) => {
            Filter::And(children.iter().map(|c| to_filter(c, fields, ctx)).collect())
        }
        FilterSeed::Or(children) => {
            Filter::Or(children.iter().map(|c| to_filter(c, fields, ctx)).collect())
        }
        FilterSeed::Not(child) => Filter::Not(Box::new(to_filter(child, fields, ctx))),
        FilterSeed::Condition {
            field,
            op,
            value,
            list,
        } => {
            let index = usize::from(*field) % fields.len();
            let field_type = &fields[index].field_type;
            let allowed = ops(field_type);
            let op = allowed[usize::from(*op) % allowed.len()];
            let value = match op {
                Op::Is if *field_type == FieldType::Boolean => Operand::Is(
                    [
                        IsValue::Null,
                        IsValue::True,
                        IsValue::False,
                        IsValue::Unknown,
                    ][usize::from(*value) % 4],
                ),
                Op::Is => Operand::Is(IsValue::Null),
                Op::In => {
                    Operand::List(list.iter().map(|v| literal(field_type, *v, ctx)).collect())
                }
                Op::Like | Op::Ilike => Operand::Scalar(Literal::Text(
                    PATTERNS[usize::from(*value) % PATTERNS.len()].to_owned(),
                )),
                _ => Operand::Scalar(literal(field_type, *value, ctx)),
            };
            Filter::Condition(Condition {
                field: name(index),
                op,
                value,
            })
        }
    }
}

fn name(index: usize) -> FieldRef {
    FieldRef(format!("f{index}"))
}

fn to_query(case: &Case, fields: &[TableField], ctx: &Context) -> Query {
    let sortable = |t: &FieldType| !matches!(t, FieldType::MultiSelect { .. } | FieldType::Json);
    let order = case
        .order
        .iter()
        .map(|(field, desc, first)| (usize::from(*field) % fields.len(), *desc, *first))
        .filter(|(index, _, _)| sortable(&fields[*index].field_type))
        .map(|(index, desc, first)| Sort {
            field: name(index),
            direction: if desc {
                Direction::Desc
            } else {
                Direction::Asc
            },
            nulls: if first { Nulls::First } else { Nulls::Last },
        })
        .collect();
    Query {
        filter: case.filter.as_ref().map(|f| to_filter(f, fields, ctx)),
        order,
        select: case.select.as_ref().map(|picks| {
            picks
                .iter()
                .map(|p| name(usize::from(*p) % fields.len()))
                .collect()
        }),
        limit: Some(case.limit),
        ..Query::default()
    }
}

/// The users rows are made by, and a table name counter, shared by every case.
struct Desk {
    ada: User,
    bob: User,
    workspace: Workspace,
    tables: AtomicUsize,
}

async fn run_case(f: &Fixture, desk: &Desk, case: Case) -> Result<(), TestCaseError> {
    let n = desk.tables.fetch_add(1, Ordering::Relaxed);
    let names: Vec<String> = (0..case.types.len()).map(|i| format!("f{i}")).collect();
    let types: Vec<(&str, FieldType)> = names
        .iter()
        .zip(&case.types)
        .map(|(name, t)| (name.as_str(), field_type(*t)))
        .collect();
    let (table, fields) = f
        .typed_table(&desk.workspace, &desk.ada, &format!("Case {n}"), &types)
        .await;
    let ctx = Context {
        // A user id need not be a member's: one that is no one's is as good a value.
        users: vec![desk.ada.id.0, desk.bob.id.0, Uuid::from_u128(1)],
        start: f.now(),
    };

    let mut live = Vec::new();
    let mut trashed = Vec::new();
    for (i, seed) in (0..).zip(&case.rows) {
        if seed.later {
            f.tick();
        }
        let by = if seed.by_bob { &desk.bob } else { &desk.ada };
        let cells = fields
            .iter()
            .enumerate()
            .filter(|(_, field)| !field.field_type.is_read_only())
            .map(|(j, field)| (j, cell_json(&field.field_type, seed.cells[j], &ctx)))
            .collect();
        let row = f
            .insert_json(&table, &fields, by, &[(row_id(i), cells)])
            .await
            .remove(0);
        if seed.trashed {
            trashed.push(row.id);
        } else {
            live.push(reference_row(&fields, &row));
        }
    }
    if !trashed.is_empty() {
        f.store
            .trash_rows(table.id, &fields, &trashed, &f.audit_ctx(&desk.ada))
            .await
            .unwrap();
    }

    let schema = schema(&fields);
    let mut query = to_query(&case, &fields, &ctx);
    let written = query.to_query_string();
    let unpaged = Query {
        limit: None,
        ..query.clone()
    };
    let unpaged = bind(&schema, &unpaged).unwrap();
    let counted = f
        .store
        .count_rows(
            table.id,
            &fields,
            unpaged.filter.as_ref(),
            CountMode::Exact,
            TIMEOUT,
        )
        .await
        .unwrap();
    let matching = evaluate(&unpaged, &live).rows.len();
    prop_assert_eq!(counted, matching as u64, "count of {}", written);

    for page_number in 0..=live.len() + 1 {
        let bound = bind(&schema, &query).unwrap();
        let expected = evaluate(&bound, &live);
        let page = f
            .store
            .query_rows(table.id, &fields, &bound, TIMEOUT)
            .await
            .unwrap();
        let stored_selected: Vec<Uuid> = bound
            .select
            .iter()
            .filter(|s| layout::is_stored(&s.field_type))
            .map(|s| s.id)
            .collect();
        for row in &page.rows {
            let cells: Vec<Uuid> = row.cells.keys().map(|id| id.0).collect();
            let mut wanted = stored_selected.clone();
            wanted.sort();
            wanted.dedup();
            prop_assert_eq!(cells, wanted, "cells of {}", written);
        }
        prop_assert_eq!(
            as_reference(&page, &bound),
            expected,
            "page {} of {}",
            page_number,
            written
        );
        match page.next_cursor {
            // Through the opaque token, as a client carries it.
            Some(cursor) => query.cursor = Some(Cursor::decode(&cursor.encode()).unwrap()),
            None => return Ok(()),
        }
    }
    Err(TestCaseError::fail(format!(
        "{written}: paging did not end after {} pages",
        live.len() + 2
    )))
}

#[test]
fn random_queries_page_exactly_as_the_reference_evaluator_on_random_tables() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(Fixture::new());
    let desk = runtime.block_on(async {
        let (ada, _, workspace) = f.desk().await;
        let bob = f.user("bob@example.com").await;
        Desk {
            ada,
            bob,
            workspace,
            tables: AtomicUsize::new(0),
        }
    });
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let outcome = TestRunner::new(config).run(&any_case(), |case| {
        runtime.block_on(run_case(&f, &desk, case))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
