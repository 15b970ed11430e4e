//! Membership rules over HTTP: nobody grants above their own role, admins cannot touch
//! admins or the owner, the owner leaves only after transferring, one owner always.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, invalid_fields, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene, created};

async fn roles(app: &crate::helpers::TestApp, scene: &Scene, token: &str) -> Vec<(String, String)> {
    let page = json_body(
        app.get_authed(
            &format!("/api/v1/projects/{}/members", scene.project),
            token,
        )
        .await,
    )
    .await;
    let mut roles: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    roles.sort();
    roles
}

fn role_of(roles: &[(String, String)], user: &str) -> Option<String> {
    roles
        .iter()
        .find(|(id, _)| id == user)
        .map(|(_, role)| role.clone())
}

#[tokio::test]
async fn members_are_listed_with_name_email_role_and_join_time() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let page = json_body(
        app.get_authed(
            &format!("/api/v1/projects/{}/members", scene.project),
            &cast.viewer.access_token,
        )
        .await,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let viewer: &Value = items
        .iter()
        .find(|m| m["user_id"] == cast.viewer.id.as_str())
        .unwrap();
    assert_eq!(viewer["email"], cast.viewer.email);
    assert_eq!(viewer["name"], "Test User");
    assert_eq!(viewer["role"], "viewer");
    assert!(viewer["joined_at"].is_string());
}

#[tokio::test]
async fn nobody_grants_a_role_above_their_own() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let members = format!("/api/v1/projects/{}/members", scene.project);
    let victim = format!("{members}/{}", cast.victim.id);
    let admin = &cast.admin.access_token;
    assert_eq!(
        app.send(
            Method::PATCH,
            &victim,
            admin,
            Some(json!({"role": "admin"}))
        )
        .await
        .status(),
        StatusCode::OK
    );
    let owner_role = app
        .send(
            Method::PATCH,
            &victim,
            &cast.owner.access_token,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(
        invalid_fields(owner_role).await,
        ["role"],
        "ownership moves only by transfer"
    );
    let add = app
        .send(
            Method::POST,
            &members,
            admin,
            Some(json!({"email": cast.extra.email, "role": "owner"})),
        )
        .await;
    assert_eq!(invalid_fields(add).await, ["role"]);
}

#[tokio::test]
async fn admins_cannot_change_or_remove_other_admins_or_the_owner() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let members = format!("/api/v1/projects/{}/members", scene.project);
    let owner = &cast.owner.access_token;
    app.send(
        Method::PATCH,
        &format!("{members}/{}", cast.victim.id),
        owner,
        Some(json!({"role": "admin"})),
    )
    .await;
    let admin = &cast.admin.access_token;
    for target in [&cast.victim.id, &cast.owner.id] {
        let path = format!("{members}/{target}");
        let change = app
            .send(Method::PATCH, &path, admin, Some(json!({"role": "viewer"})))
            .await;
        assert!(
            matches!(
                change.status(),
                StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{}",
            change.status()
        );
        let remove = app.send(Method::DELETE, &path, admin, None).await;
        assert!(
            matches!(
                remove.status(),
                StatusCode::FORBIDDEN | StatusCode::CONFLICT
            ),
            "{}",
            remove.status()
        );
    }
    // The owner may demote an admin.
    let demote = app
        .send(
            Method::PATCH,
            &format!("{members}/{}", cast.victim.id),
            owner,
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(demote.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_owner_leaves_only_after_transferring_ownership() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let project = format!("/api/v1/projects/{}", scene.project);
    let owner = &cast.owner.access_token;
    let leave = app
        .send(
            Method::DELETE,
            &format!("{project}/members/me"),
            owner,
            None,
        )
        .await;
    assert_problem(leave, StatusCode::CONFLICT, "owner_must_transfer").await;
    let remove_owner = app
        .send(
            Method::DELETE,
            &format!("{project}/members/{}", cast.owner.id),
            owner,
            None,
        )
        .await;
    assert_problem(remove_owner, StatusCode::CONFLICT, "owner_must_transfer").await;

    let transfer = app
        .send(
            Method::POST,
            &format!("{project}/transfer"),
            owner,
            Some(json!({"user_id": cast.editor.id})),
        )
        .await;
    assert_eq!(transfer.status(), StatusCode::NO_CONTENT);
    let roles = roles(&app, &scene, owner).await;
    assert_eq!(role_of(&roles, &cast.editor.id).as_deref(), Some("owner"));
    assert_eq!(role_of(&roles, &cast.owner.id).as_deref(), Some("admin"));
    assert_eq!(
        roles.iter().filter(|(_, r)| r == "owner").count(),
        1,
        "exactly one owner"
    );

    assert_eq!(
        app.send(
            Method::DELETE,
            &format!("{project}/members/me"),
            owner,
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let gone = app.get_authed(&project, owner).await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn ownership_goes_only_to_a_member() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}/transfer", scene.project);
    let owner = &cast.owner.access_token;
    let outsider = app
        .send(
            Method::POST,
            &path,
            owner,
            Some(json!({"user_id": cast.outsider.id})),
        )
        .await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
    let to_self = app
        .send(
            Method::POST,
            &path,
            owner,
            Some(json!({"user_id": cast.owner.id})),
        )
        .await;
    assert_eq!(invalid_fields(to_self).await, ["user_id"]);
}

#[tokio::test]
async fn adding_a_member_twice_or_an_unknown_account_is_refused() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let members = format!("/api/v1/projects/{}/members", scene.project);
    let owner = &cast.owner.access_token;
    created(
        app.send(
            Method::POST,
            &members,
            owner,
            Some(json!({"email": cast.extra.email, "role": "viewer"})),
        )
        .await,
    )
    .await;
    let twice = app
        .send(
            Method::POST,
            &members,
            owner,
            Some(json!({"email": cast.extra.email, "role": "editor"})),
        )
        .await;
    assert_problem(twice, StatusCode::CONFLICT, "member_exists").await;
    let unknown = app
        .send(
            Method::POST,
            &members,
            owner,
            Some(json!({"email": "nobody@example.com", "role": "viewer"})),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let bad_role = app
        .send(
            Method::POST,
            &members,
            owner,
            Some(json!({"email": cast.outsider.email, "role": "god"})),
        )
        .await;
    assert_eq!(invalid_fields(bad_role).await, ["role"]);
}
