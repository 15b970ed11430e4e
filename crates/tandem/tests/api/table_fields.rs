//! Fields of live tables over REST: every type with its settings, listing by position,
//! name rules, each settings rule's code, and the per-table limit.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, invalid_fields, spawn_app, spawn_app_with};
use crate::tables_helpers::{change, create_field, id, options, read, table};

/// A body for every field type, with settings where the type has them.
fn every_type() -> Vec<Value> {
    vec![
        json!({"name": "Title", "type": "text"}),
        json!({"name": "Notes", "type": "long_text"}),
        json!({"name": "Price", "type": "number", "precision": 2}),
        json!({"name": "Done", "type": "boolean"}),
        json!({"name": "Due", "type": "date"}),
        json!({"name": "Starts", "type": "datetime"}),
        json!({"name": "Status", "type": "single_select", "options": options()}),
        json!({"name": "Tags", "type": "multi_select", "options": options()}),
        json!({"name": "Owner", "type": "user"}),
        json!({"name": "Contact", "type": "email"}),
        json!({"name": "Site", "type": "url"}),
        json!({"name": "Extra", "type": "json"}),
        json!({"name": "Number", "type": "autonumber"}),
        json!({"name": "Created", "type": "created_at"}),
        json!({"name": "Updated", "type": "updated_at"}),
        json!({"name": "Author", "type": "created_by"}),
        json!({"name": "Editor", "type": "updated_by"}),
    ]
}

#[tokio::test]
async fn every_field_type_is_created_with_its_settings_and_listed_by_position() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let editor = &cast.editor.access_token;
    let mut made = Vec::new();
    for (position, body) in every_type().into_iter().enumerate() {
        let field = create_field(&app, editor, &table, body.clone()).await;
        for (key, value) in body.as_object().unwrap() {
            assert_eq!(&field[key], value, "{key} of {body}");
        }
        let system = [
            "autonumber",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ];
        assert_eq!(
            field["read_only"],
            system.contains(&body["type"].as_str().unwrap())
        );
        assert_eq!(field["table_id"], table.as_str());
        assert_eq!(field["position"], position);
        assert_eq!(field["indexed"], false);
        assert_eq!(
            read(
                &app,
                &cast.viewer.access_token,
                &format!("/api/v1/fields/{}", id(&field))
            )
            .await,
            field
        );
        made.push(field);
    }
    let precise = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Rate", "type": "number", "indexed": true}),
    )
    .await;
    assert_eq!(
        (&precise["precision"], &precise["indexed"]),
        (&json!(0), &json!(true)),
        "precision defaults to 0"
    );
    let empty = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Stage", "type": "single_select"}),
    )
    .await;
    assert_eq!(
        empty["options"],
        json!([]),
        "a select may start with no options"
    );
    made.extend([precise, empty]);

    let list = read(
        &app,
        &cast.viewer.access_token,
        &format!("/api/v1/tables/{table}/fields"),
    )
    .await;
    assert_eq!(list["items"], Value::Array(made.clone()));
    assert_eq!(list["next_cursor"], Value::Null);
    // Moving the first field last.
    let title = format!("/api/v1/fields/{}", id(&made[0]));
    change(
        &app,
        editor,
        Method::PATCH,
        &title,
        json!({"position": 100}),
    )
    .await;
    let list = read(&app, editor, &format!("/api/v1/tables/{table}/fields")).await;
    let last = list["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["name"], &last["position"]),
        (&json!("Title"), &json!(100))
    );
}

#[tokio::test]
async fn field_names_follow_the_rules_and_are_unique_in_their_table() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let path = format!("/api/v1/tables/{table}/fields");
    for (body, fields) in [
        (json!({"name": "", "type": "text"}), vec!["name"]),
        (
            json!({"name": "x".repeat(256), "type": "text"}),
            vec!["name"],
        ),
        (json!({"name": "a\nb", "type": "text"}), vec!["name"]),
        (json!({"type": "text"}), vec!["name"]),
        (json!({"name": "No type"}), vec!["type"]),
        (json!({"name": 7, "type": "text"}), vec!["name"]),
        (
            json!({"name": "Flag", "type": "boolean", "indexed": "yes"}),
            vec!["indexed"],
        ),
    ] {
        let response = app
            .send(Method::POST, &path, owner, Some(body.clone()))
            .await;
        assert_eq!(invalid_fields(response).await, fields, "{body}");
    }
    let status = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Status", "type": "text"}),
    )
    .await;
    let twin = app
        .send(
            Method::POST,
            &path,
            owner,
            Some(json!({"name": " STATUS ", "type": "number"})),
        )
        .await;
    assert_problem(twin, StatusCode::CONFLICT, "field_name_taken").await;
    let other = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Other", "type": "text"}),
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&other));
    let taken = app
        .send(Method::PATCH, &at, owner, Some(json!({"name": "status"})))
        .await;
    assert_problem(taken, StatusCode::CONFLICT, "field_name_taken").await;
    let blank = app
        .send(Method::PATCH, &at, owner, Some(json!({"name": "  "})))
        .await;
    assert_eq!(invalid_fields(blank).await, ["name"]);
    let recased = change(
        &app,
        owner,
        Method::PATCH,
        &format!("/api/v1/fields/{}", id(&status)),
        json!({"name": "STATUS"}),
    )
    .await;
    assert_eq!(recased["name"], "STATUS");
}

#[tokio::test]
async fn bad_settings_answer_with_their_rules_code_and_name_the_setting() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let path = format!("/api/v1/tables/{table}/fields");
    let select = |options: Value| json!({"name": "S", "type": "single_select", "options": options});
    let many: Vec<Value> = (0..1001)
        .map(|n| json!({"id": format!("o{n}"), "name": format!("O{n}")}))
        .collect();
    let cases = [
        (
            json!({"name": "P", "type": "number", "precision": 11}),
            "invalid_precision",
            "precision",
        ),
        (
            json!({"name": "P", "type": "number", "precision": -1}),
            "invalid_precision",
            "precision",
        ),
        (
            select(json!([{"id": "no spaces", "name": "A"}])),
            "invalid_option_id",
            "options[0].id",
        ),
        (
            select(json!([{"id": "a", "name": ""}])),
            "invalid_option_name",
            "options[0].name",
        ),
        (
            select(json!([{"id": "a", "name": "A", "color": "not a color"}])),
            "invalid_color",
            "options[0].color",
        ),
        (
            select(json!([{"id": "a", "name": "A"}, {"id": "a", "name": "B"}])),
            "duplicate_option_id",
            "options",
        ),
        (
            select(json!([{"id": "a", "name": "A"}, {"id": "b", "name": "a"}])),
            "duplicate_option_name",
            "options",
        ),
        (select(Value::Array(many)), "too_many_options", "options"),
        (
            json!({"name": "P", "type": "number", "precision": "two"}),
            "validation_failed",
            "precision",
        ),
        (
            json!({"name": "P", "type": "text", "precision": 2}),
            "validation_failed",
            "precision",
        ),
        (json!({"name": "P", "type": 5}), "validation_failed", "type"),
    ];
    for (body, code, field) in cases {
        let response = app
            .send(Method::POST, &path, owner, Some(body.clone()))
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let unknown = app
        .send(
            Method::POST,
            &path,
            owner,
            Some(json!({"name": "R", "type": "rollup"})),
        )
        .await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field_type",
    )
    .await;
    let list = read(&app, owner, &path).await;
    assert_eq!(list["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_table_holds_at_most_the_configured_number_of_fields() {
    // The least a deployment may set.
    let app = spawn_app_with(|s| s.tables_max_fields = 300).await;
    let (cast, _, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let mut first = None;
    for n in 0..300 {
        let field = create_field(
            &app,
            owner,
            &table,
            json!({"name": format!("F{n}"), "type": "text"}),
        )
        .await;
        first.get_or_insert(field);
    }
    let path = format!("/api/v1/tables/{table}/fields");
    let over = app
        .send(
            Method::POST,
            &path,
            owner,
            Some(json!({"name": "One more", "type": "text"})),
        )
        .await;
    assert_problem(over, StatusCode::CONFLICT, "field_limit_reached").await;
    let first = format!("/api/v1/fields/{}", id(&first.unwrap()));
    app.send(Method::DELETE, &first, owner, None).await;
    create_field(
        &app,
        owner,
        &table,
        json!({"name": "One more", "type": "text"}),
    )
    .await;
}
