use super::*;
use crate::field::types::Precision;
use crate::field::value::tests::{any_json, any_writable_type, select};
use proptest::prelude::*;
use serde_json::json;

fn num(p: u8) -> FieldType {
    FieldType::Number {
        precision: Precision::new(p).unwrap(),
    }
}

fn cell(t: &FieldType, v: Value) -> CellValue {
    validate(t, v, &Limits::default()).unwrap()
}

fn conv(from: &FieldType, to: &FieldType, v: Value) -> Conversion {
    convert(from, to, &cell(from, v), &Limits::default())
}

fn kept(from: &FieldType, to: &FieldType, v: Value) -> Value {
    match conv(from, to, v) {
        Conversion::Kept(c) => c.to_json(),
        Conversion::Lost => panic!("lost"),
    }
}

#[test]
fn numbers_become_text_with_their_precision() {
    assert_eq!(kept(&num(2), &FieldType::Text, json!(3.5)), json!("3.50"));
}

#[test]
fn text_becomes_a_number_when_it_parses_and_is_lost_otherwise() {
    assert_eq!(kept(&FieldType::Text, &num(1), json!(" 2.25 ")), json!(2.3));
    assert!(conv(&FieldType::Text, &num(1), json!("abc")).is_lost());
    assert!(conv(&FieldType::Text, &num(1), json!("inf")).is_lost());
}

#[test]
fn selects_become_text_by_option_name_and_back() {
    assert_eq!(
        kept(&select(false), &FieldType::Text, json!("wip")),
        json!("In progress")
    );
    assert_eq!(
        kept(&select(true), &FieldType::Text, json!(["done", "todo"])),
        json!("Done, To do")
    );
    assert_eq!(
        kept(&FieldType::Text, &select(false), json!("done")),
        json!("done")
    );
    assert!(conv(&FieldType::Text, &select(false), json!("Blocked")).is_lost());
    assert_eq!(
        kept(
            &FieldType::Text,
            &select(true),
            json!("done, In Progress, nope")
        ),
        json!(["done", "wip"])
    );
}

#[test]
fn a_multi_select_becomes_a_single_select_keeping_the_first_option() {
    assert_eq!(
        kept(&select(true), &select(false), json!(["wip", "done"])),
        json!("wip")
    );
    assert_eq!(
        kept(&select(false), &select(true), json!("done")),
        json!(["done"])
    );
}

#[test]
fn options_missing_from_the_new_list_match_by_name() {
    let to: FieldType = serde_json::from_value(
        json!({"type": "single_select", "options": [{"id": "n1", "name": "done"}]}),
    )
    .unwrap();
    assert_eq!(kept(&select(false), &to, json!("done")), json!("n1"));
    assert!(conv(&select(false), &to, json!("todo")).is_lost());
}

#[test]
fn anything_becomes_json_and_json_becomes_text_serialised() {
    assert_eq!(
        kept(&FieldType::Date, &FieldType::Json, json!("2024-01-02")),
        json!("2024-01-02")
    );
    assert_eq!(
        kept(&select(true), &FieldType::Json, json!(["done"])),
        json!(["Done"])
    );
    assert_eq!(
        kept(&FieldType::Json, &FieldType::Text, json!({"a": 1})),
        json!("{\"a\":1}")
    );
    assert_eq!(
        kept(&FieldType::Json, &FieldType::Text, json!("plain")),
        json!("plain")
    );
}

#[test]
fn dates_and_instants_convert_through_utc_midnight() {
    assert_eq!(
        kept(
            &FieldType::Datetime,
            &FieldType::Date,
            json!("2024-01-02T23:30:00-02:00")
        ),
        json!("2024-01-03")
    );
    assert_eq!(
        kept(&FieldType::Date, &FieldType::Datetime, json!("2024-01-02")),
        json!("2024-01-02T00:00:00.000000Z")
    );
    assert_eq!(
        kept(
            &FieldType::Text,
            &FieldType::Date,
            json!("2024-01-02T10:00:00Z")
        ),
        json!("2024-01-02")
    );
    assert!(conv(&FieldType::Date, &num(0), json!("2024-01-02")).is_lost());
}

#[test]
fn booleans_convert_from_numbers_and_words() {
    assert_eq!(kept(&num(0), &FieldType::Boolean, json!(2)), json!(true));
    assert_eq!(
        kept(&FieldType::Text, &FieldType::Boolean, json!("No")),
        json!(false)
    );
    assert!(conv(&FieldType::Text, &FieldType::Boolean, json!("maybe")).is_lost());
    assert_eq!(kept(&FieldType::Boolean, &num(0), json!(true)), json!(1.0));
}

#[test]
fn values_into_read_only_types_are_lost_but_empties_stay_empty() {
    assert!(conv(&FieldType::Text, &FieldType::Autonumber, json!("1")).is_lost());
    assert_eq!(
        convert(
            &FieldType::Text,
            &FieldType::CreatedAt,
            &CellValue::Null,
            &Limits::default()
        ),
        Conversion::Kept(CellValue::Null)
    );
    let n = CellValue::Integer(7);
    assert_eq!(
        convert(
            &FieldType::Autonumber,
            &FieldType::Text,
            &n,
            &Limits::default()
        ),
        Conversion::Kept(CellValue::Text("7".into()))
    );
}

#[test]
fn text_over_the_cell_limit_is_lost() {
    let limits = Limits {
        max_cell_bytes: 4,
        ..Limits::default()
    };
    let v = cell(&FieldType::Json, json!([1, 2, 3]));
    assert!(convert(&FieldType::Json, &FieldType::Text, &v, &limits).is_lost());
}

proptest! {
    #[test]
    fn every_conversion_yields_a_value_valid_for_the_new_type(
        from in any_writable_type(), to in any_writable_type(), v in any_json()
    ) {
        let limits = Limits::default();
        if let Ok(value) = validate(&from, v, &limits)
            && let Conversion::Kept(out) = convert(&from, &to, &value, &limits)
        {
            prop_assert_eq!(validate(&to, out.to_json(), &limits).unwrap(), out);
        }
    }
}
