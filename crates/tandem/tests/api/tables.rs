//! Live tables over REST: create, list a page at a time, read, rename, describe, choose a
//! primary field and delete; name rules, the per-workspace limit, and tables nobody may
//! see.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, invalid_fields, spawn_app, spawn_app_with};
use crate::tables_helpers::{change, create_field, create_table, id, read};
use crate::tenancy_helpers::{Cast, Scene, created};

#[tokio::test]
async fn a_table_is_created_read_renamed_described_and_deleted() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let editor = &cast.editor.access_token;
    let path = format!("/api/v1/workspaces/{}/tables", scene.workspace);
    let body = json!({"name": "  Tasks ", "description": "What we do"});
    let table = created(app.send(Method::POST, &path, editor, Some(body)).await).await;
    assert_eq!(table["name"], "Tasks", "names are trimmed");
    assert_eq!(table["description"], "What we do");
    assert_eq!(table["workspace_id"], scene.workspace);
    assert_eq!(table["created_by"], cast.editor.id);
    assert_eq!(table["primary_field_id"], Value::Null);
    let keys: Vec<&str> = table
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["id", "created_at", "updated_at"] {
        assert!(keys.contains(&key), "{key} in {table}");
    }

    let at = format!("/api/v1/tables/{}", id(&table));
    assert_eq!(read(&app, &cast.viewer.access_token, &at).await, table);
    let renamed = change(&app, editor, Method::PATCH, &at, json!({"name": "Todo"})).await;
    assert_eq!(
        (&renamed["name"], &renamed["description"]),
        (&json!("Todo"), &json!("What we do")),
        "only the parts given change"
    );
    let described = change(&app, editor, Method::PATCH, &at, json!({"description": ""})).await;
    assert_eq!(
        (&described["name"], &described["description"]),
        (&json!("Todo"), &json!(""))
    );
    assert_eq!(
        change(&app, editor, Method::PATCH, &at, json!({})).await,
        described
    );

    let admin = &cast.admin.access_token;
    let deleted = app.send(Method::DELETE, &at, admin, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.send(Method::GET, &at, admin, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let again = app.send(Method::DELETE, &at, admin, None).await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_workspaces_tables_list_oldest_first_a_page_at_a_time() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let owner = &cast.owner.access_token;
    let mut names = Vec::new();
    for n in 0..5 {
        let name = format!("Table {n}");
        create_table(&app, owner, &scene.workspace, &name).await;
        app.clock.advance(chrono::Duration::milliseconds(2));
        names.push(name);
    }
    let list = format!("/api/v1/workspaces/{}/tables", scene.workspace);
    let mut seen = Vec::new();
    let mut path = format!("{list}?limit=2");
    loop {
        let page = read(&app, &cast.viewer.access_token, &path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{list}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, names);
    let bad = app
        .send(Method::GET, &format!("{list}?cursor=nope"), owner, None)
        .await;
    assert_eq!(invalid_fields(bad).await, ["cursor"]);
    let bad = app
        .send(Method::GET, &format!("{list}?limit=0"), owner, None)
        .await;
    assert_eq!(invalid_fields(bad).await, ["limit"]);
}

#[tokio::test]
async fn a_table_name_follows_the_field_name_rules_and_is_unique_in_its_workspace() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let owner = &cast.owner.access_token;
    let path = format!("/api/v1/workspaces/{}/tables", scene.workspace);
    let bad_bodies = [
        (json!({"name": " "}), vec!["name"]),
        (json!({"name": "x".repeat(256)}), vec!["name"]),
        (json!({"name": "a\tb"}), vec!["name"]),
        (
            json!({"name": "ok", "description": "d".repeat(2001)}),
            vec!["description"],
        ),
        (
            json!({"name": "", "description": "d".repeat(2001)}),
            vec!["name", "description"],
        ),
        (json!({"description": "no name"}), vec!["name"]),
        (json!({"name": "ok", "colour": "red"}), vec!["colour"]),
    ];
    for (body, fields) in bad_bodies {
        let response = app
            .send(Method::POST, &path, owner, Some(body.clone()))
            .await;
        assert_eq!(invalid_fields(response).await, fields, "{body}");
    }
    assert!(
        create_table(&app, owner, &scene.workspace, &"é".repeat(255))
            .await
            .is_object()
    );

    let tasks = create_table(&app, owner, &scene.workspace, "Tasks").await;
    let twin = app
        .send(Method::POST, &path, owner, Some(json!({"name": "TASKS"})))
        .await;
    assert_problem(twin, StatusCode::CONFLICT, "table_name_taken").await;
    let notes = create_table(&app, owner, &scene.workspace, "Notes").await;
    let at = format!("/api/v1/tables/{}", id(&notes));
    let taken = app
        .send(Method::PATCH, &at, owner, Some(json!({"name": "tasks"})))
        .await;
    assert_problem(taken, StatusCode::CONFLICT, "table_name_taken").await;
    let blank = app
        .send(Method::PATCH, &at, owner, Some(json!({"name": ""})))
        .await;
    assert_eq!(invalid_fields(blank).await, ["name"]);
    // A table may take its own name in another case.
    let recased = change(
        &app,
        owner,
        Method::PATCH,
        &format!("/api/v1/tables/{}", id(&tasks)),
        json!({"name": "TASKS"}),
    )
    .await;
    assert_eq!(recased["name"], "TASKS");

    // Another workspace may have a table of the same name.
    let other = created(
        app.send(
            Method::POST,
            &format!("/api/v1/projects/{}/workspaces", scene.project),
            owner,
            Some(json!({"name": "Other"})),
        )
        .await,
    )
    .await;
    create_table(&app, owner, id(&other), "Tasks").await;
}

#[tokio::test]
async fn the_primary_field_is_one_of_the_tables_fields_and_clears_when_it_goes() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let owner = &cast.owner.access_token;
    let table = create_table(&app, owner, &scene.workspace, "Tasks").await;
    let other = create_table(&app, owner, &scene.workspace, "Other").await;
    let title = create_field(
        &app,
        owner,
        id(&table),
        json!({"name": "Title", "type": "text"}),
    )
    .await;
    let foreign = create_field(
        &app,
        owner,
        id(&other),
        json!({"name": "Title", "type": "text"}),
    )
    .await;
    let at = format!("/api/v1/tables/{}", id(&table));

    for wrong in [id(&foreign), "01900000-0000-7000-8000-000000000000"] {
        let response = app
            .send(
                Method::PATCH,
                &at,
                owner,
                Some(json!({"primary_field_id": wrong})),
            )
            .await;
        assert_eq!(invalid_fields(response).await, ["primary_field_id"]);
    }
    let chosen = change(
        &app,
        owner,
        Method::PATCH,
        &at,
        json!({"primary_field_id": id(&title)}),
    )
    .await;
    assert_eq!(chosen["primary_field_id"], id(&title));
    let cleared = change(
        &app,
        owner,
        Method::PATCH,
        &at,
        json!({"primary_field_id": null}),
    )
    .await;
    assert_eq!(cleared["primary_field_id"], Value::Null);

    change(
        &app,
        owner,
        Method::PATCH,
        &at,
        json!({"primary_field_id": id(&title)}),
    )
    .await;
    let field = format!("/api/v1/fields/{}", id(&title));
    assert_eq!(
        app.send(Method::DELETE, &field, owner, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        read(&app, owner, &at).await["primary_field_id"],
        Value::Null
    );
}

#[tokio::test]
async fn a_workspace_holds_at_most_the_configured_number_of_tables() {
    let app = spawn_app_with(|s| s.tables_max_per_workspace = 2).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let owner = &cast.owner.access_token;
    let first = create_table(&app, owner, &scene.workspace, "One").await;
    create_table(&app, owner, &scene.workspace, "Two").await;
    let path = format!("/api/v1/workspaces/{}/tables", scene.workspace);
    let third = app
        .send(Method::POST, &path, owner, Some(json!({"name": "Three"})))
        .await;
    assert_problem(third, StatusCode::CONFLICT, "table_limit_reached").await;
    let at = format!("/api/v1/tables/{}", id(&first));
    app.send(Method::DELETE, &at, owner, None).await;
    create_table(&app, owner, &scene.workspace, "Three").await;
}

#[tokio::test]
async fn a_table_nobody_may_see_looks_exactly_like_one_that_does_not_exist() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let table = create_table(&app, &cast.owner.access_token, &scene.workspace, "Secret").await;
    let field = create_field(
        &app,
        &cast.owner.access_token,
        id(&table),
        json!({"name": "X", "type": "text"}),
    )
    .await;
    let outsider = &cast.outsider.access_token;
    let missing = "01900000-0000-7000-8000-000000000000";
    for (seen, unseen) in [
        (
            format!("/api/v1/tables/{}", id(&table)),
            format!("/api/v1/tables/{missing}"),
        ),
        (
            format!("/api/v1/fields/{}", id(&field)),
            format!("/api/v1/fields/{missing}"),
        ),
        (
            format!("/api/v1/tables/{}/fields", id(&table)),
            format!("/api/v1/tables/{missing}/fields"),
        ),
    ] {
        let hidden = assert_problem(
            app.send(Method::GET, &seen, outsider, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let absent = assert_problem(
            app.send(Method::GET, &unseen, outsider, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_eq!(hidden["detail"], absent["detail"], "{seen}");
    }
    let malformed = app
        .send(Method::GET, "/api/v1/tables/not-an-id", outsider, None)
        .await;
    assert_problem(malformed, StatusCode::NOT_FOUND, "not_found").await;
}
