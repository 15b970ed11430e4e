//! Random cases for the differential test over HTTP: fields of every type with names
//! that need quoting in the URL grammar (reserved words, `,` `.` `"` `\` `(`), rows drawn
//! from small pools of values so that ties, empty cells, ASCII case variants, non-ASCII
//! text and the characters `like` and the grammar treat specially come up often, and
//! queries whose every filter is one the binder accepts.

use proptest::prelude::*;
use serde_json::{Number, Value, json};
use tandem_tables::bind::FieldDef;
use tandem_tables::field::FieldType;
use tandem_tables::query::{
    Condition, Direction, FieldRef, Filter, IsValue, Literal, Nulls, Op, Operand, Query, Sort,
};

/// The most fields a case's table has.
const MAX_FIELDS: usize = 5;
/// The most rows a case writes.
const MAX_ROWS: usize = 12;
/// The queries run against each case's table.
const QUERIES: usize = 3;

#[derive(Debug, Clone)]
pub struct Case {
    /// Each field's type seed.
    pub types: Vec<u8>,
    /// Where in [`NAMES`] the field names start.
    pub names: u8,
    pub rows: Vec<RowSeed>,
    pub queries: Vec<QuerySeed>,
}

#[derive(Debug, Clone)]
pub struct RowSeed {
    pub cells: Vec<u8>,
    /// Written a millisecond after the row before (else at the same instant).
    pub later: bool,
    /// Written by the editor rather than the owner.
    pub by_editor: bool,
    /// Edited afterwards by the other writer, a millisecond later, with its cells
    /// drawn again from `cells` reversed.
    pub edited: bool,
    pub trashed: bool,
}

#[derive(Debug, Clone)]
pub struct QuerySeed {
    filter: Option<FilterSeed>,
    order: Vec<(u8, bool, bool)>,
    select: Option<Vec<u8>>,
    limit: u32,
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

pub fn any_case() -> impl Strategy<Value = Case> {
    let row = (
        prop::collection::vec(any::<u8>(), MAX_FIELDS),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(cells, later, by_editor, edited, trashed)| RowSeed {
            cells,
            later,
            by_editor,
            edited,
            trashed,
        });
    let leaf = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(field, op, value, list)| FilterSeed::Condition {
            field,
            op,
            value,
            list,
        });
    let filter = leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(FilterSeed::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(FilterSeed::Or),
            inner.prop_map(|f| FilterSeed::Not(Box::new(f))),
        ]
    });
    let query = (
        prop::option::weighted(0.85, filter),
        prop::collection::vec((any::<u8>(), any::<bool>(), any::<bool>()), 0..=3),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..=3)),
        0u32..5,
    )
        .prop_map(|(filter, order, select, limit)| QuerySeed {
            filter,
            order,
            select,
            limit,
        });
    (
        prop::collection::vec(any::<u8>(), 1..=MAX_FIELDS),
        any::<u8>(),
        prop::collection::vec(row, 0..=MAX_ROWS),
        prop::collection::vec(query, QUERIES),
    )
        .prop_map(|(types, names, rows, queries)| Case {
            types,
            names,
            rows,
            queries,
        })
}

/// Field names, distinct ignoring case, many of which the URL grammar must quote.
const NAMES: [&str; 16] = [
    "Title",
    "order",
    "a,b",
    "x.y",
    "(p)",
    "say \"hi\"",
    "Ünï",
    "or",
    "back\\slash",
    "select",
    "a b",
    "not",
    "50%",
    "limit",
    "c:d",
    "not.and",
];
const TEXTS: [&str; 20] = [
    "a",
    "A",
    "b",
    "ab",
    "aB",
    "Ab",
    "a%b",
    "a_b",
    "a\\b",
    "é",
    "É",
    "z*",
    "日本",
    "a b",
    "(x,y)",
    "say \"hi\"",
    "%_\\",
    "a,b",
    "it's",
    "null",
];
const PATTERNS: [&str; 16] = [
    "a*", "A*", "*b", "*%*", "*_*", "*\\*", "é*", "É*", "*(*", "*,*", "*\"*", "?", "a", "*", "*)",
    "null",
];
const EMAILS: [&str; 5] = ["a@x.io", "A@x.io", "a%_b@x.io", "é@x.io", "b@y.io"];
const URLS: [&str; 4] = [
    "https://x.io/a",
    "https://x.io/A",
    "http://x.io/a%25_b",
    "https://x.io/(é),",
];
const NUMBERS: [f64; 8] = [-1.5, 0.0, 0.5, 1.0, 2.25, 1e6, 0.125, -0.004];
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

/// What values refer to beyond constants: the project's members (a user cell must name
/// one), a stranger (as good a literal as any), and instants rows were written at.
pub struct Context {
    pub members: Vec<String>,
    pub stranger: String,
    pub instants: Vec<String>,
}

/// The body that creates field `index` of a case.
pub fn field_body(case: &Case, index: usize) -> Value {
    let name = NAMES[(usize::from(case.names) + index) % NAMES.len()];
    let options = json!([
        { "id": "todo", "name": "To do" },
        { "id": "done", "name": "Done" },
        { "id": "wip", "name": "In progress" }
    ]);
    let (tag, extra) = match case.types[index] % 18 {
        0 => ("text", None),
        1 => ("long_text", None),
        2 => ("email", None),
        3 => ("url", None),
        4 => ("number", Some(("precision", json!(0)))),
        5 => ("number", Some(("precision", json!(2)))),
        6 => ("boolean", None),
        7 => ("date", None),
        8 => ("datetime", None),
        9 => ("single_select", Some(("options", options))),
        10 => ("multi_select", Some(("options", options))),
        11 => ("user", None),
        12 => ("json", None),
        13 => ("autonumber", None),
        14 => ("created_at", None),
        15 => ("updated_at", None),
        16 => ("created_by", None),
        _ => ("updated_by", None),
    };
    let mut body = json!({ "name": name, "type": tag });
    if let Some((key, value)) = extra {
        body[key] = value;
    }
    body
}

/// A cell as written; a fifth of them empty, few distinct values so ties are common.
pub fn cell_json(field_type: &FieldType, seed: u8, ctx: &Context) -> Value {
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
        FieldType::User => json!(ctx.members[s % ctx.members.len()]),
        _ => [
            json!(1),
            json!("x,y"),
            json!({"a": [1, null]}),
            json!([]),
            json!(false),
        ][s % 5]
            .clone(),
    }
}

/// The operators a field's type takes.
fn ops(field_type: &FieldType) -> &'static [Op] {
    use Op::*;
    match field_type {
        FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Url => {
            &[Eq, Neq, Gt, Gte, Lt, Lte, Like, Ilike, In, Is]
        }
        FieldType::Number { .. }
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::CreatedAt
        | FieldType::UpdatedAt
        | FieldType::Autonumber => &[Eq, Neq, Gt, Gte, Lt, Lte, In, Is],
        FieldType::Json => &[Is],
        _ => &[Eq, Neq, In, Is],
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
            Literal::Number(Number::from_f64(NUMBERS[s % NUMBERS.len()]).unwrap())
        }
        FieldType::Boolean => Literal::Bool(s % 2 == 0),
        FieldType::Date => text(DATES[s % DATES.len()]),
        FieldType::Datetime => text(INSTANTS[s % INSTANTS.len()]),
        FieldType::SingleSelect { .. } | FieldType::MultiSelect { .. } => {
            text(OPTIONS[s % OPTIONS.len()])
        }
        FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy => {
            match s % (ctx.members.len() + 1) {
                0 => text(&ctx.stranger),
                i => text(&ctx.members[i - 1]),
            }
        }
        FieldType::CreatedAt | FieldType::UpdatedAt => text(&ctx.instants[s % ctx.instants.len()]),
        FieldType::Autonumber => Literal::Number((s % 14).into()),
        _ => text(TEXTS[s % TEXTS.len()]),
    }
}

fn to_filter(seed: &FilterSeed, fields: &[FieldDef], ctx: &Context) -> Filter {
    let children = |c: &[FilterSeed]| c.iter().map(|c| to_filter(c, fields, ctx)).collect();
    match seed {
        FilterSeed::And(c) => Filter::And(children(c)),
        FilterSeed::Or(c) => Filter::Or(children(c)),
        FilterSeed::Not(child) => Filter::Not(Box::new(to_filter(child, fields, ctx))),
        FilterSeed::Condition {
            field,
            op,
            value,
            list,
        } => {
            let field = &fields[usize::from(*field) % fields.len()];
            let field_type = &field.field_type;
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
                field: name(field),
                op,
                value,
            })
        }
    }
}

fn name(field: &FieldDef) -> FieldRef {
    FieldRef(field.name.as_str().to_owned())
}

/// The query a seed describes over a table's fields, naming them by name.
pub fn to_query(seed: &QuerySeed, fields: &[FieldDef], ctx: &Context) -> Query {
    let pick = |i: u8| &fields[usize::from(i) % fields.len()];
    let sortable = |t: &FieldType| !matches!(t, FieldType::MultiSelect { .. } | FieldType::Json);
    let order = seed
        .order
        .iter()
        .map(|(field, desc, first)| (pick(*field), *desc, *first))
        .filter(|(field, _, _)| sortable(&field.field_type))
        .map(|(field, desc, first)| Sort {
            field: name(field),
            direction: if desc {
                Direction::Desc
            } else {
                Direction::Asc
            },
            nulls: if first { Nulls::First } else { Nulls::Last },
        })
        .collect();
    Query {
        filter: seed.filter.as_ref().map(|f| to_filter(f, fields, ctx)),
        order,
        select: seed
            .select
            .as_ref()
            .map(|picks| picks.iter().map(|p| name(pick(*p))).collect()),
        limit: Some(seed.limit),
        ..Query::default()
    }
}
