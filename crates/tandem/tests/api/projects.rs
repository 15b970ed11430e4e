//! Projects over HTTP: create, list with roles and pagination, update, validation,
//! delete with everything under it, and the events each change publishes.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tandem_domain::DomainEvent;

use crate::helpers::{assert_problem, invalid_fields, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene, created};

#[tokio::test]
async fn the_creator_owns_the_new_project() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let body = json!({"name": "  Apollo  ", "description": "Moon shot"});
    let project = created(
        app.send(
            Method::POST,
            "/api/v1/projects",
            &owner.access_token,
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!(project["name"], "Apollo");
    assert_eq!(project["description"], "Moon shot");
    assert_eq!(project["role"], "owner");
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    let fetched = json_body(app.get_authed(&path, &owner.access_token).await).await;
    assert_eq!(fetched, project);
}

#[tokio::test]
async fn the_project_list_pages_through_the_callers_projects_with_their_roles() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    for _ in 0..5 {
        Scene::new(&app, &cast).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/projects?limit=2".to_owned();
    loop {
        let page = json_body(app.get_authed(&path, &cast.editor.access_token).await).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["role"], "editor");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/projects?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (seen.len(), unique.len()),
        (5, 5),
        "three pages, no gaps, no repeats"
    );
    let outsider = json_body(
        app.get_authed("/api/v1/projects", &cast.outsider.access_token)
            .await,
    )
    .await;
    assert_eq!(outsider["items"], json!([]));
}

#[tokio::test]
async fn names_and_descriptions_are_validated_and_unknown_fields_rejected() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let token = &owner.access_token;
    let cases = [
        (json!({"name": " "}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"name": "bell\u{7}"}), vec!["name"]),
        (
            json!({"name": "ok", "description": "d".repeat(2001)}),
            vec!["description"],
        ),
        (
            json!({"name": "", "description": "d".repeat(2001)}),
            vec!["name", "description"],
        ),
    ];
    for (body, fields) in cases {
        let response = app
            .send(Method::POST, "/api/v1/projects", token, Some(body.clone()))
            .await;
        assert_eq!(invalid_fields(response).await, fields, "{body}");
    }
    let unknown = app
        .send(
            Method::POST,
            "/api/v1/projects",
            token,
            Some(json!({"name": "ok", "colour": "red"})),
        )
        .await;
    let problem = assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("colour"),
        "{problem}"
    );
}

#[tokio::test]
async fn ids_that_are_not_uuids_are_not_found() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for path in [
        "/api/v1/projects/not-a-uuid",
        "/api/v1/projects/not-a-uuid/members",
        "/api/v1/workspaces/not-a-uuid",
        "/api/v1/projects/01900000-0000-7000-8000-000000000000/audit",
    ] {
        let response = app.get_authed(path, &user.access_token).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn updating_a_project_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}", scene.project);
    app.clock.advance(chrono::Duration::seconds(3));
    let response = app
        .send(
            Method::PATCH,
            &path,
            &cast.admin.access_token,
            Some(json!({"description": "New"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(
        (body["name"].as_str(), body["description"].as_str()),
        (Some("Apollo"), Some("New"))
    );
    assert_eq!(body["role"], "admin");
    assert_ne!(body["updated_at"], body["created_at"]);
}

#[tokio::test]
async fn deleting_a_project_takes_everything_in_it() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.owner.access_token;
    let project = format!("/api/v1/projects/{}", scene.project);
    assert_eq!(
        app.send(Method::DELETE, &project, token, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    for path in [
        project.clone(),
        format!("{project}/members"),
        format!("{project}/workspaces"),
        format!("{project}/audit"),
        format!("/api/v1/workspaces/{}", scene.workspace),
    ] {
        assert_problem(
            app.get_authed(&path, token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let listed = json_body(
        app.get_authed("/api/v1/projects", &cast.viewer.access_token)
            .await,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn changes_publish_domain_events_after_they_commit() {
    let mut app = spawn_app().await;
    let owner = app.new_user().await;
    let project = created(
        app.send(
            Method::POST,
            "/api/v1/projects",
            &owner.access_token,
            Some(json!({"name": "Apollo"})),
        )
        .await,
    )
    .await;
    let id = project["id"].as_str().unwrap().to_owned();
    let workspaces = format!("/api/v1/projects/{id}/workspaces");
    created(
        app.send(
            Method::POST,
            &workspaces,
            &owner.access_token,
            Some(json!({"name": "Design"})),
        )
        .await,
    )
    .await;
    // A refused change publishes nothing.
    let duplicate = app
        .send(
            Method::POST,
            &workspaces,
            &owner.access_token,
            Some(json!({"name": "Design"})),
        )
        .await;
    assert_problem(duplicate, StatusCode::CONFLICT, "workspace_name_taken").await;

    let first = app.events.try_recv().expect("project.created").event;
    assert!(
        matches!(&first, DomainEvent::ProjectCreated(p) if p.id.to_string() == id),
        "{first:?}"
    );
    let second = app.events.try_recv().expect("workspace.created").event;
    assert!(
        matches!(&second, DomainEvent::WorkspaceCreated(w) if w.name.as_str() == "Design"),
        "{second:?}"
    );
    assert!(app.events.try_recv().is_err(), "nothing else was published");
}
