//! Standalone `tandem worker` processes on the server's database: several workers never
//! run one job twice, a worker killed mid-job (SIGKILL) has its job run again once its
//! lease expires with the result recorded once, and a worker stopped gracefully gives its
//! unfinished job back. On SQLite the processes share the database file.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::cli::worker;
use crate::helpers::{TestApp, json_body, spawn_app_with};
use crate::tenancy_helpers::{Cast, Scene};

/// What a worker process needs to share `app`'s queue, with quick leases.
fn worker_env(app: &TestApp, concurrency: usize) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "TANDEM_DATABASE_URL",
            app.settings
                .database_url
                .as_ref()
                .unwrap()
                .expose_secret()
                .to_owned(),
        ),
        ("TANDEM_JOBS_CONCURRENCY", concurrency.to_string()),
        ("TANDEM_JOBS_LEASE", "2s".into()),
        ("TANDEM_JOBS_HEARTBEAT", "500ms".into()),
        ("TANDEM_JOBS_POLL", "100ms".into()),
        ("TANDEM_SHUTDOWN_TIMEOUT", "1s".into()),
    ];
    if let Some(redis) = &app.settings.redis_url {
        env.push(("TANDEM_REDIS_URL", redis.expose_secret().to_owned()));
        env.push(("TANDEM_REDIS_PREFIX", app.settings.redis_prefix.clone()));
    }
    env
}

/// A server that runs no jobs itself, so the worker processes get them all.
async fn server_without_workers() -> TestApp {
    spawn_app_with(|s| s.jobs_concurrency = 0).await
}

async fn list_all(app: &TestApp, project: &str, token: &str) -> Vec<Value> {
    let mut jobs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/projects/{project}/jobs?limit=100");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = json_body(app.send(Method::GET, &path, token, None).await).await;
        jobs.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return jobs,
        }
    }
}

#[tokio::test]
async fn several_workers_run_every_job_exactly_once() {
    let app = server_without_workers().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut workers = Vec::new();
    for dir in &dirs {
        workers.push(worker(dir.path(), &worker_env(&app, 4)).await);
    }
    let token = &cast.editor.access_token;
    let submissions =
        (0..150).map(|_| app.submit_job(&scene.project, token, json!({"kind": "noop"})));
    for (status, job) in futures::future::join_all(submissions).await {
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{job}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let jobs = loop {
        let jobs = list_all(&app, &scene.project, token).await;
        if jobs.iter().all(|j| j["state"] == "succeeded") {
            break jobs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs left unfinished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(jobs.len(), 150);
    let ids: HashSet<_> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 150);
    for job in &jobs {
        assert_eq!(job["attempt"], 1, "run more than once: {job}");
        assert_eq!(job["errors"], json!([]));
    }
}

#[tokio::test]
async fn a_killed_workers_job_runs_again_after_its_lease_expires_and_finishes_once() {
    let app = server_without_workers().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let dir = tempfile::tempdir().unwrap();
    let mut first = worker(dir.path(), &worker_env(&app, 1)).await;
    // Writes a line per run into its output, then takes a while.
    let body = json!({"kind": "code_execution", "payload": {"language": "bash",
        "code": "echo run; sleep 2; echo done", "timeout_ms": 20000}});
    let (_, job) = app.submit_job(&scene.project, token, body).await;
    let id = job["id"].as_str().unwrap();
    let running = app.job_until(id, token, |j| j["state"] == "running").await;
    assert_eq!(running["attempt"], 1);

    // SIGKILL: no release, no goodbye; the lease simply stops being renewed.
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    // Another worker's reaper takes the job back once the lease has run out (the
    // server's own reaper keeps the test's manual time, which does not move here), and
    // that worker runs it.
    let second_dir = tempfile::tempdir().unwrap();
    let mut env = worker_env(&app, 1);
    env.push(("TANDEM_JOBS_REAP_EVERY", "200ms".into()));
    let _second = worker(second_dir.path(), &env).await;
    let done = app.finished_job(id, token).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["attempt"], 2);
    assert_eq!(
        done["result"]["stdout"], "run\ndone\n",
        "one run's output, recorded once"
    );
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("lease expired"),
        "{done}"
    );
}

#[tokio::test]
async fn a_worker_stopped_gracefully_gives_its_unfinished_job_back() {
    let app = server_without_workers().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let dir = tempfile::tempdir().unwrap();
    let child = worker(dir.path(), &worker_env(&app, 1)).await;
    let body = json!({"kind": "code_execution", "payload": {"language": "bash",
        "code": "sleep 30", "timeout_ms": 60000}});
    let (_, job) = app.submit_job(&scene.project, token, body).await;
    let id = job["id"].as_str().unwrap();
    app.job_until(id, token, |j| j["state"] == "running").await;

    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Within the 1 s grace plus a margin, the job is back in the queue, attempt unspent.
    let released = app.job_until(id, token, |j| j["state"] == "queued").await;
    assert_eq!(released["attempt"], 0, "{released}");
    assert_eq!(released["errors"], json!([]));
}

#[tokio::test]
async fn enqueue_to_start_takes_milliseconds_not_a_poll_interval() {
    // Polling every 10 s: only the wake-up can start the job quickly.
    let app = spawn_app_with(|s| s.jobs_poll = Duration::from_secs(10)).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    // Let the worker go idle first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = tokio::time::Instant::now();
    let (_, job) = app
        .submit_job(&scene.project, token, json!({"kind": "noop"}))
        .await;
    app.finished_job(job["id"].as_str().unwrap(), token).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken, not polled"
    );
}

#[tokio::test]
async fn a_worker_that_loses_its_lease_kills_the_program_and_writes_nothing() {
    // One slot, a slow heartbeat and a quick reaper: once the lease is taken back, the
    // worker hears it at its next renewal and must give the slot up by killing the run.
    let app = spawn_app_with(|s| {
        s.jobs_concurrency = 1;
        s.jobs_lease = Duration::from_secs(10);
        s.jobs_heartbeat = Duration::from_secs(2);
        s.jobs_reap_every = Duration::from_millis(100);
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let body = json!({"kind": "code_execution", "payload": {"language": "bash",
        "code": "echo attempt; sleep 40", "timeout_ms": 60000}});
    let (_, job) = app.submit_job(&scene.project, token, body).await;
    let id = job["id"].as_str().unwrap();
    app.job_until(id, token, |j| j["state"] == "running").await;

    // The server's time jumps past the lease: the reaper takes the job back.
    app.clock.advance(chrono::Duration::seconds(60));
    let lost_at = tokio::time::Instant::now();
    let second = app
        .job_until(id, token, |j| j["attempt"] == 2 && j["state"] == "running")
        .await;
    // The only slot was freed: the first run was stopped, not left to finish its 40 s.
    assert!(lost_at.elapsed() < Duration::from_secs(15), "{second}");
    assert!(
        second["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("lease expired")
    );
    assert_eq!(
        second["result"],
        Value::Null,
        "the stale attempt recorded nothing"
    );

    let cancel = app
        .send(
            Method::POST,
            &format!("/api/v1/jobs/{id}/cancel"),
            token,
            None,
        )
        .await;
    assert_eq!(cancel.status(), reqwest::StatusCode::OK);
    let done = app.finished_job(id, token).await;
    assert_eq!(done["state"], "cancelled");
}
