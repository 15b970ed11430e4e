//! Chat's social side over HTTP: the invite token life cycle into private rooms,
//! reactions toggled per user, read receipts, and search limited to readable rooms.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene, created};

async fn accept(app: &TestApp, user: &TestUser, token: &str) -> reqwest::Response {
    let body = json!({"token": token});
    app.send(
        Method::POST,
        "/api/v1/rooms/invites/accept",
        &user.access_token,
        Some(body),
    )
    .await
}

async fn react(app: &TestApp, path: &str, token: &str, emoji: &str) -> reqwest::Response {
    app.send(Method::POST, path, token, Some(json!({"emoji": emoji})))
        .await
}

async fn search(app: &TestApp, project: &str, token: &str, q: &str) -> reqwest::Response {
    let path = format!("/api/v1/projects/{project}/messages/search?q={q}");
    app.send(Method::GET, &path, token, None).await
}

#[tokio::test]
async fn an_invite_token_admits_project_members_until_it_is_spent_revoked_or_expired() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private"}),
        )
        .await;
    let room_id = room["id"].as_str().unwrap();
    let invites = format!("/api/v1/rooms/{room_id}/invites");
    // Only the creator or an admin invites; others do not even see the room.
    let editor_try = app
        .send(
            Method::POST,
            &invites,
            &cast.editor.access_token,
            Some(json!({})),
        )
        .await;
    assert_problem(editor_try, StatusCode::NOT_FOUND, "not_found").await;
    let once = created(
        app.send(
            Method::POST,
            &invites,
            &cast.admin.access_token,
            Some(json!({"max_uses": 1})),
        )
        .await,
    )
    .await;
    let token = once["token"].as_str().unwrap().to_owned();

    let outsider = accept(&app, &cast.outsider, &token).await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "invite_not_found").await;
    let joined = json_body(accept(&app, &cast.editor, &token).await).await;
    assert_eq!(
        (joined["id"].as_str(), joined["joined"].as_bool()),
        (Some(room_id), Some(true))
    );
    let seen = app
        .send(
            Method::GET,
            &format!("/api/v1/rooms/{room_id}"),
            &cast.editor.access_token,
            None,
        )
        .await;
    assert_eq!(seen.status(), StatusCode::OK);
    let spent = accept(&app, &cast.viewer, &token).await;
    assert_problem(spent, StatusCode::GONE, "invite_used_up").await;
    let forged = accept(&app, &cast.viewer, "not-a-token").await;
    assert_problem(forged, StatusCode::NOT_FOUND, "invite_not_found").await;

    let bad = app
        .send(
            Method::POST,
            &invites,
            &cast.admin.access_token,
            Some(json!({"max_uses": 0, "expires_in_hours": 9000})),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        crate::helpers::error_fields(&problem),
        ["max_uses", "expires_in_hours"]
    );
    let short = created(
        app.send(
            Method::POST,
            &invites,
            &cast.admin.access_token,
            Some(json!({"expires_in_hours": 1})),
        )
        .await,
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(61));
    // The clock moved past the access tokens' life too: sign in again.
    let viewer =
        TestUser::from_auth(&json_body(app.refresh(&cast.viewer.refresh_token).await).await);
    let expired = accept(&app, &viewer, short["token"].as_str().unwrap()).await;
    assert_problem(expired, StatusCode::GONE, "invite_expired").await;
}

#[tokio::test]
async fn reactions_toggle_per_user_and_receipts_show_who_has_read() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/api/v1/rooms/{id}/join"),
        &cast.admin.access_token,
        None,
    )
    .await;
    let message = created(
        app.send(
            Method::POST,
            &format!("/api/v1/rooms/{id}/messages"),
            &cast.editor.access_token,
            Some(json!({"body": "ship?"})),
        )
        .await,
    )
    .await;
    let reactions = format!(
        "/api/v1/messages/{}/reactions",
        message["id"].as_str().unwrap()
    );
    let first = json_body(react(&app, &reactions, &cast.admin.access_token, "👍").await).await;
    assert_eq!(first["on"], true);
    let second = json_body(react(&app, &reactions, &cast.editor.access_token, "👍").await).await;
    assert_eq!(
        second["reactions"],
        json!([{"emoji": "👍", "users": [cast.admin.id, cast.editor.id]}])
    );
    let off = json_body(react(&app, &reactions, &cast.admin.access_token, "👍").await).await;
    assert_eq!(
        (off["on"].as_bool(), off["reactions"][0]["users"].clone()),
        (Some(false), json!([cast.editor.id]))
    );
    let not_member = react(&app, &reactions, &cast.viewer.access_token, "👍").await;
    assert_problem(not_member, StatusCode::FORBIDDEN, "forbidden").await;
    let bad = react(&app, &reactions, &cast.editor.access_token, "two words").await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    app.send(
        Method::POST,
        &format!("/api/v1/rooms/{id}/read"),
        &cast.admin.access_token,
        Some(json!({"seq": 1})),
    )
    .await;
    let receipts = json_body(
        app.send(
            Method::GET,
            &format!(
                "/api/v1/rooms/{id}/messages/{}/receipts",
                message["id"].as_str().unwrap()
            ),
            &cast.viewer.access_token,
            None,
        )
        .await,
    )
    .await;
    let readers: Vec<&str> = receipts
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        readers,
        [cast.admin.id.as_str()],
        "the author has not marked it read"
    );
}

#[tokio::test]
async fn search_finds_messages_only_in_rooms_the_caller_may_read() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let public = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let private = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private"}),
        )
        .await;
    for (room, body) in [
        (&public, "release train leaves Friday"),
        (&private, "release bonus figures"),
    ] {
        let path = format!("/api/v1/rooms/{}/messages", room["id"].as_str().unwrap());
        created(
            app.send(
                Method::POST,
                &path,
                &cast.admin.access_token,
                Some(json!({"body": body})),
            )
            .await,
        )
        .await;
    }
    let bodies = |page: serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        bodies(
            json_body(search(&app, &scene.project, &cast.admin.access_token, "Release").await)
                .await
        )
        .len(),
        2
    );
    assert_eq!(
        bodies(
            json_body(search(&app, &scene.project, &cast.viewer.access_token, "release").await)
                .await
        ),
        ["release train leaves Friday"]
    );
    let outsider = search(&app, &scene.project, &cast.outsider.access_token, "release").await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
    let odd = search(
        &app,
        &scene.project,
        &cast.admin.access_token,
        "%22%20OR%20*",
    )
    .await;
    assert_eq!(odd.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_invite_stops_working_and_a_removed_member_loses_a_private_room() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private"}),
        )
        .await;
    let room_id = room["id"].as_str().unwrap();
    let invites = format!("/api/v1/rooms/{room_id}/invites");
    let many = created(
        app.send(
            Method::POST,
            &invites,
            &cast.admin.access_token,
            Some(json!({})),
        )
        .await,
    )
    .await;
    let token = many["token"].as_str().unwrap();
    let joined = accept(&app, &cast.editor, token).await;
    assert_eq!(joined.status(), StatusCode::OK);

    let revoke = format!("{invites}/{}", many["invite"]["id"].as_str().unwrap());
    let by_editor = app
        .send(Method::DELETE, &revoke, &cast.editor.access_token, None)
        .await;
    assert_problem(by_editor, StatusCode::FORBIDDEN, "forbidden").await;
    let revoked = app
        .send(Method::DELETE, &revoke, &cast.admin.access_token, None)
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let again = app
        .send(Method::DELETE, &revoke, &cast.admin.access_token, None)
        .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
    let late = accept(&app, &cast.viewer, token).await;
    assert_problem(late, StatusCode::GONE, "invite_revoked").await;

    let member = format!("/api/v1/rooms/{room_id}/members/{}", cast.editor.id);
    let removed = app
        .send(Method::DELETE, &member, &cast.admin.access_token, None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(
            Method::GET,
            &format!("/api/v1/rooms/{room_id}"),
            &cast.editor.access_token,
            None,
        )
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    let twice = app
        .send(Method::DELETE, &member, &cast.admin.access_token, None)
        .await;
    assert_problem(twice, StatusCode::NOT_FOUND, "not_found").await;
}
