use serde_json::json;

use super::*;

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn read(value: Value, current: Option<&FieldType>) -> Result<Option<FieldType>, ApiError> {
    read_type(&body(value), current)
}

/// The code and the named fields of a refusal.
fn refusal(value: Value, current: Option<&FieldType>) -> (&'static str, Vec<String>) {
    let error = read(value, current).expect_err("a refusal");
    let fields = match &error {
        ApiError::Validation(errors) | ApiError::Pointed { errors, .. } => {
            errors.iter().map(|e| e.field.to_string()).collect()
        }
        _ => Vec::new(),
    };
    (error.code(), fields)
}

fn number(places: u8) -> FieldType {
    FieldType::Number {
        precision: Precision::new(places).unwrap(),
    }
}

fn select(tag: &str, ids: &[&str]) -> FieldType {
    let options: Vec<Value> = ids.iter().map(|id| json!({"id": id, "name": id})).collect();
    serde_json::from_value(json!({"type": tag, "options": options})).unwrap()
}

#[test]
fn every_type_is_read_from_its_tag_with_default_settings() {
    for tag in FieldType::TAGS {
        let read = read(json!({"type": tag}), None).unwrap().unwrap();
        assert_eq!(read.tag(), tag);
    }
    assert_eq!(
        read(json!({"type": "number"}), None).unwrap(),
        Some(number(0))
    );
}

#[test]
fn settings_are_read_beside_the_tag() {
    assert_eq!(
        read(json!({"type": "number", "precision": 2}), None).unwrap(),
        Some(number(2))
    );
    let options =
        json!([{"id": "todo", "name": "To do", "color": "blue"}, {"id": "done", "name": "Done"}]);
    let read = read(json!({"type": "multi_select", "options": options}), None)
        .unwrap()
        .unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap()["options"], options);
}

#[test]
fn a_type_is_required_on_create_and_must_be_known() {
    assert_eq!(
        refusal(json!({}), None),
        ("validation_failed", vec!["type".into()])
    );
    assert_eq!(
        refusal(json!({"type": 3}), None),
        ("validation_failed", vec!["type".into()])
    );
    assert_eq!(
        refusal(json!({"type": "rollup"}), None).0,
        "unknown_field_type"
    );
}

#[test]
fn a_precision_outside_the_range_is_invalid_precision_and_a_non_number_is_invalid() {
    for places in [json!(11), json!(300), json!(-1), json!(u64::MAX)] {
        assert_eq!(
            refusal(json!({"type": "number", "precision": places}), None),
            ("invalid_precision", vec!["precision".into()]),
            "{places}"
        );
    }
    for places in [json!("2"), json!(1.5), json!(null)] {
        assert_eq!(
            refusal(json!({"type": "number", "precision": places}), None).0,
            "validation_failed",
            "{places}"
        );
    }
}

#[test]
fn bad_options_carry_their_rules_code_and_say_where() {
    let cases = [
        (
            json!([{"id": "a b", "name": "x"}]),
            "invalid_option_id",
            "options[0].id",
        ),
        (
            json!([{"id": "a", "name": " "}]),
            "invalid_option_name",
            "options[0].name",
        ),
        (
            json!([{"id": "a", "name": "x", "color": "bad color"}]),
            "invalid_color",
            "options[0].color",
        ),
        (
            json!([{"id": "a", "name": "x"}, {"id": "a", "name": "y"}]),
            "duplicate_option_id",
            "options",
        ),
        (
            json!([{"id": "a", "name": "x"}, {"id": "b", "name": "X"}]),
            "duplicate_option_name",
            "options",
        ),
        (json!([{"id": "a"}]), "validation_failed", "options[0].name"),
        (
            json!([{"id": "a", "name": "x", "rank": 1}]),
            "validation_failed",
            "options[0].rank",
        ),
        (json!(["a"]), "validation_failed", "options[0]"),
        (json!({"a": "x"}), "validation_failed", "options"),
    ];
    for (options, code, field) in cases {
        assert_eq!(
            refusal(json!({"type": "single_select", "options": options}), None),
            (code, vec![field.to_owned()]),
            "{options}"
        );
    }
    let many: Vec<Value> = (0..=MAX_OPTIONS)
        .map(|i| json!({"id": format!("o{i}"), "name": format!("O{i}")}))
        .collect();
    assert_eq!(
        refusal(json!({"type": "single_select", "options": many}), None).0,
        "too_many_options"
    );
}

#[test]
fn a_setting_of_another_type_is_refused_by_name() {
    let (code, mut fields) = refusal(
        json!({"type": "text", "precision": 2, "colour": "red"}),
        None,
    );
    fields.sort();
    assert_eq!(
        (code, fields),
        (
            "validation_failed",
            vec!["colour".into(), "precision".into()]
        )
    );
}

#[test]
fn an_update_without_type_or_settings_changes_no_type() {
    assert_eq!(read(json!({}), Some(&number(2))).unwrap(), None);
}

#[test]
fn settings_without_a_type_change_the_current_types_settings() {
    assert_eq!(
        read(json!({"precision": 4}), Some(&number(2))).unwrap(),
        Some(number(4))
    );
    assert_eq!(
        refusal(json!({"precision": 4}), Some(&FieldType::Text)).0,
        "validation_failed"
    );
}

#[test]
fn settings_not_given_are_kept_where_the_new_type_has_them() {
    let single = select("single_select", &["a", "b"]);
    let multi = read(json!({"type": "multi_select"}), Some(&single))
        .unwrap()
        .unwrap();
    assert_eq!(multi, select("multi_select", &["a", "b"]));
    assert_eq!(
        read(json!({"type": "number"}), Some(&single)).unwrap(),
        Some(number(0))
    );
}
