//! Unit tests of binding: resolution, typing, operator rules, translations, keysets.

use super::*;
use crate::field::{FieldName, FieldType, Precision};
use crate::query::{Literal, Query, QueryError, parse_pairs};
use serde_json::json;
use uuid::Uuid;

pub(crate) fn field(n: u128, name: &str, field_type: FieldType) -> FieldDef {
    FieldDef {
        id: Uuid::from_u128(n),
        name: FieldName::parse(name).unwrap(),
        field_type,
    }
}

pub(crate) fn select_type(multi: bool) -> FieldType {
    let options = serde_json::from_value(json!([
        {"id": "todo", "name": "To do"},
        {"id": "done", "name": "Done"},
        {"id": "wip", "name": "In progress"}
    ]))
    .unwrap();
    if multi {
        FieldType::MultiSelect { options }
    } else {
        FieldType::SingleSelect { options }
    }
}

pub(crate) fn schema() -> Schema {
    Schema::new(vec![
        field(1, "Title", FieldType::Text),
        field(
            2,
            "Price",
            FieldType::Number {
                precision: Precision::new(0).unwrap(),
            },
        ),
        field(3, "Done", FieldType::Boolean),
        field(4, "Status", select_type(false)),
        field(5, "Tags", select_type(true)),
        field(6, "Data", FieldType::Json),
        field(7, "Due", FieldType::Date),
        field(8, "Created", FieldType::CreatedAt),
        field(9, "No", FieldType::Autonumber),
    ])
}

fn query(list: &[(&str, &str)]) -> Result<Query, QueryError> {
    let pairs: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_pairs(&pairs)
}

fn bound(list: &[(&str, &str)]) -> Result<BoundQuery, BindError> {
    bind(&schema(), &query(list).unwrap())
}

fn only_test(b: &BoundQuery) -> &Test {
    match &b.filter {
        Some(BoundFilter::And(fs)) if fs.len() == 1 => match &fs[0] {
            BoundFilter::Condition(c) => &c.test,
            other => panic!("not a condition: {other:?}"),
        },
        Some(BoundFilter::Condition(c)) => &c.test,
        other => panic!("not one condition: {other:?}"),
    }
}

fn code(list: &[(&str, &str)]) -> &'static str {
    bound(list).unwrap_err().code()
}

#[test]
fn names_resolve_ignoring_case_and_unknown_ones_are_named() {
    assert!(bound(&[("PRICE", "gt.5")]).is_ok());
    let err = bound(&[("Cost", "gt.5")]).unwrap_err();
    assert_eq!(err.code(), "unknown_field");
    assert!(err.to_string().contains("Cost"));
}

#[test]
fn with_fields_by_id_references_are_ids_and_names_are_unknown() {
    let id = Uuid::from_u128(2).to_string();
    assert!(bound(&[("fields_by", "id"), (&id, "gt.5")]).is_ok());
    assert_eq!(
        code(&[("fields_by", "id"), ("Price", "gt.5")]),
        "unknown_field"
    );
}

#[test]
fn a_number_comparison_binds_an_unrounded_real() {
    let b = bound(&[("Price", "gt.4.5")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::Compare {
            op: CompareOp::Gt,
            value: Stored::Real(4.5)
        }
    );
    let err = bound(&[("Price", "gt.cheap")]).unwrap_err();
    assert_eq!(err.code(), "invalid_value");
    assert!(err.to_string().contains("cheap") && err.to_string().contains("Price"));
    assert_eq!(code(&[("Price", "eq.inf")]), "invalid_value");
}

#[test]
fn a_select_value_given_by_name_becomes_the_option_id() {
    let b = bound(&[("Status", "eq.in PROGRESS")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::Compare {
            op: CompareOp::Eq,
            value: Stored::Text("wip".into())
        }
    );
    assert_eq!(code(&[("Status", "eq.nope")]), "invalid_value");
    assert_eq!(code(&[("Status", "gt.done")]), "operator_not_allowed");
}

#[test]
fn multi_select_equality_is_membership() {
    let b = bound(&[("Tags", "eq.Done")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::ContainsAny(vec![Stored::Text("done".into())])
    );
    let b = bound(&[("Tags", "neq.todo")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::ContainsNone(vec![Stored::Text("todo".into())])
    );
}

#[test]
fn like_translates_the_star_and_escapes_sql_wildcards() {
    let b = bound(&[("Title", r"like.*50%_off\*")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::Like(LikePattern {
            pattern: r"%50\%\_off\\%".into(),
            ascii_case_insensitive: false
        })
    );
    let b = bound(&[("Title", "ilike.ÄBC*")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::Like(LikePattern {
            pattern: "Äbc%".into(),
            ascii_case_insensitive: true
        })
    );
}

#[test]
fn like_is_only_for_text_like_fields() {
    assert_eq!(code(&[("Price", "like.1*")]), "operator_not_allowed");
    assert_eq!(code(&[("Status", "ilike.d*")]), "operator_not_allowed");
}

#[test]
fn in_lists_are_typed_item_by_item_deduplicated_and_empty_means_never() {
    let b = bound(&[("Price", "in.(1,2,1)")]).unwrap();
    assert_eq!(
        only_test(&b),
        &Test::In(vec![Stored::Real(1.0), Stored::Real(2.0)])
    );
    let err = bound(&[("Price", "in.(1,x)")]).unwrap_err();
    assert_eq!(err.code(), "invalid_value");
    assert!(err.to_string().contains("\"x\""));
    assert_eq!(
        only_test(&bound(&[("Price", "in.()")]).unwrap()),
        &Test::Never
    );
}

#[test]
fn is_true_and_false_are_only_for_booleans_and_is_null_for_any_field() {
    assert_eq!(
        only_test(&bound(&[("Done", "is.true")]).unwrap()),
        &Test::IsTrue
    );
    assert_eq!(
        only_test(&bound(&[("Done", "is.unknown")]).unwrap()),
        &Test::IsNull
    );
    assert_eq!(code(&[("Title", "is.true")]), "operator_not_allowed");
    for f in ["Title", "Price", "Tags", "Data", "Created", "No"] {
        assert_eq!(only_test(&bound(&[(f, "is.null")]).unwrap()), &Test::IsNull);
    }
}

#[test]
fn booleans_take_true_or_false_and_refuse_ordering() {
    assert_eq!(
        only_test(&bound(&[("Done", "eq.true")]).unwrap()),
        &Test::Compare {
            op: CompareOp::Eq,
            value: Stored::Bool(true)
        }
    );
    assert_eq!(code(&[("Done", "eq.yes")]), "invalid_value");
    assert_eq!(code(&[("Done", "gt.false")]), "operator_not_allowed");
}

#[test]
fn json_fields_take_no_comparison() {
    assert_eq!(code(&[("Data", "eq.1")]), "operator_not_allowed");
    assert_eq!(code(&[("Data", "in.(1)")]), "operator_not_allowed");
}

#[test]
fn read_only_fields_are_filtered_with_their_value_syntax() {
    let b = bound(&[("Created", "gte.2024-01-01T00:00:00+02:00")]).unwrap();
    let Test::Compare {
        value: Stored::Timestamp(t),
        ..
    } = only_test(&b)
    else {
        panic!("not a timestamp comparison");
    };
    assert_eq!(t.to_rfc3339(), "2023-12-31T22:00:00+00:00");
    assert_eq!(
        only_test(&bound(&[("No", "lt.7")]).unwrap()),
        &Test::Compare {
            op: CompareOp::Lt,
            value: Stored::Integer(7)
        }
    );
    assert_eq!(code(&[("No", "lt.7.5")]), "invalid_value");
    assert_eq!(code(&[("Due", "eq.2024-02-30")]), "invalid_value");
}

#[test]
fn a_json_literal_of_the_wrong_kind_is_an_invalid_value() {
    let q = Query::from_json(r#"{"filter": {"field": "Title", "op": "eq", "value": 5}}"#);
    if let Ok(q) = q {
        assert_eq!(bind(&schema(), &q).unwrap_err().code(), "invalid_value");
    }
    let lit = Literal::Bool(true);
    let f = field(1, "Title", FieldType::Text);
    assert_eq!(typed(&f, &lit).unwrap_err().code(), "invalid_value");
}

#[test]
fn the_projection_drops_duplicates_and_keeps_order() {
    let b = bound(&[("select", "Price,title,PRICE,Due")]).unwrap();
    let names: Vec<&str> = b.select.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Price", "Title", "Due"]);
    assert_eq!(bound(&[]).unwrap().select.len(), schema().fields().len());
}

#[test]
fn the_keyset_always_ends_with_the_row_id_ascending() {
    let b = bound(&[("order", "Price.desc,Title")]).unwrap();
    assert_eq!(b.order.len(), 3);
    assert_eq!(b.order[2].target, SortTarget::RowId);
    assert_eq!(b.order[2].direction, Direction::Asc);
    assert_eq!(bound(&[]).unwrap().order.len(), 1);
}

#[test]
fn sorting_on_multi_select_or_json_is_refused() {
    assert_eq!(code(&[("order", "Tags")]), "unsortable_field");
    assert_eq!(code(&[("order", "Data.desc")]), "unsortable_field");
}

#[test]
fn a_cursor_decodes_into_typed_key_values_ending_with_the_row_id() {
    let b = bound(&[("order", "Price.desc,Due")]).unwrap();
    let row = Uuid::from_u128(77);
    let token = b
        .cursor_after(&[Stored::Real(3.0), Stored::Null], row)
        .encode();
    let next = bound(&[("order", "Price.desc,Due"), ("cursor", &token)]).unwrap();
    assert_eq!(
        next.after.unwrap().key,
        vec![Stored::Real(3.0), Stored::Null, Stored::Uuid(row)]
    );
}

#[test]
fn a_cursor_whose_values_do_not_fit_the_fields_is_invalid() {
    let b = bound(&[("order", "Due")]).unwrap();
    let mut cursor = b.cursor_after(&[Stored::Null], Uuid::nil());
    cursor.key = vec![json!("not a date")];
    let q = Query {
        order: query(&[("order", "Due")]).unwrap().order,
        cursor: Some(cursor.clone()),
        ..Query::default()
    };
    assert_eq!(bind(&schema(), &q).unwrap_err().code(), "invalid_cursor");
    let other = Query {
        cursor: Some(cursor),
        ..Query::default()
    };
    assert_eq!(
        bind(&schema(), &other).unwrap_err().code(),
        "invalid_cursor"
    );
}

#[test]
fn a_hand_built_filter_nested_too_deep_is_refused_not_overflowed() {
    let mut f = Filter::And(vec![]);
    for _ in 0..10_000 {
        f = Filter::Not(Box::new(f));
    }
    let q = Query {
        filter: Some(f),
        ..Query::default()
    };
    assert_eq!(bind(&schema(), &q).unwrap_err().code(), "filter_too_deep");
}
