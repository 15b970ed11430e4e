//! Property tests: random schemas, rows, filters and sorts built from the AST bind
//! without panicking, and following `next_cursor` page by page returns exactly the
//! unpaged result, in order, with no duplicates or gaps.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::bind::tests::{field, select_type};
use crate::bind::{FieldDef, Schema, bind};
use crate::field::{FieldType, OptionId, Precision};
use crate::query::{
    Condition, Cursor, Direction, FieldRef, Filter, IsValue, Literal, Nulls, Op, Operand, Query,
    Sort,
};

const FIELDS: usize = 8;

fn type_for(i: u8) -> FieldType {
    let num = |p| FieldType::Number {
        precision: Precision::new(p).unwrap_or(Precision::new(0).unwrap()),
    };
    match i % 13 {
        0 => FieldType::Text,
        1 => num(0),
        2 => num(2),
        3 => FieldType::Boolean,
        4 => FieldType::Date,
        5 => FieldType::Datetime,
        6 => select_type(false),
        7 => select_type(true),
        8 => FieldType::User,
        9 => FieldType::Json,
        10 => FieldType::Autonumber,
        11 => FieldType::CreatedAt,
        _ => FieldType::Email,
    }
}

/// A valid cell for the type, chosen by `seed`; a fifth of them empty. Few distinct
/// values, so ties are common and the row id tie-break matters.
fn cell_for(t: &FieldType, seed: u8) -> CellValue {
    if seed.is_multiple_of(5) {
        return CellValue::Null;
    }
    let s = usize::from(seed / 5);
    let opt = |i: usize| OptionId::parse(["todo", "done", "wip"][i % 3]).unwrap();
    match t {
        FieldType::Text | FieldType::Email => {
            text(["a", "A", "b", "ab", "a%b", "a_b", "é", "É", "z*", "a\\"][s % 10])
        }
        FieldType::Number { .. } => CellValue::Number((s % 7) as f64 / 2.0 - 1.5),
        FieldType::Boolean => CellValue::Boolean(s % 2 == 0),
        FieldType::Date => CellValue::Date(
            NaiveDate::from_ymd_opt(2024, 1, 1 + (s % 4) as u32).unwrap_or_default(),
        ),
        FieldType::Datetime | FieldType::CreatedAt => CellValue::Datetime(
            DateTime::from_timestamp(1_704_067_200 + (s % 4) as i64, 0).unwrap_or_default(),
        ),
        FieldType::SingleSelect { .. } => CellValue::Option(opt(s)),
        FieldType::MultiSelect { .. } => {
            let mask = 1 + s % 7;
            CellValue::Options((0..3).filter(|b| mask & (1 << b) != 0).map(opt).collect())
        }
        FieldType::User => CellValue::User(Uuid::from_u128((s % 4) as u128)),
        FieldType::Autonumber => CellValue::Integer((s % 5) as i64),
        _ => CellValue::Json(json!(s % 3)),
    }
}

fn text(s: &str) -> CellValue {
    CellValue::Text(s.to_owned())
}

fn literal(i: u8) -> Literal {
    const POOL: [&str; 17] = [
        "1",
        "-1.5",
        "0.5",
        "a",
        "A*",
        "*b*",
        "done",
        "Done",
        "true",
        "false",
        "2024-01-02",
        "2024-01-01T00:00:02Z",
        "00000000-0000-0000-0000-000000000001",
        "%",
        "_",
        "a\\",
        "",
    ];
    match i % 20 {
        17 => Literal::Number(1.into()),
        18 => Literal::Bool(true),
        19 => Literal::Number(serde_json::Number::from_f64(-0.5).unwrap_or(0.into())),
        n => Literal::Text(POOL[usize::from(n)].to_owned()),
    }
}

fn any_condition() -> impl Strategy<Value = Filter> {
    (
        0..FIELDS + 1,
        0..Op::ALL.len(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(f, op, v, list)| {
            let op = Op::ALL[op];
            let value = match op {
                Op::In => Operand::List(list.into_iter().map(literal).collect()),
                Op::Is => Operand::Is(
                    [
                        IsValue::Null,
                        IsValue::True,
                        IsValue::False,
                        IsValue::Unknown,
                    ][usize::from(v % 4)],
                ),
                _ => Operand::Scalar(literal(v)),
            };
            Filter::Condition(Condition {
                field: FieldRef(format!("f{f}")),
                op,
                value,
            })
        })
}

fn any_filter() -> impl Strategy<Value = Filter> {
    any_condition().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn any_sort() -> impl Strategy<Value = Sort> {
    (0..FIELDS, any::<bool>(), any::<bool>()).prop_map(|(f, desc, first)| Sort {
        field: FieldRef(format!("f{f}")),
        direction: if desc {
            Direction::Desc
        } else {
            Direction::Asc
        },
        nulls: if first { Nulls::First } else { Nulls::Last },
    })
}

fn build(types: &[u8], rows: &[Vec<u8>]) -> (Schema, Vec<Row>) {
    let fields: Vec<FieldDef> = types
        .iter()
        .enumerate()
        .map(|(i, t)| field(100 + i as u128, &format!("F{i}"), type_for(*t)))
        .collect();
    let rows = rows
        .iter()
        .enumerate()
        .map(|(n, seeds)| Row {
            // Scattered ids, so id order differs from insertion order.
            id: Uuid::from_u128(
                (n as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
            ),
            cells: fields
                .iter()
                .zip(seeds)
                .map(|(f, s)| (f.id, cell_for(&f.field_type, *s)))
                .collect::<BTreeMap<_, _>>(),
        })
        .collect();
    (Schema::new(fields), rows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_filters_and_sorts_bind_or_error_without_panicking(
        types in prop::collection::vec(any::<u8>(), FIELDS),
        filter in any_filter(),
        order in prop::collection::vec(any_sort(), 0..3),
        select in prop::collection::vec(0..FIELDS + 1, 0..4),
        rows in prop::collection::vec(prop::collection::vec(any::<u8>(), FIELDS), 0..8),
    ) {
        let (schema, rows) = build(&types, &rows);
        let query = Query {
            filter: Some(filter),
            order,
            select: Some(select.iter().map(|i| FieldRef(format!("f{i}"))).collect()),
            ..Query::default()
        };
        match bind(&schema, &query) {
            Ok(bound) => {
                let page = evaluate(&bound, &rows);
                prop_assert!(page.rows.len() <= rows.len());
                prop_assert!(page.next_cursor.is_none());
            }
            Err(e) => prop_assert!(!e.code().is_empty()),
        }
    }

    #[test]
    fn following_next_cursor_page_by_page_returns_exactly_the_unpaged_result(
        types in prop::collection::vec(any::<u8>(), FIELDS),
        filter in any_filter(),
        order in prop::collection::vec(any_sort(), 0..4),
        rows in prop::collection::vec(prop::collection::vec(any::<u8>(), FIELDS), 0..25),
        limit in 1u32..6,
    ) {
        let (schema, rows) = build(&types, &rows);
        // Keep only sortable keys, and drop a filter that does not bind, so that most
        // cases exercise paging.
        let order: Vec<Sort> = order
            .into_iter()
            .filter(|s| {
                schema.by_name(s.field.as_str()).is_some_and(|f| {
                    !matches!(f.field_type, FieldType::MultiSelect { .. } | FieldType::Json)
                })
            })
            .collect();
        let mut query = Query { filter: Some(filter), order, ..Query::default() };
        if bind(&schema, &query).is_err() {
            query.filter = None;
        }
        let all = evaluate(&bind(&schema, &query).unwrap(), &rows).rows;

        query.limit = Some(limit);
        let mut paged: Vec<Row> = Vec::new();
        for _ in 0..=rows.len() + 1 {
            let page = evaluate(&bind(&schema, &query).unwrap(), &rows);
            prop_assert!(page.rows.len() <= limit as usize);
            paged.extend(page.rows);
            match page.next_cursor {
                // Through the opaque token, as a client would carry it.
                Some(c) => query.cursor = Some(Cursor::decode(&c.encode()).unwrap()),
                None => break,
            }
        }
        prop_assert_eq!(paged, all);
    }
}
