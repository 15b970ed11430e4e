//! Unit tests of the reference semantics: null logic, like, orders, projection, paging.

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::bind::tests::schema;
use crate::bind::{BindError, bind};
use crate::field::{CellValue, OptionId};
use crate::query::parse_pairs;

fn row(n: u128, cells: &[(u128, CellValue)]) -> Row {
    Row {
        id: Uuid::from_u128(n),
        cells: cells
            .iter()
            .map(|(f, v)| (Uuid::from_u128(*f), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn text(s: &str) -> CellValue {
    CellValue::Text(s.into())
}

fn q(list: &[(&str, &str)]) -> Result<BoundQuery, BindError> {
    let pairs: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    bind(&schema(), &parse_pairs(&pairs).unwrap())
}

fn ids(list: &[(&str, &str)], rows: &[Row]) -> Vec<u128> {
    evaluate(&q(list).unwrap(), rows)
        .rows
        .iter()
        .map(|r| r.id.as_u128())
        .collect()
}

fn titles() -> Vec<Row> {
    vec![
        row(1, &[(1, text("apple"))]),
        row(2, &[(1, text("Apple"))]),
        row(3, &[]),
        row(4, &[(1, text("éclair"))]),
        row(5, &[(1, text("50%_off"))]),
        row(6, &[(1, text("ÉCLAIR"))]),
    ]
}

#[test]
fn comparisons_on_empty_cells_are_unknown_so_neither_eq_nor_its_negation_match() {
    let rows = titles();
    assert_eq!(ids(&[("Title", "neq.apple")], &rows), [2, 4, 5, 6]);
    assert_eq!(ids(&[("Title", "not.eq.apple")], &rows), [2, 4, 5, 6]);
    assert_eq!(ids(&[("Title", "is.null")], &rows), [3]);
    assert_eq!(
        ids(&[("or", "(Title.eq.apple,Title.is.null)")], &rows),
        [1, 3]
    );
}

#[test]
fn an_empty_in_list_matches_no_row_not_even_empty_ones() {
    assert!(ids(&[("Title", "in.()")], &titles()).is_empty());
    assert_eq!(ids(&[("Title", "not.in.()")], &titles()).len(), 6);
}

#[test]
fn like_escapes_sql_wildcards_and_ilike_folds_ascii_only() {
    let rows = titles();
    assert_eq!(ids(&[("Title", "like.*%_*")], &rows), [5]);
    assert_eq!(ids(&[("Title", "like.a*")], &rows), [1]);
    assert_eq!(ids(&[("Title", "ilike.APPLE")], &rows), [1, 2]);
    assert_eq!(ids(&[("Title", "ilike.éclair")], &rows), [4]);
    assert_eq!(ids(&[("Title", "like.*")], &rows), [1, 2, 4, 5, 6]);
}

#[test]
fn text_sorts_by_code_point_with_nulls_where_asked() {
    let rows = titles();
    assert_eq!(ids(&[("order", "Title")], &rows), [5, 2, 1, 6, 4, 3]);
    assert_eq!(
        ids(&[("order", "Title.desc.nullslast")], &rows),
        [4, 6, 1, 2, 5, 3]
    );
    assert_eq!(ids(&[("order", "Title.desc")], &rows), [3, 4, 6, 1, 2, 5]);
}

#[test]
fn ties_break_on_the_row_id_ascending() {
    let rows = vec![
        row(9, &[(3, CellValue::Boolean(true))]),
        row(2, &[(3, CellValue::Boolean(false))]),
        row(5, &[(3, CellValue::Boolean(true))]),
    ];
    assert_eq!(ids(&[("order", "Done.desc")], &rows), [5, 9, 2]);
    assert_eq!(ids(&[("Done", "is.false")], &rows), [2]);
}

#[test]
fn multi_select_filters_test_membership() {
    let opts = |ids: &[&str]| {
        CellValue::Options(ids.iter().map(|i| OptionId::parse(i).unwrap()).collect())
    };
    let rows = vec![
        row(1, &[(5, opts(&["todo", "wip"]))]),
        row(2, &[(5, opts(&["done"]))]),
        row(3, &[]),
    ];
    assert_eq!(ids(&[("Tags", "eq.wip")], &rows), [1]);
    assert_eq!(ids(&[("Tags", "in.(done,To do)")], &rows), [1, 2]);
    assert_eq!(ids(&[("Tags", "neq.done")], &rows), [1]);
}

#[test]
fn numbers_compare_numerically() {
    let rows = vec![
        row(1, &[(2, CellValue::Number(10.0))]),
        row(2, &[(2, CellValue::Number(9.0))]),
        row(3, &[(2, CellValue::Number(-1.0))]),
    ];
    assert_eq!(
        ids(&[("Price", "gt.4.5"), ("order", "Price")], &rows),
        [2, 1]
    );
    assert_eq!(ids(&[("Price", "lte.-0")], &rows), [3]);
}

#[test]
fn the_projection_returns_only_the_selected_cells() {
    let rows = vec![row(1, &[(1, text("a")), (2, CellValue::Number(1.0))])];
    let page = evaluate(&q(&[("select", "Price,Due")]).unwrap(), &rows);
    assert_eq!(
        page.rows[0]
            .cells
            .keys()
            .map(|k| k.as_u128())
            .collect::<Vec<_>>(),
        [2, 7]
    );
    assert_eq!(page.rows[0].cells[&Uuid::from_u128(7)], CellValue::Null);
    assert_eq!(
        page.rows[0].cells[&Uuid::from_u128(2)].to_json(),
        json!(1.0)
    );
}

#[test]
fn a_page_names_its_last_row_only_when_more_rows_follow() {
    let rows = titles();
    let first = evaluate(&q(&[("order", "Title"), ("limit", "4")]).unwrap(), &rows);
    assert_eq!(first.rows.len(), 4);
    let token = first.next_cursor.unwrap().encode();
    let second = evaluate(
        &q(&[("order", "Title"), ("limit", "4"), ("cursor", &token)]).unwrap(),
        &rows,
    );
    let got: Vec<u128> = second.rows.iter().map(|r| r.id.as_u128()).collect();
    assert_eq!(got, [4, 3]);
    assert!(second.next_cursor.is_none());
}
