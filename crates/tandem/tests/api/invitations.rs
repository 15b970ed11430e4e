//! Invitations over HTTP: create, accept, reuse, expiry, revoke, email mismatch.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, assert_problem, json_body, spawn_app};
use crate::tenancy_helpers::created;

async fn project_of(app: &TestApp, owner: &TestUser) -> String {
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
    project["id"].as_str().unwrap().to_owned()
}

async fn invite(app: &TestApp, owner: &TestUser, project: &str, body: Value) -> Value {
    let path = format!("/api/v1/projects/{project}/invitations");
    created(
        app.send(Method::POST, &path, &owner.access_token, Some(body))
            .await,
    )
    .await
}

async fn accept(app: &TestApp, user: &TestUser, invitation: &Value) -> reqwest::Response {
    let url = invitation["accept_url"].as_str().unwrap();
    app.send(Method::POST, url, &user.access_token, None).await
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_gives_its_role() {
    let app = spawn_app().await;
    let (owner, guest) = (app.new_user().await, app.new_user().await);
    let project = project_of(&app, &owner).await;
    let invitation = invite(
        &app,
        &owner,
        &project,
        json!({"role": "collaborator", "expires_in_hours": 2}),
    )
    .await;
    assert_eq!(
        invitation["invitation"]["role"], "editor",
        "collaborator is written as editor"
    );
    assert!(invitation["token"].as_str().unwrap().len() >= 43);
    assert_eq!(
        invitation["accept_url"],
        format!(
            "/api/v1/invitations/{}/accept",
            invitation["token"].as_str().unwrap()
        )
    );

    let response = accept(&app, &guest, &invitation).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["joined"], true);
    assert_eq!(body["project_id"], project);
    assert_eq!(body["member"]["role"], "editor");

    let again = accept(&app, &guest, &invitation).await;
    assert_problem(again, StatusCode::GONE, "invitation_used").await;
    let members = json_body(
        app.get_authed(
            &format!("/api/v1/projects/{project}/members"),
            &owner.access_token,
        )
        .await,
    )
    .await;
    assert_eq!(
        members["items"].as_array().unwrap().len(),
        2,
        "no duplicate membership"
    );
}

#[tokio::test]
async fn a_member_accepting_keeps_their_role() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let project = project_of(&app, &owner).await;
    let invitation = invite(&app, &owner, &project, json!({"role": "viewer"})).await;
    let body = json_body(accept(&app, &owner, &invitation).await).await;
    assert_eq!(body["joined"], false);
    assert_eq!(body["member"]["role"], "owner");
}

#[tokio::test]
async fn an_expired_or_revoked_invitation_is_gone() {
    let app = spawn_app().await;
    let (owner, guest) = (app.new_user().await, app.new_user().await);
    let project = project_of(&app, &owner).await;
    let short = invite(
        &app,
        &owner,
        &project,
        json!({"role": "viewer", "expires_in_hours": 1}),
    )
    .await;
    let revoked = invite(&app, &owner, &project, json!({"role": "viewer"})).await;
    let id = revoked["invitation"]["id"].as_str().unwrap();
    let path = format!("/api/v1/projects/{project}/invitations/{id}");
    assert_eq!(
        app.send(Method::DELETE, &path, &owner.access_token, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        accept(&app, &guest, &revoked).await,
        StatusCode::GONE,
        "invitation_revoked",
    )
    .await;
    let again = app
        .send(Method::DELETE, &path, &owner.access_token, None)
        .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;

    app.clock.advance(Duration::hours(1));
    // An hour on, the access tokens have expired too: log in again.
    let guest = TestUser::from_auth(&json_body(app.login(&guest.email, PASSWORD).await).await);
    let owner = TestUser::from_auth(&json_body(app.login(&owner.email, PASSWORD).await).await);
    assert_problem(
        accept(&app, &guest, &short).await,
        StatusCode::GONE,
        "invitation_expired",
    )
    .await;
    let pending = json_body(
        app.get_authed(
            &format!("/api/v1/projects/{project}/invitations"),
            &owner.access_token,
        )
        .await,
    )
    .await;
    assert_eq!(
        pending["items"],
        json!([]),
        "expired and revoked invitations are not pending"
    );
}

#[tokio::test]
async fn an_invitation_for_an_email_is_only_for_that_account() {
    let app = spawn_app().await;
    let (owner, intended, other) = (
        app.new_user().await,
        app.new_user().await,
        app.new_user().await,
    );
    let project = project_of(&app, &owner).await;
    let email = intended.email.to_uppercase();
    let invitation = invite(
        &app,
        &owner,
        &project,
        json!({"role": "viewer", "email": email}),
    )
    .await;
    assert_problem(
        accept(&app, &other, &invitation).await,
        StatusCode::FORBIDDEN,
        "invitation_email_mismatch",
    )
    .await;
    assert_eq!(
        accept(&app, &intended, &invitation).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_token_is_not_found_and_accepting_needs_a_login() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app
        .send(
            Method::POST,
            "/api/v1/invitations/no-such-token/accept",
            &user.access_token,
            None,
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "invitation_not_found").await;
    let anonymous = app
        .client
        .post(app.url("/api/v1/invitations/no-such-token/accept"))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn invitations_cannot_grant_ownership_or_outrank_the_inviter() {
    let app = spawn_app().await;
    let (owner, admin) = (app.new_user().await, app.new_user().await);
    let project = project_of(&app, &owner).await;
    let members = format!("/api/v1/projects/{project}/members");
    created(
        app.send(
            Method::POST,
            &members,
            &owner.access_token,
            Some(json!({"email": admin.email, "role": "admin"})),
        )
        .await,
    )
    .await;
    let path = format!("/api/v1/projects/{project}/invitations");
    let owner_invite = app
        .send(
            Method::POST,
            &path,
            &owner.access_token,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_problem(
        owner_invite,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let admin_invite = app
        .send(
            Method::POST,
            &path,
            &admin.access_token,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(admin_invite.status(), StatusCode::CREATED);
    for hours in [0, 721] {
        let response = app
            .send(
                Method::POST,
                &path,
                &owner.access_token,
                Some(json!({"role": "viewer", "expires_in_hours": hours})),
            )
            .await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn an_admin_of_one_project_cannot_revoke_another_projects_invitation() {
    let app = spawn_app().await;
    let (alice, mallory, guest) = (
        app.new_user().await,
        app.new_user().await,
        app.new_user().await,
    );
    let alices = project_of(&app, &alice).await;
    let mallorys = project_of(&app, &mallory).await;
    let invitation = invite(&app, &alice, &alices, json!({"role": "viewer"})).await;
    let id = invitation["invitation"]["id"].as_str().unwrap();
    // Mallory owns her own project and names Alice's invitation through it.
    let path = format!("/api/v1/projects/{mallorys}/invitations/{id}");
    let response = app
        .send(Method::DELETE, &path, &mallory.access_token, None)
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        accept(&app, &guest, &invitation).await.status(),
        StatusCode::OK,
        "still valid"
    );
}
