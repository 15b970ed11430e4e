//! Jobs over HTTP: submission and its validation, permissions per role, idempotency keys
//! (concurrent too), real code execution in the sandbox, cancel of queued and running
//! jobs, events on the project and submitter channels, and metrics.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields, json_body, spawn_app};
use crate::socket::Auth;
use crate::tenancy_helpers::{Cast, Scene};

impl TestApp {
    /// Submits a job as `token`; returns the status and body.
    pub async fn submit_job(&self, project: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .send(
                Method::POST,
                &format!("/api/v1/projects/{project}/jobs"),
                token,
                Some(body),
            )
            .await;
        let status = response.status();
        (status, json_body(response).await)
    }

    pub async fn job(&self, id: &str, token: &str) -> Value {
        let response = self
            .send(Method::GET, &format!("/api/v1/jobs/{id}"), token, None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await
    }

    /// Polls a job until `done` says so (within 30 s); returns it.
    pub async fn job_until(&self, id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id, token).await;
            if done(&job) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job never got there: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls a job until it is finished (succeeded, cancelled or dead).
    pub async fn finished_job(&self, id: &str, token: &str) -> Value {
        self.job_until(id, token, |j| {
            ["succeeded", "cancelled", "dead"].contains(&j["state"].as_str().unwrap_or(""))
        })
        .await
    }
}

fn code(language: &str, code: &str, stdin: &str) -> Value {
    json!({"kind": "code_execution", "payload": {"language": language, "code": code, "stdin": stdin}})
}

#[tokio::test]
async fn a_noop_job_is_queued_then_runs_and_succeeds() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let (status, job) = app
        .submit_job(
            &scene.project,
            &cast.editor.access_token,
            json!({"kind": "noop"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["state"], "queued");
    assert_eq!(job["created_by"], cast.editor.id.as_str());
    let id = job["id"].as_str().unwrap();
    let done = app.finished_job(id, &cast.viewer.access_token).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["attempt"], 1);
    assert_eq!(done["result"], json!({}));
    assert_eq!(done["artifacts"], json!([]));
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());
}

#[tokio::test]
async fn programs_run_for_real_in_all_three_languages_with_stdin() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let programs = [
        code(
            "python",
            "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))",
            "1 2 3 4",
        ),
        code(
            "javascript",
            "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(s.trim().split(' ').map(Number).reduce((a,b)=>a*b)))",
            "2 3 7",
        ),
        code(
            "bash",
            "read a b; echo $((a - b)); echo oops >&2; exit 3",
            "50 8",
        ),
    ];
    let mut ids = Vec::new();
    for program in programs {
        let (status, job) = app.submit_job(&scene.project, token, program).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let results: Vec<Value> =
        futures::future::join_all(ids.iter().map(|id| app.finished_job(id, token))).await;
    let outputs: Vec<(&str, i64)> = results
        .iter()
        .map(|j| {
            assert_eq!(j["state"], "succeeded", "{j}");
            (
                j["result"]["stdout"].as_str().unwrap(),
                j["result"]["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outputs, [("10\n", 0), ("42\n", 0), ("42\n", 3)]);
    assert_eq!(results[2]["result"]["stderr"], "oops\n");
    let result = &results[0]["result"];
    for field in ["wall_ms", "cpu_ms", "peak_memory_kb"] {
        assert!(result[field].is_u64(), "{field} in {result}");
    }
    assert_eq!(
        (
            result["timed_out"].as_bool(),
            result["oom_killed"].as_bool()
        ),
        (Some(false), Some(false))
    );
}

#[tokio::test]
async fn a_program_that_runs_too_long_is_a_succeeded_job_that_timed_out() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let body = json!({"kind": "code_execution", "payload": {
        "language": "python", "code": "import time\nprint('started', flush=True)\ntime.sleep(60)",
        "timeout_ms": 700}});
    let (_, job) = app.submit_job(&scene.project, token, body).await;
    let done = app.finished_job(job["id"].as_str().unwrap(), token).await;
    assert_eq!(
        done["state"], "succeeded",
        "a program's failure is not the job's"
    );
    assert_eq!(done["result"]["timed_out"], true);
    assert_eq!(done["result"]["stdout"], "started\n");
    assert_eq!(done["attempt"], 1, "not retried");
}

#[tokio::test]
async fn viewers_read_jobs_editors_submit_and_outsiders_see_nothing() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}/jobs", scene.project);
    let noop = json!({"kind": "noop"});
    let viewer = app
        .send(
            Method::POST,
            &path,
            &cast.viewer.access_token,
            Some(noop.clone()),
        )
        .await;
    assert_problem(viewer, StatusCode::FORBIDDEN, "forbidden").await;
    let outsider = app
        .send(
            Method::POST,
            &path,
            &cast.outsider.access_token,
            Some(noop.clone()),
        )
        .await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;

    let (_, job) = app
        .submit_job(&scene.project, &cast.editor.access_token, noop)
        .await;
    let id = job["id"].as_str().unwrap();
    let job_path = format!("/api/v1/jobs/{id}");
    let seen = app
        .send(Method::GET, &job_path, &cast.outsider.access_token, None)
        .await;
    assert_problem(seen, StatusCode::NOT_FOUND, "not_found").await;
    let listed = json_body(
        app.send(Method::GET, &path, &cast.viewer.access_token, None)
            .await,
    )
    .await;
    assert_eq!(listed["items"][0]["id"], id);
    let listed = app
        .send(Method::GET, &path, &cast.outsider.access_token, None)
        .await;
    assert_problem(listed, StatusCode::NOT_FOUND, "not_found").await;

    // Steering is for the submitter and admins: not another editor, not a viewer.
    let other_editor = app.new_user().await;
    app.send(
        Method::POST,
        &format!("/api/v1/projects/{}/members", scene.project),
        &cast.owner.access_token,
        Some(json!({"email": other_editor.email, "role": "editor"})),
    )
    .await;
    for token in [&other_editor.access_token, &cast.viewer.access_token] {
        let cancel = app
            .send(Method::POST, &format!("{job_path}/cancel"), token, None)
            .await;
        assert_problem(cancel, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let missing = app
        .send(
            Method::GET,
            "/api/v1/jobs/0190d5b3-0000-7000-8000-000000000000",
            &cast.owner.access_token,
            None,
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn bad_submissions_are_refused_with_the_fields_at_fault() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let cases = [
        (json!({"kind": "mine_bitcoin"}), "kind"),
        (json!({"kind": "Bad Kind"}), "kind"),
        (json!({"kind": "noop", "priority": 1000}), "priority"),
        (json!({"kind": "noop", "max_attempts": 0}), "max_attempts"),
        (
            json!({"kind": "noop", "run_at": "2100-01-01T00:00:00Z"}),
            "run_at",
        ),
        (
            json!({"kind": "code_execution", "payload": {"language": "cobol", "code": "x"}}),
            "payload",
        ),
        (
            json!({"kind": "code_execution", "payload": {"language": "python", "code": " "}}),
            "payload.code",
        ),
        (
            json!({"kind": "code_execution", "payload": {"language": "python", "code": "1", "timeout_ms": 0}}),
            "payload.timeout_ms",
        ),
        (
            json!({"kind": "data_processing", "payload": {"format": "xml", "data": ""}}),
            "payload",
        ),
        (
            json!({"kind": "report", "payload": {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}),
            "payload.from",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .send(
                Method::POST,
                &format!("/api/v1/projects/{}/jobs", scene.project),
                token,
                Some(body.clone()),
            )
            .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            error_fields(&problem).contains(&field.to_owned()),
            "{body} -> {problem}"
        );
    }
    let unknown_field = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/{}/jobs", scene.project),
            token,
            Some(json!({"kind": "noop", "color": 1})),
        )
        .await;
    assert_eq!(unknown_field.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_job_and_refuses_another_request() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let url = app.url(&format!("/api/v1/projects/{}/jobs", scene.project));
    let submit = |key: &'static str, body: Value| {
        app.client
            .post(&url)
            .bearer_auth(&cast.editor.access_token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let body = json!({"kind": "noop", "payload": {"a": 1, "b": [1, 2]}});
    let first = submit("order-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first = json_body(first).await;
    // The same request with its keys in another order is the same request.
    let again = submit(
        "order-1",
        json!({"payload": {"b": [1, 2], "a": 1}, "kind": "noop"}),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_body(again).await["id"], first["id"]);
    let other = submit("order-1", json!({"kind": "noop", "payload": {"a": 2}}))
        .await
        .unwrap();
    assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_mismatch",
    )
    .await;

    // A double click: many at once, one job.
    let racing =
        futures::future::join_all((0..6).map(|_| submit("click", json!({"kind": "noop"})))).await;
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for response in racing {
        let response = response.unwrap();
        created += usize::from(response.status() == StatusCode::ACCEPTED);
        ids.insert(json_body(response).await["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
}

#[tokio::test]
async fn cancel_stops_a_queued_job_at_once_and_kills_a_running_program() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let later = json!({"kind": "noop", "run_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()});
    let (_, queued) = app.submit_job(&scene.project, token, later).await;
    let queued_id = queued["id"].as_str().unwrap();
    let cancelled = json_body(
        app.send(
            Method::POST,
            &format!("/api/v1/jobs/{queued_id}/cancel"),
            token,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(cancelled["state"], "cancelled");

    let sleeper = json!({"kind": "code_execution", "payload": {"language": "bash",
        "code": "echo up; sleep 50", "timeout_ms": 60000}});
    let (_, running) = app.submit_job(&scene.project, token, sleeper).await;
    let id = running["id"].as_str().unwrap();
    app.job_until(id, token, |j| j["state"] == "running").await;
    let asked = tokio::time::Instant::now();
    let response = app
        .send(
            Method::POST,
            &format!("/api/v1/jobs/{id}/cancel"),
            token,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let done = app.finished_job(id, token).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the program was killed, not waited for"
    );

    let again = app
        .send(
            Method::POST,
            &format!("/api/v1/jobs/{id}/cancel"),
            token,
            None,
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "job_finished").await;
    let retry = app
        .send(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            token,
            None,
        )
        .await;
    assert_problem(retry, StatusCode::CONFLICT, "job_not_dead").await;
}

#[tokio::test]
async fn job_changes_reach_the_project_channel_and_the_submitters_channel() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let project_channel = format!("project:{}", scene.project);
    viewer
        .request(
            json!({"type": "subscribe", "channel": project_channel}),
            "p",
        )
        .await;
    let mut submitter = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let user_channel = format!("user:{}", cast.editor.id);
    submitter
        .request(json!({"type": "subscribe", "channel": user_channel}), "u")
        .await;

    let (_, job) = app
        .submit_job(
            &scene.project,
            &cast.editor.access_token,
            json!({"kind": "noop"}),
        )
        .await;
    for socket in [&mut viewer, &mut submitter] {
        // A worker may take the job up before its submission has announced it (with
        // several workers polling the database, `job.updated` to running can come first):
        // every event carries the job's whole state.
        let mut created = None;
        let mut states = Vec::new();
        while created.is_none() || states.last().map(String::as_str) != Some("succeeded") {
            let frame = socket.recv().await;
            if frame["type"] != "event" || frame["data"]["id"] != job["id"] {
                continue;
            }
            assert!(
                frame["data"].get("payload").is_none(),
                "events leave the payload out"
            );
            match frame["event"].as_str() {
                Some("job.created") => created = Some(frame),
                Some("job.updated") => {
                    states.push(frame["data"]["state"].as_str().unwrap().to_owned());
                }
                _ => {}
            }
        }
        assert_eq!(states, ["running", "succeeded"]);
    }
}

#[tokio::test]
async fn queue_metrics_and_sandbox_readiness_are_reported() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let (_, job) = app
        .submit_job(
            &scene.project,
            &cast.editor.access_token,
            json!({"kind": "noop"}),
        )
        .await;
    app.finished_job(job["id"].as_str().unwrap(), &cast.editor.access_token)
        .await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("tandem_jobs{state=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tandem_jobs{state=\"dead\"} 0"));
    assert!(metrics.contains("tandem_jobs_oldest_runnable_age_seconds 0"));
    assert!(metrics.contains("tandem_jobs_expired_leases 0"));
    let ready = json_body(app.get("/readyz").await).await;
    let sandbox = ready["checks"]["sandbox"].as_str().unwrap();
    assert!(
        sandbox.starts_with("full") || sandbox.starts_with("minimal"),
        "{ready}"
    );
}
