//! Changing a live table's field: its type and settings (the cells converted), the
//! changes refused, a change that changes nothing, the dry run that counts what a change
//! would empty, and the force such a change needs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, invalid_fields, spawn_app};
use crate::tables_helpers::{change, create_field, id, insert_rows, options, read, table};

#[tokio::test]
async fn a_field_changes_its_type_and_settings() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let editor = &cast.editor.access_token;
    let field = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Amount", "type": "text"}),
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&field));
    let number = change(
        &app,
        editor,
        Method::PATCH,
        &at,
        json!({"type": "number", "precision": 2}),
    )
    .await;
    assert_eq!(
        (&number["type"], &number["precision"]),
        (&json!("number"), &json!(2))
    );
    let finer = change(
        &app,
        editor,
        Method::PATCH,
        &at,
        json!({"precision": 4, "indexed": true}),
    )
    .await;
    assert_eq!(
        (&finer["type"], &finer["precision"], &finer["indexed"]),
        (&json!("number"), &json!(4), &json!(true))
    );

    let status = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Status", "type": "single_select", "options": options()}),
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&status));
    let multi = change(
        &app,
        editor,
        Method::PATCH,
        &at,
        json!({"type": "multi_select"}),
    )
    .await;
    assert_eq!(
        (&multi["type"], &multi["options"]),
        (&json!("multi_select"), &options()),
        "options are kept"
    );
    let fewer = json!([{"id": "todo", "name": "Open"}]);
    let renamed = change(&app, editor, Method::PATCH, &at, json!({"options": fewer})).await;
    assert_eq!(renamed["options"], fewer);
    let bad = app
        .send(
            Method::PATCH,
            &at,
            editor,
            Some(json!({"options": [{"id": "", "name": "x"}]})),
        )
        .await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_option_id").await;
    let unknown = app
        .send(Method::PATCH, &at, editor, Some(json!({"type": "formula"})))
        .await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_field_type",
    )
    .await;
    let stray = app
        .send(Method::PATCH, &at, editor, Some(json!({"precision": 2})))
        .await;
    assert_eq!(invalid_fields(stray).await, ["precision"]);
    assert_eq!(
        read(&app, editor, &at).await,
        renamed,
        "refused changes change nothing"
    );
}

#[tokio::test]
async fn a_field_never_changes_between_a_stored_and_a_system_type() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let title = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Title", "type": "text"}),
    )
    .await;
    let created = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Created", "type": "created_at"}),
    )
    .await;
    for (field, to) in [
        (&title, "created_at"),
        (&title, "autonumber"),
        (&created, "text"),
        (&created, "datetime"),
    ] {
        let at = format!("/api/v1/fields/{}", id(field));
        let response = app
            .send(Method::PATCH, &at, owner, Some(json!({"type": to})))
            .await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "type_change_not_allowed",
        )
        .await;
    }
    let at = format!("/api/v1/fields/{}", id(&created));
    let updated = change(
        &app,
        owner,
        Method::PATCH,
        &at,
        json!({"type": "updated_at"}),
    )
    .await;
    assert_eq!(
        (&updated["type"], &updated["read_only"]),
        (&json!("updated_at"), &json!(true))
    );
}

#[tokio::test]
async fn an_empty_field_change_writes_nothing() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let field = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Title", "type": "text"}),
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&field));
    app.clock.advance(chrono::Duration::seconds(5));
    for same in [
        json!({}),
        json!({"name": "Title", "type": "text", "indexed": false, "position": 0}),
    ] {
        assert_eq!(change(&app, owner, Method::PATCH, &at, same).await, field);
    }
}

#[tokio::test]
async fn a_dry_run_counts_the_cells_a_change_would_empty_and_writes_nothing() {
    let app = spawn_app().await;
    let (cast, scene, table) = table(&app).await;
    let owner = &cast.owner.access_token;
    let amount = create_field(
        &app,
        owner,
        &table,
        json!({"name": "Amount", "type": "text"}),
    )
    .await;
    create_field(
        &app,
        owner,
        &table,
        json!({"name": "Total", "type": "text"}),
    )
    .await;
    let values = [
        json!("12.5"),
        json!("seven"),
        json!("3"),
        Value::Null,
        json!("n/a"),
    ];
    insert_rows(&app, &cast.owner.id, &table, id(&amount), &values).await;
    let at = format!("/api/v1/fields/{}", id(&amount));
    let dry = format!("{at}?dry_run=true");

    let answer = change(
        &app,
        owner,
        Method::PATCH,
        &dry,
        json!({"type": "number", "precision": 1}),
    )
    .await;
    assert_eq!(
        answer["lost"], 2,
        "\"seven\" and \"n/a\" are no numbers: {answer}"
    );
    let would = &answer["field"];
    assert_eq!(
        (&would["id"], &would["name"]),
        (&amount["id"], &amount["name"])
    );
    assert_eq!(
        (&would["type"], &would["precision"]),
        (&json!("number"), &json!(1))
    );
    let answer = change(
        &app,
        owner,
        Method::PATCH,
        &dry,
        json!({"type": "long_text", "name": "Sum"}),
    )
    .await;
    assert_eq!(
        (&answer["lost"], &answer["field"]["name"]),
        (&json!(0), &json!("Sum"))
    );

    let taken = app
        .send(Method::PATCH, &dry, owner, Some(json!({"name": "total"})))
        .await;
    assert_problem(taken, StatusCode::CONFLICT, "field_name_taken").await;
    let system = app
        .send(
            Method::PATCH,
            &dry,
            owner,
            Some(json!({"type": "created_by"})),
        )
        .await;
    assert_problem(
        system,
        StatusCode::UNPROCESSABLE_ENTITY,
        "type_change_not_allowed",
    )
    .await;
    let bad = app
        .send(
            Method::PATCH,
            &format!("{at}?dry_run=maybe"),
            owner,
            Some(json!({})),
        )
        .await;
    assert_problem(bad, StatusCode::BAD_REQUEST, "invalid_query").await;

    assert_eq!(
        read(&app, owner, &at).await,
        amount,
        "a dry run writes nothing"
    );
    let log = format!(
        "/api/v1/projects/{}/audit?action=field.updated",
        scene.project
    );
    assert_eq!(read(&app, owner, &log).await["items"], json!([]));
}

#[tokio::test]
async fn a_change_that_would_empty_cells_is_made_only_when_forced() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let editor = &cast.editor.access_token;
    let amount = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Amount", "type": "text"}),
    )
    .await;
    insert_rows(
        &app,
        &cast.editor.id,
        &table,
        id(&amount),
        &[json!("1"), json!("two"), json!("3")],
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&amount));
    let refused = app
        .send(Method::PATCH, &at, editor, Some(json!({"type": "number"})))
        .await;
    let problem = assert_problem(refused, StatusCode::CONFLICT, "lossy_type_change").await;
    assert_eq!(problem["lost"], 1);
    assert_eq!(
        read(&app, editor, &at).await,
        amount,
        "a refused change changes nothing"
    );
    let forced = change(
        &app,
        editor,
        Method::PATCH,
        &at,
        json!({"type": "number", "force": true}),
    )
    .await;
    assert_eq!(forced["type"], "number");
    // Numbers become text without loss: no force needed.
    let back = change(&app, editor, Method::PATCH, &at, json!({"type": "text"})).await;
    assert_eq!(back["type"], "text");

    let status = create_field(
        &app,
        editor,
        &table,
        json!({"name": "Status", "type": "single_select", "options": options()}),
    )
    .await;
    insert_rows(
        &app,
        &cast.editor.id,
        &table,
        id(&status),
        &[json!("todo"), json!("done"), json!("Done")],
    )
    .await;
    let at = format!("/api/v1/fields/{}", id(&status));
    let fewer = json!({"options": [{"id": "todo", "name": "To do"}]});
    let refused = app
        .send(Method::PATCH, &at, editor, Some(fewer.clone()))
        .await;
    assert_eq!(
        assert_problem(refused, StatusCode::CONFLICT, "lossy_type_change").await["lost"],
        2
    );
    let mut forced = fewer.clone();
    forced["force"] = json!(true);
    assert_eq!(
        change(&app, editor, Method::PATCH, &at, forced).await["options"],
        fewer["options"]
    );
}
