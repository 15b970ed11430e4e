//! Random cases for the differential test: field types, rows and queries drawn from
//! small pools of values, so that ties, empty cells, ASCII case variants, non-ASCII text
//! and the characters `like` treats specially all come up often, and every filter is one
//! the binder accepts (each operator a field's type takes, literals of its type).

use chrono::{DateTime, SecondsFormat, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_store::TableField;
use tandem_tables::field::FieldType;
use tandem_tables::query::{
    Condition, Direction, FieldRef, Filter, IsValue, Literal, Nulls, Op, Operand, Query, Sort,
};
use uuid::Uuid;

use crate::tables::number;

/// The most fields a case's table has.
const MAX_FIELDS: usize = 5;
/// The most rows a case inserts.
const MAX_ROWS: usize = 14;

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) types: Vec<u8>,
    pub(super) rows: Vec<RowSeed>,
    pub(super) filter: Option<FilterSeed>,
    pub(super) order: Vec<(u8, bool, bool)>,
    pub(super) select: Option<Vec<u8>>,
    pub(super) limit: u32,
}

#[derive(Debug, Clone)]
pub(super) struct RowSeed {
    pub(super) cells: Vec<u8>,
    /// Inserted a millisecond after the row before (else at the same instant).
    pub(super) later: bool,
    pub(super) by_bob: bool,
    pub(super) trashed: bool,
}

#[derive(Debug, Clone)]
pub(super) enum FilterSeed {
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

pub(super) fn any_case() -> impl Strategy<Value = Case> {
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
pub(super) struct Context {
    pub(super) users: Vec<Uuid>,
    pub(super) start: DateTime<Utc>,
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

pub(super) fn field_type(seed: u8) -> FieldType {
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
pub(super) fn cell_json(field_type: &FieldType, seed: u8, ctx: &Context) -> Value {
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

pub(super) fn to_query(case: &Case, fields: &[TableField], ctx: &Context) -> Query {
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
