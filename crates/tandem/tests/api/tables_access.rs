//! Who may do what with live tables (every endpoint, every role), and the audit rows
//! each schema change leaves.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};
use crate::tables_helpers::{change, create_field, create_table, id, read};
use crate::tenancy_helpers::{Cast, Scene};

#[tokio::test]
async fn every_schema_change_leaves_an_audit_row_with_before_and_after() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let editor = &cast.editor.access_token;
    let table = create_table(&app, editor, &scene.workspace, "Tasks").await;
    let at = format!("/api/v1/tables/{}", id(&table));
    change(&app, editor, Method::PATCH, &at, json!({"name": "Todo"})).await;
    let field = create_field(
        &app,
        editor,
        id(&table),
        json!({"name": "Done", "type": "boolean"}),
    )
    .await;
    let field_at = format!("/api/v1/fields/{}", id(&field));
    change(
        &app,
        editor,
        Method::PATCH,
        &field_at,
        json!({"name": "Finished"}),
    )
    .await;
    app.send(Method::DELETE, &field_at, editor, None).await;
    app.send(Method::DELETE, &at, &cast.admin.access_token, None)
        .await;

    let log = format!("/api/v1/projects/{}/audit?limit=100", scene.project);
    let entries = read(&app, &cast.owner.access_token, &log).await;
    let ours: Vec<&Value> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| ["table", "field"].contains(&e["target_type"].as_str().unwrap()))
        .collect();
    let actions: Vec<&str> = ours.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "table.created",
            "table.updated",
            "field.created",
            "field.updated",
            "field.deleted",
            "table.deleted"
        ]
    );
    assert_eq!(ours[0]["actor"], cast.editor.id);
    assert_eq!(ours[0]["target_id"], id(&table));
    assert_eq!(
        (&ours[1]["before"]["name"], &ours[1]["after"]["name"]),
        (&json!("Tasks"), &json!("Todo"))
    );
    assert_eq!(ours[2]["after"]["type"], "boolean");
    assert_eq!(
        (&ours[3]["before"]["name"], &ours[3]["after"]["name"]),
        (&json!("Done"), &json!("Finished"))
    );
    assert_eq!(
        (&ours[4]["after"], &ours[5]["actor"]),
        (&Value::Null, &json!(cast.admin.id))
    );
}

/// One endpoint of the matrix: its method, its path (`{workspace}`, `{table}`, `{field}`
/// filled in from a fresh scene), its body, and the statuses for owner, admin, editor,
/// viewer and non-member.
type Row = (Method, &'static str, Option<Value>, [u16; 5]);

fn matrix() -> Vec<Row> {
    use Method as M;
    let field = json!({"name": "Estimate", "type": "number", "precision": 1});
    vec![
        (
            M::POST,
            "/api/v1/workspaces/{workspace}/tables",
            Some(json!({"name": "New"})),
            [201, 201, 201, 403, 404],
        ),
        (
            M::GET,
            "/api/v1/workspaces/{workspace}/tables",
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            M::GET,
            "/api/v1/tables/{table}",
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            M::PATCH,
            "/api/v1/tables/{table}",
            Some(json!({"name": "Renamed"})),
            [200, 200, 200, 403, 404],
        ),
        (
            M::DELETE,
            "/api/v1/tables/{table}",
            None,
            [204, 204, 403, 403, 404],
        ),
        (
            M::POST,
            "/api/v1/tables/{table}/fields",
            Some(field),
            [201, 201, 201, 403, 404],
        ),
        (
            M::GET,
            "/api/v1/tables/{table}/fields",
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            M::GET,
            "/api/v1/fields/{field}",
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            M::PATCH,
            "/api/v1/fields/{field}",
            Some(json!({"name": "Renamed"})),
            [200, 200, 200, 403, 404],
        ),
        (
            M::DELETE,
            "/api/v1/fields/{field}",
            None,
            [204, 204, 204, 403, 404],
        ),
    ]
}

#[tokio::test]
async fn viewers_read_tables_editors_change_them_and_admins_delete_them() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let mut mismatches = Vec::new();
    for (method, template, body, expected) in matrix() {
        for ((role, actor), expected) in cast.actors().into_iter().zip(expected) {
            let scene = Scene::new(&app, &cast).await;
            let owner = &cast.owner.access_token;
            let table = create_table(&app, owner, &scene.workspace, "Tasks").await;
            let field = create_field(
                &app,
                owner,
                id(&table),
                json!({"name": "Title", "type": "text"}),
            )
            .await;
            let path = template
                .replace("{workspace}", &scene.workspace)
                .replace("{table}", id(&table))
                .replace("{field}", id(&field));
            let response = app
                .send(method.clone(), &path, &actor.access_token, body.clone())
                .await;
            let status = response.status().as_u16();
            if status != expected {
                let body = response.text().await.unwrap_or_default();
                mismatches.push(format!(
                    "{role} {method} {template}: {status}, expected {expected}: {body}"
                ));
            } else if status == 403 {
                assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
            }
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
