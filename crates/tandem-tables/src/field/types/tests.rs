use super::*;

#[test]
fn a_field_type_reads_and_writes_its_tagged_json() {
    let t: FieldType = serde_json::from_str(r#"{"type":"number","precision":2}"#).unwrap();
    assert_eq!(
        t,
        FieldType::Number {
            precision: Precision::new(2).unwrap()
        }
    );
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        serde_json::json!({"type":"number","precision":2})
    );
    let t: FieldType = serde_json::from_str(r#"{"type":"created_by"}"#).unwrap();
    assert!(t.is_read_only());
}

#[test]
fn precision_above_ten_is_refused() {
    assert!(serde_json::from_str::<FieldType>(r#"{"type":"number","precision":11}"#).is_err());
    assert_eq!(Precision::new(11).unwrap_err().code(), "invalid_precision");
}

#[test]
fn option_names_must_be_unique_ignoring_case() {
    let json =
        r#"{"type":"single_select","options":[{"id":"a","name":"Done"},{"id":"b","name":"DONE"}]}"#;
    assert!(serde_json::from_str::<FieldType>(json).is_err());
    let options = vec![
        SelectOption {
            id: OptionId::parse("a").unwrap(),
            name: OptionName::parse("Done").unwrap(),
            color: None,
        },
        SelectOption {
            id: OptionId::parse("b").unwrap(),
            name: OptionName::parse("done ").unwrap(),
            color: None,
        },
    ];
    assert_eq!(
        SelectOptions::new(options).unwrap_err().code(),
        "duplicate_option_name"
    );
}

#[test]
fn option_ids_must_be_unique_and_slug_like() {
    let json = r#"{"type":"multi_select","options":[{"id":"a","name":"x"},{"id":"a","name":"y"}]}"#;
    assert!(serde_json::from_str::<FieldType>(json).is_err());
    assert!(OptionId::parse("0b7f1c2e-8a6d-4c1e-9f3a-2d5b6c7e8f90").is_ok());
    assert!(OptionId::parse("has space").is_err());
    assert!(OptionId::parse("").is_err());
}

#[test]
fn options_resolve_by_id_before_name() {
    let t: FieldType = serde_json::from_str(
        r#"{"type":"single_select","options":[{"id":"x","name":"y","color":"red"},{"id":"y","name":"z"}]}"#,
    )
    .unwrap();
    let options = t.options().unwrap();
    assert_eq!(options.resolve("y").unwrap().id.as_str(), "y");
    assert_eq!(options.resolve("Z").unwrap().id.as_str(), "y");
    assert!(options.resolve("nope").is_none());
}

#[test]
fn each_type_names_its_sql_kind() {
    assert_eq!(FieldType::Json.sql_kind(), SqlKind::Json);
    assert_eq!(
        FieldType::MultiSelect {
            options: SelectOptions::default()
        }
        .sql_kind(),
        SqlKind::Json
    );
    assert_eq!(
        FieldType::SingleSelect {
            options: SelectOptions::default()
        }
        .sql_kind(),
        SqlKind::Text
    );
    assert_eq!(FieldType::CreatedAt.sql_kind(), SqlKind::Timestamp);
    assert_eq!(FieldType::UpdatedBy.sql_kind(), SqlKind::Uuid);
    assert_eq!(FieldType::Autonumber.sql_kind(), SqlKind::Integer);
}

#[test]
fn an_unknown_type_tag_is_refused() {
    assert!(serde_json::from_str::<FieldType>(r#"{"type":"rollup"}"#).is_err());
}

#[test]
fn every_listed_tag_names_a_type_that_reports_it() {
    for tag in FieldType::TAGS {
        let json = serde_json::json!({"type": tag, "precision": 0, "options": []});
        let t: FieldType = serde_json::from_value(json).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(t.tag(), tag);
    }
    let distinct: std::collections::HashSet<_> = FieldType::TAGS.iter().collect();
    assert_eq!(distinct.len(), FieldType::TAGS.len());
}
