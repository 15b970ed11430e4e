//! The audit log over HTTP: a row for every mutation, with actor, request id and the
//! state before and after; filters; pagination; readable by admins and the owner only.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene};

async fn audit(app: &TestApp, scene: &Scene, token: &str, query: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut path = format!("/api/v1/projects/{}/audit?limit=3{query}", scene.project);
    loop {
        let response = app.get_authed(&path, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page = json_body(response).await;
        entries.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/projects/{}/audit?limit=3{query}&cursor={cursor}",
                    scene.project
                )
            }
            None => return entries,
        }
    }
}

#[tokio::test]
async fn every_mutation_leaves_one_audit_row_in_order() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let actions: Vec<String> = audit(&app, &scene, &cast.admin.access_token, "")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "project.created",
            "member.added",
            "member.added",
            "member.added",
            "member.added",
            "workspace.created",
            "invitation.created",
        ],
        "paged three at a time, no gaps or repeats"
    );
}

#[tokio::test]
async fn an_audit_row_records_actor_request_id_and_before_and_after() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.victim.id
    );
    let response = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&cast.admin.access_token)
        .header("x-request-id", "audit-test-42")
        .json(&json!({"role": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let entries = audit(
        &app,
        &scene,
        &cast.owner.access_token,
        "&action=member.role_changed",
    )
    .await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["actor"], cast.admin.id);
    assert_eq!(entry["request_id"], "audit-test-42");
    assert_eq!(
        (entry["target_type"].as_str(), entry["target_id"].as_str()),
        (Some("member"), Some(cast.victim.id.as_str()))
    );
    assert_eq!(entry["before"]["role"], "viewer");
    assert_eq!(entry["after"]["role"], "editor");
    let text = entry.to_string();
    assert!(
        !text.contains("token_hash") && !text.contains("argon2"),
        "no secrets in the audit log"
    );
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_and_time() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let before_rename = app.clock_now_rfc3339();
    app.clock.advance(chrono::Duration::seconds(10));
    let project = format!("/api/v1/projects/{}", scene.project);
    app.send(
        Method::PATCH,
        &project,
        &cast.admin.access_token,
        Some(json!({"name": "Renamed"})),
    )
    .await;

    let by_admin = audit(
        &app,
        &scene,
        &cast.owner.access_token,
        &format!("&actor={}", cast.admin.id),
    )
    .await;
    assert_eq!(by_admin.len(), 1);
    assert_eq!(by_admin[0]["after"]["name"], "Renamed");
    let since = audit(
        &app,
        &scene,
        &cast.owner.access_token,
        &format!("&since={}", urlencode(&app.clock_now_rfc3339())),
    )
    .await;
    assert_eq!(since.len(), 1, "only the rename happened at or after now");
    let until = audit(
        &app,
        &scene,
        &cast.owner.access_token,
        &format!("&until={}", urlencode(&before_rename)),
    )
    .await;
    assert!(until.iter().all(|e| e["action"] != "project.updated"));
    let bad = app
        .get_authed(
            &format!("{project}/audit?since=yesterday"),
            &cast.owner.access_token,
        )
        .await;
    crate::helpers::assert_problem(bad, StatusCode::BAD_REQUEST, "invalid_query").await;
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

impl TestApp {
    fn clock_now_rfc3339(&self) -> String {
        use tandem_domain::Clock;
        self.clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }
}

#[tokio::test]
async fn an_empty_patch_changes_nothing_and_records_nothing() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.owner.access_token;
    let before = audit(&app, &scene, token, "").await.len();
    let project = app
        .send(
            Method::PATCH,
            &format!("/api/v1/projects/{}", scene.project),
            token,
            Some(json!({})),
        )
        .await;
    assert_eq!(json_body(project).await["name"], "Apollo");
    let workspace = app
        .send(
            Method::PATCH,
            &format!("/api/v1/workspaces/{}", scene.workspace),
            token,
            Some(json!({})),
        )
        .await;
    assert_eq!(json_body(workspace).await["name"], "Design");
    assert_eq!(audit(&app, &scene, token, "").await.len(), before);
}
