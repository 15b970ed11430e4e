use super::*;
use crate::field::types::SelectOptions;
use proptest::prelude::*;
use serde_json::json;

pub(crate) fn select(multi: bool) -> FieldType {
    let options: SelectOptions = serde_json::from_value(json!([
        {"id": "todo", "name": "To do"},
        {"id": "done", "name": "Done", "color": "green"},
        {"id": "wip", "name": "In progress"}
    ]))
    .unwrap();
    if multi {
        FieldType::MultiSelect { options }
    } else {
        FieldType::SingleSelect { options }
    }
}

fn num(p: u8) -> FieldType {
    FieldType::Number {
        precision: Precision::new(p).unwrap(),
    }
}

fn check(t: &FieldType, v: Value) -> Result<CellValue, ValueError> {
    validate(t, v, &Limits::default())
}

fn code(t: &FieldType, v: Value) -> &'static str {
    check(t, v).unwrap_err().code()
}

#[test]
fn read_only_fields_refuse_every_write_even_null() {
    for t in [
        FieldType::Autonumber,
        FieldType::CreatedAt,
        FieldType::UpdatedAt,
        FieldType::CreatedBy,
        FieldType::UpdatedBy,
    ] {
        assert_eq!(code(&t, Value::Null), "read_only_field");
        assert_eq!(code(&t, json!(1)), "read_only_field");
    }
}

#[test]
fn null_and_empty_strings_empty_a_text_cell() {
    assert_eq!(
        check(&FieldType::Text, Value::Null).unwrap(),
        CellValue::Null
    );
    assert_eq!(
        check(&FieldType::LongText, json!("")).unwrap(),
        CellValue::Null
    );
    assert_eq!(code(&FieldType::Text, json!(3)), "wrong_type");
}

#[test]
fn text_refuses_nul_and_oversized_values() {
    assert_eq!(code(&FieldType::Text, json!("a\u{0}b")), "nul_character");
    let limits = Limits {
        max_cell_bytes: 4,
        ..Limits::default()
    };
    assert_eq!(
        validate(&FieldType::Text, json!("héllo"), &limits)
            .unwrap_err()
            .code(),
        "value_too_large"
    );
    assert!(validate(&FieldType::Text, json!("héll"), &limits).is_err());
    assert!(validate(&FieldType::Text, json!("hél"), &limits).is_ok());
}

#[test]
fn numbers_are_rounded_to_the_fields_precision() {
    assert_eq!(
        check(&num(2), json!(0.1 + 0.2)).unwrap(),
        CellValue::Number(0.3)
    );
    assert_eq!(check(&num(0), json!(2.5)).unwrap(), CellValue::Number(3.0));
    assert_eq!(
        check(&num(0), json!(-2.5)).unwrap(),
        CellValue::Number(-3.0)
    );
    assert_eq!(check(&num(1), json!(-0.01)).unwrap().to_json(), json!(0.0));
    assert_eq!(code(&num(2), json!("12")), "wrong_type");
    assert_eq!(code(&num(0), json!(1e300)), "number_out_of_range");
    assert_eq!(code(&num(0), json!(u64::MAX)), "number_out_of_range");
}

#[test]
fn booleans_take_only_true_and_false() {
    assert_eq!(
        check(&FieldType::Boolean, json!(true)).unwrap(),
        CellValue::Boolean(true)
    );
    assert_eq!(code(&FieldType::Boolean, json!(1)), "wrong_type");
    assert_eq!(code(&FieldType::Boolean, json!("true")), "wrong_type");
}

#[test]
fn dates_and_datetimes_read_back_canonically() {
    assert_eq!(
        check(&FieldType::Date, json!("2024-02-29"))
            .unwrap()
            .to_json(),
        json!("2024-02-29")
    );
    assert_eq!(code(&FieldType::Date, json!("29/02/2024")), "invalid_date");
    let t = check(&FieldType::Datetime, json!("2024-05-01T09:30:00+02:00")).unwrap();
    assert_eq!(t.to_json(), json!("2024-05-01T07:30:00.000000Z"));
    assert_eq!(
        code(&FieldType::Datetime, json!("2024-05-01")),
        "invalid_datetime"
    );
}

#[test]
fn a_single_select_takes_an_option_id_or_a_name_in_any_case() {
    let t = select(false);
    assert_eq!(check(&t, json!("done")).unwrap().to_json(), json!("done"));
    assert_eq!(
        check(&t, json!("IN PROGRESS")).unwrap().to_json(),
        json!("wip")
    );
    assert_eq!(code(&t, json!("Blocked")), "unknown_option");
    assert_eq!(code(&t, json!(["done"])), "wrong_type");
}

#[test]
fn a_multi_select_takes_an_array_without_repeats() {
    let t = select(true);
    assert_eq!(
        check(&t, json!(["Done", "todo"])).unwrap().to_json(),
        json!(["done", "todo"])
    );
    assert_eq!(check(&t, json!([])).unwrap(), CellValue::Null);
    assert_eq!(code(&t, json!(["done", "DONE"])), "duplicate_option");
    assert_eq!(code(&t, json!("done")), "wrong_type");
    assert_eq!(code(&t, json!(["done", 1])), "wrong_type");
}

#[test]
fn users_emails_and_urls_are_checked() {
    let id = "0b7f1c2e-8a6d-4c1e-9f3a-2d5b6c7e8f90";
    assert_eq!(
        check(&FieldType::User, json!(id)).unwrap().to_json(),
        json!(id)
    );
    assert_eq!(code(&FieldType::User, json!("bob")), "invalid_user");
    assert_eq!(
        check(&FieldType::Email, json!(" a@b.co "))
            .unwrap()
            .to_json(),
        json!("a@b.co")
    );
    assert_eq!(code(&FieldType::Email, json!("a@b")), "invalid_email");
    assert!(check(&FieldType::Url, json!("https://example.com/x")).is_ok());
    assert_eq!(
        code(&FieldType::Url, json!("javascript:alert(1)")),
        "invalid_url"
    );
}

#[test]
fn json_cells_are_bounded_in_size_and_depth() {
    assert_eq!(
        check(&FieldType::Json, json!({"a": [1, 2]}))
            .unwrap()
            .to_json(),
        json!({"a": [1, 2]})
    );
    let limits = Limits {
        max_cell_bytes: 8,
        max_json_depth: 2,
    };
    assert_eq!(
        validate(&FieldType::Json, json!("123456789"), &limits)
            .unwrap_err()
            .code(),
        "value_too_large"
    );
    assert_eq!(
        validate(&FieldType::Json, json!([[[]]]), &limits)
            .unwrap_err()
            .code(),
        "json_too_deep"
    );
    assert!(validate(&FieldType::Json, json!([[]]), &limits).is_ok());
}

pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("done"),
            Just("DONE"),
            Just("2024-02-29"),
            Just("2024-05-01T09:30:00Z"),
            Just("a@b.co"),
            Just("https://x.io"),
            Just("0b7f1c2e-8a6d-4c1e-9f3a-2d5b6c7e8f90")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

pub(crate) fn any_writable_type() -> impl Strategy<Value = FieldType> {
    prop_oneof![
        Just(FieldType::Text),
        Just(FieldType::LongText),
        (0u8..=10).prop_map(num),
        Just(FieldType::Boolean),
        Just(FieldType::Date),
        Just(FieldType::Datetime),
        Just(select(false)),
        Just(select(true)),
        Just(FieldType::User),
        Just(FieldType::Email),
        Just(FieldType::Url),
        Just(FieldType::Json),
    ]
}

proptest! {
    #[test]
    fn any_json_value_either_validates_or_errors_and_a_valid_value_revalidates_to_itself(
        t in any_writable_type(), v in any_json()
    ) {
        if let Ok(cell) = check(&t, v) {
            prop_assert_eq!(check(&t, cell.to_json()).unwrap(), cell);
        }
    }

    #[test]
    fn any_double_rounds_idempotently(x in any::<f64>(), p in 0u8..=10) {
        if let Ok(CellValue::Number(r)) = check(&num(p), json!(x)) {
            prop_assert_eq!(check(&num(p), json!(r)).unwrap(), CellValue::Number(r));
        }
    }

    #[test]
    fn any_rfc3339_instant_round_trips(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
        if let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) {
            let cell = check(&FieldType::Datetime, json!(t.to_rfc3339()));
            if let Ok(cell) = cell {
                prop_assert_eq!(check(&FieldType::Datetime, cell.to_json()).unwrap(), cell);
            }
        }
    }
}

#[test]
fn rounding_works_on_the_decimal_the_client_typed() {
    assert_eq!(
        check(&num(2), json!(1.005)).unwrap(),
        CellValue::Number(1.01)
    );
    assert_eq!(check(&num(0), json!(9.5)).unwrap(), CellValue::Number(10.0));
    assert_eq!(
        check(&num(3), json!(99.9996)).unwrap(),
        CellValue::Number(100.0)
    );
    assert_eq!(
        check(&num(10), json!(1e-11)).unwrap(),
        CellValue::Number(0.0)
    );
}
