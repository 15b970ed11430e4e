//! The job kinds end to end (data processing, reports with downloadable artifacts) and
//! the retry path: an infrastructure fault retries with backoff, then the job is dead,
//! and a retry brings it back.

use chrono::Duration as ChronoDuration;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, json_body, spawn_app, spawn_app_with};
use crate::tenancy_helpers::{Cast, Scene};

#[tokio::test]
async fn data_processing_profiles_a_csv_and_groups_the_filtered_rows() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let data = "city,temp\nOslo,3\nLima,19\nOslo,5\nLima,21\nRome,\n";
    let body = json!({"kind": "data_processing", "payload": {
        "format": "csv", "data": data,
        "filter": [{"column": "temp", "op": "gt", "value": 4}],
        "group_by": "city",
        "aggregates": [{"column": "temp", "fn": "avg"}]}});
    let (status, job) = app.submit_job(&scene.project, token, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = app.finished_job(job["id"].as_str().unwrap(), token).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let result = &done["result"];
    assert_eq!(
        (result["rows"].as_u64(), result["rows_matched"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(result["columns"][1]["numeric"]["mean"], 12.0);
    assert_eq!(result["columns"][1]["empty"], 1);
    assert_eq!(
        result["groups"],
        json!([{"key": "Lima", "count": 2, "avg(temp)": 20.0}, {"key": "Oslo", "count": 1, "avg(temp)": 5.0}])
    );
}

#[tokio::test]
async fn a_report_of_project_activity_is_downloadable_as_markdown_and_csv() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.admin.access_token;
    // Some activity of the admin's own, a name with a pipe in it.
    app.send(
        Method::POST,
        &format!("/api/v1/projects/{}/workspaces", scene.project),
        token,
        Some(json!({"name": "Ops | Night"})),
    )
    .await;
    let (_, job) = app
        .submit_job(&scene.project, token, json!({"kind": "report"}))
        .await;
    let id = job["id"].as_str().unwrap();
    let done = app.finished_job(id, token).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["artifacts"], json!(["report.csv", "report.md"]));
    let entries = done["result"]["entries"].as_u64().unwrap();
    assert!(
        entries >= 7,
        "project, members, workspaces, invitation: {done}"
    );

    let markdown = app
        .send(
            Method::GET,
            &format!("/api/v1/jobs/{id}/artifacts/report.md"),
            &cast.viewer.access_token,
            None,
        )
        .await;
    assert_eq!(markdown.status(), StatusCode::OK);
    assert!(
        markdown.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let markdown = markdown.text().await.unwrap();
    assert!(markdown.starts_with("# Project activity"), "{markdown}");
    assert!(markdown.contains("`workspace.created`"));
    let csv = app
        .send(
            Method::GET,
            &format!("/api/v1/jobs/{id}/artifacts/report.csv"),
            token,
            None,
        )
        .await;
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("at,actor_id,actor_name,action,target_type,target_id,request_id")
    );
    assert_eq!(lines.count() as u64, entries);

    let missing = app
        .send(
            Method::GET,
            &format!("/api/v1/jobs/{id}/artifacts/secrets.txt"),
            token,
            None,
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let outsider = app
        .send(
            Method::GET,
            &format!("/api/v1/jobs/{id}/artifacts/report.md"),
            &cast.outsider.access_token,
            None,
        )
        .await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_infrastructure_fault_retries_with_backoff_then_dies_and_can_be_retried() {
    // An interpreter that is not there: the sandbox itself fails, which is a fault.
    let app = spawn_app_with(|s| s.sandbox_python = "/usr/bin/no-such-python3".into()).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let body = json!({"kind": "code_execution", "max_attempts": 2,
        "payload": {"language": "python", "code": "print(1)"}});
    let (_, job) = app.submit_job(&scene.project, token, body).await;
    let id = job["id"].as_str().unwrap();

    let failed = app.job_until(id, token, |j| j["state"] == "failed").await;
    assert_eq!(failed["attempt"], 1);
    assert_eq!(failed["errors"].as_array().unwrap().len(), 1);
    let run_at: chrono::DateTime<chrono::Utc> = failed["run_at"].as_str().unwrap().parse().unwrap();
    let failed_at: chrono::DateTime<chrono::Utc> =
        failed["errors"][0]["at"].as_str().unwrap().parse().unwrap();
    assert!(
        run_at >= failed_at && run_at <= failed_at + ChronoDuration::seconds(2),
        "backoff of attempt 1 is below 2 s: {failed}"
    );

    app.clock.advance(ChronoDuration::seconds(3));
    let dead = app.job_until(id, token, |j| j["state"] == "dead").await;
    assert_eq!(dead["attempt"], 2);
    assert_eq!(dead["errors"].as_array().unwrap().len(), 2);

    let retried = app
        .send(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            token,
            None,
        )
        .await;
    assert_eq!(retried.status(), StatusCode::OK);
    let retried = json_body(retried).await;
    assert_eq!(
        (retried["state"].as_str(), retried["attempt"].as_u64()),
        (Some("queued"), Some(0))
    );
    let failed_again = app
        .job_until(id, token, |j| {
            j["state"] == "failed" || j["state"] == "dead"
        })
        .await;
    assert_eq!(
        failed_again["errors"].as_array().unwrap().len(),
        3,
        "the history is kept"
    );
}

#[tokio::test]
async fn a_server_without_isolation_refuses_code_but_runs_other_jobs() {
    let app = spawn_app_with(|s| s.sandbox_init = Some("/usr/bin/false".into())).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let body = json!({"kind": "code_execution", "payload": {"language": "bash", "code": "id"}});
    let response = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/{}/jobs", scene.project),
            token,
            Some(body),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem.to_string().contains("code execution is disabled"),
        "{problem}"
    );
    let ready = json_body(app.get("/readyz").await).await;
    assert!(
        ready["checks"]["sandbox"]
            .as_str()
            .unwrap()
            .starts_with("unavailable"),
        "{ready}"
    );
    let (status, job) = app
        .submit_job(&scene.project, token, json!({"kind": "noop"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = app.finished_job(job["id"].as_str().unwrap(), token).await;
    assert_eq!(done["state"], "succeeded");
}
