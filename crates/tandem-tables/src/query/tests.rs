//! Unit tests of the query layer: the URL grammar, the JSON twin, cursors and bounds.

use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn url(list: &[(&str, &str)]) -> Result<Query, QueryError> {
    parse_pairs(&pairs(list))
}

fn cond(field: &str, op: Op, value: &str) -> Filter {
    Filter::Condition(Condition {
        field: field.into(),
        op,
        value: Operand::Scalar(Literal::Text(value.into())),
    })
}

#[test]
fn a_field_parameter_is_one_condition_with_its_value_verbatim() {
    let q = url(&[("Price", "gt.5.5,x)")]).unwrap();
    assert_eq!(q.filter, Some(cond("Price", Op::Gt, "5.5,x)")));
}

#[test]
fn several_top_level_conditions_and_together_in_order() {
    let q = url(&[("a", "eq.1"), ("b", "not.like.*x*")]).unwrap();
    assert_eq!(
        q.filter,
        Some(Filter::And(vec![
            cond("a", Op::Eq, "1"),
            Filter::Not(Box::new(cond("b", Op::Like, "*x*"))),
        ]))
    );
}

#[test]
fn in_lists_take_quoted_items_with_escapes() {
    assert_eq!(
        url(&[("Tags", "in.(a")]).unwrap_err().code(),
        "malformed_filter"
    );
    let q = url(&[("Tags", r#"in.(a,"b,c","d\"e")"#)]).unwrap();
    let Some(Filter::Condition(c)) = q.filter else {
        panic!("not a condition")
    };
    let texts = |items: &[&str]| items.iter().map(|s| Literal::Text(s.to_string())).collect();
    assert_eq!(c.value, Operand::List(texts(&["a", "b,c", "d\"e"])));
}

#[test]
fn is_takes_only_its_keywords() {
    let q = url(&[("Done", "is.true")]).unwrap();
    let Some(Filter::Condition(c)) = q.filter else {
        panic!("not a condition")
    };
    assert_eq!((c.op, c.value), (Op::Is, Operand::Is(IsValue::True)));
    assert_eq!(
        url(&[("Done", "is.maybe")]).unwrap_err().code(),
        "malformed_filter"
    );
}

#[test]
fn logic_trees_nest_and_negate() {
    let q = url(&[(
        "or",
        "(a.eq.1,and(b.gt.2,c.not.is.null),not.or(d.in.(1,2),\"e.f\".eq.\"x,y\"))",
    )])
    .unwrap();
    let expected = Filter::Or(vec![
        cond("a", Op::Eq, "1"),
        Filter::And(vec![
            cond("b", Op::Gt, "2"),
            Filter::Not(Box::new(Filter::Condition(Condition {
                field: "c".into(),
                op: Op::Is,
                value: Operand::Is(IsValue::Null),
            }))),
        ]),
        Filter::Not(Box::new(Filter::Or(vec![
            Filter::Condition(Condition {
                field: "d".into(),
                op: Op::In,
                value: Operand::List(vec![Literal::Text("1".into()), Literal::Text("2".into())]),
            }),
            cond("e.f", Op::Eq, "x,y"),
        ]))),
    ]);
    assert_eq!(q.filter, Some(expected));
}

#[test]
fn a_quoted_key_filters_on_a_field_named_like_a_reserved_parameter() {
    let q = url(&[("\"order\"", "eq.1")]).unwrap();
    assert_eq!(q.filter, Some(cond("order", Op::Eq, "1")));
    assert_eq!(
        url(&[("not", "eq.1")]).unwrap_err().code(),
        "malformed_filter"
    );
}

#[test]
fn an_unknown_operator_is_named_with_its_offset() {
    let err = url(&[("or", "(a.eq.1,b.between.2)")]).unwrap_err();
    assert_eq!(err.code(), "unknown_operator");
    let at = err.location().unwrap();
    assert_eq!(
        (at.param.as_str(), at.offset, at.fragment.as_str()),
        ("or", 10, "between.2)")
    );
}

#[test]
fn malformed_trees_are_refused_not_panicked_on() {
    for bad in [
        "(",
        "()",
        "(a)",
        "(a.eq)",
        "(a.eq.1",
        "(a.eq.1))",
        "a.eq.1",
        "(\"a",
        "(and(a.eq.1)",
    ] {
        let err = url(&[("or", bad)]).unwrap_err();
        assert_eq!(err.code(), "malformed_filter", "{bad}");
    }
}

#[test]
fn order_reads_directions_and_nulls_with_postgrest_defaults() {
    let q = url(&[("order", "a.desc.nullslast,b,c.desc,\"d.e\".nullsfirst")]).unwrap();
    let sort = |f: &str, direction, nulls| Sort {
        field: f.into(),
        direction,
        nulls,
    };
    assert_eq!(
        q.order,
        vec![
            sort("a", Direction::Desc, Nulls::Last),
            sort("b", Direction::Asc, Nulls::Last),
            sort("c", Direction::Desc, Nulls::First),
            sort("d.e", Direction::Asc, Nulls::First),
        ]
    );
    for bad in ["", "a.up", "a,", "a.nullslast.desc", "a.asc.asc"] {
        assert_eq!(
            url(&[("order", bad)]).unwrap_err().code(),
            "malformed_order",
            "{bad}"
        );
    }
}

#[test]
fn select_lists_fields_and_star_means_all() {
    let q = url(&[("select", "Name,\"a,b\",c.d")]).unwrap();
    assert_eq!(
        q.select,
        Some(vec!["Name".into(), "a,b".into(), "c.d".into()])
    );
    assert_eq!(url(&[("select", "*")]).unwrap().select, None);
    assert_eq!(
        url(&[("select", "a,,b")]).unwrap_err().code(),
        "malformed_select"
    );
}

#[test]
fn limit_is_digits_within_bounds() {
    assert_eq!(url(&[("limit", "100")]).unwrap().limit, Some(100));
    for bad in ["", "-1", "+1", "1e3", "10001", "99999999999"] {
        assert_eq!(
            url(&[("limit", bad)]).unwrap_err().code(),
            "invalid_limit",
            "{bad}"
        );
    }
}

#[test]
fn a_parameter_given_twice_is_refused() {
    let err = url(&[("limit", "1"), ("limit", "2")]).unwrap_err();
    assert_eq!(err.code(), "duplicate_parameter");
}

#[test]
fn bounds_have_their_own_codes() {
    let deep = format!("{}a.eq.1{}", "and(".repeat(16), ")".repeat(16));
    assert_eq!(
        url(&[("or", &format!("({deep})"))]).unwrap_err().code(),
        "filter_too_deep"
    );
    let shallow = format!("{}a.eq.1{}", "and(".repeat(15), ")".repeat(15));
    assert!(url(&[("or", &format!("({shallow})"))]).is_ok());
    let many = vec!["a.eq.1"; 101].join(",");
    assert_eq!(
        url(&[("or", &format!("({many})"))]).unwrap_err().code(),
        "too_many_conditions"
    );
    let items = vec!["1"; 1001].join(",");
    assert_eq!(
        url(&[("a", &format!("in.({items})"))]).unwrap_err().code(),
        "in_list_too_long"
    );
    let long = "x".repeat(MAX_VALUE_BYTES + 1);
    assert_eq!(
        url(&[("a", &format!("eq.{long}"))]).unwrap_err().code(),
        "value_too_long"
    );
    assert_eq!(
        url(&[("search", &long)]).unwrap_err().code(),
        "value_too_long"
    );
}

#[test]
fn a_raw_query_string_is_percent_decoded_first() {
    let q = parse_query_string("Full%20name=eq.Ada+L&&order=Price.desc&limit=5").unwrap();
    assert_eq!(q.filter, Some(cond("Full name", Op::Eq, "Ada L")));
    assert_eq!(q.limit, Some(5));
    let err = parse_query_string("a=eq.1&b=eq.%FF").unwrap_err();
    assert_eq!(err.code(), "malformed_query_string");
    assert_eq!(err.location().unwrap().offset, 9);
}

#[test]
fn printing_a_query_gives_a_link_that_parses_back_to_it() {
    let q = url(&[
        ("or", "(a.eq.\"x,y\",b.not.in.(\"\",z))"),
        ("Name", "ilike.*ada*"),
        ("order", "Price.desc.nullslast"),
        ("select", "Name,Price"),
        ("limit", "20"),
        ("search", "a&b=c"),
        ("fields_by", "id"),
    ])
    .unwrap();
    assert_eq!(parse_query_string(&q.to_query_string()).unwrap(), q);
}

#[test]
fn a_cursor_round_trips_and_is_refused_for_another_sort() {
    let order = vec![Sort::new("Price".into(), Direction::Desc)];
    let id = uuid::Uuid::nil();
    let cursor = Cursor::new(order.clone(), vec![serde_json::json!(5.5)], id).unwrap();
    let token = cursor.encode();
    let q = url(&[("cursor", &token), ("order", "Price.desc")]).unwrap();
    assert_eq!(q.cursor, Some(cursor));
    let err = url(&[("cursor", &token), ("order", "Price")]).unwrap_err();
    assert_eq!(err.code(), "invalid_cursor");
    for bad in ["", "!!", "e30", &token[1..]] {
        assert_eq!(
            Cursor::decode(bad).unwrap_err().code(),
            "invalid_cursor",
            "{bad}"
        );
    }
    assert!(Cursor::new(order, vec![], id).is_none());
}

#[test]
fn the_json_twin_reads_the_documented_example() {
    let body = r#"{"filter": {"and": [{"field": "Price", "op": "gt", "value": 5},
        {"not": {"field": "Tags", "op": "in", "value": ["a","b"]}}]},
        "order": [{"field": "Price", "direction": "desc", "nulls": "last"}],
        "select": ["Name"], "limit": 100}"#;
    let q = Query::from_json(body).unwrap();
    let Some(Filter::And(children)) = &q.filter else {
        panic!("not an and")
    };
    assert_eq!(
        children[0],
        Filter::Condition(Condition {
            field: "Price".into(),
            op: Op::Gt,
            value: Operand::Scalar(Literal::Number(5.into())),
        })
    );
    assert_eq!(q.order[0].nulls, Nulls::Last);
    assert_eq!(q.limit, Some(100));
    assert_eq!(Query::from_json(&q.to_json().to_string()).unwrap(), q);
}

#[test]
fn the_json_twin_is_strict() {
    let cases = [
        (r#"{"filtre": {}}"#, "malformed_json"),
        (
            r#"{"filter": {"field": "a", "op": "eq", "value": 1, "x": 2}}"#,
            "malformed_filter",
        ),
        (
            r#"{"filter": {"field": "a", "op": "eq", "value": null}}"#,
            "malformed_filter",
        ),
        (
            r#"{"filter": {"field": "a", "op": "near", "value": 1}}"#,
            "unknown_operator",
        ),
        (r#"{"filter": {"and": []}}"#, "malformed_filter"),
        (
            r#"{"filter": {"field": "a", "op": "in", "value": [[1]]}}"#,
            "malformed_filter",
        ),
        (
            r#"{"order": [{"field": "a", "direction": "up"}]}"#,
            "malformed_order",
        ),
        (
            r#"{"order": [{"field": "a", "sense": "up"}]}"#,
            "malformed_json",
        ),
        (r#"{"limit": -1}"#, "invalid_limit"),
        (r#"{"limit": 1.5}"#, "invalid_limit"),
        (r#"{"select": []}"#, "malformed_select"),
        (r#"{"cursor": "nope"}"#, "invalid_cursor"),
        (r#"[1"#, "malformed_json"),
    ];
    for (body, code) in cases {
        assert_eq!(Query::from_json(body).unwrap_err().code(), code, "{body}");
    }
}

#[test]
fn the_json_twin_has_the_same_depth_bound() {
    let mut f = r#"{"field": "a", "op": "eq", "value": 1}"#.to_string();
    for _ in 0..17 {
        f = format!(r#"{{"or": [{f}]}}"#);
    }
    let err = Query::from_json(&format!(r#"{{"filter": {f}}}"#)).unwrap_err();
    assert_eq!(err.code(), "filter_too_deep");
}
