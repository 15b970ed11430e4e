//! `jobs`: no-op jobs end to end. Submits `count` jobs over HTTP (`concurrency` in
//! flight) while a realtime socket on the project channel counts them finishing; reports
//! jobs per second from the first submission to the last completion, and enqueue-to-start
//! and enqueue-to-finish latency read from the server's own timestamps (`created_at`,
//! `started_at`, `finished_at`), so no client clock enters them.
//!
//! `sandbox`: the time the sandbox adds to running `print(1)` in Python, against the
//! bare interpreter, medians of `samples` runs each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::fixture::Fixture;
use crate::sockets;
use crate::stats::{latency_ms, round3};

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub count: usize,
    pub concurrency: usize,
}

pub async fn run(fixture: &Fixture, options: Options) -> anyhow::Result<Value> {
    let Options { count, concurrency } = options;
    let mut socket = sockets::open(&fixture.socket_url(), None).await?;
    sockets::subscribe(&mut socket, &format!("project:{}", fixture.project)).await?;
    let url = format!("{}/api/v1/projects/{}/jobs", fixture.base, fixture.project);

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, url, token, next) = (
                fixture.client.clone(),
                url.clone(),
                fixture.token.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"kind": "noop"}))
                        .send()
                        .await?
                        .error_for_status()?;
                }
                anyhow::Ok(())
            })
        })
        .collect();

    let mut to_start = Vec::with_capacity(count);
    let mut to_finish = Vec::with_capacity(count);
    let mut first_created: Option<DateTime<Utc>> = None;
    let mut last_finished: Option<DateTime<Utc>> = None;
    while to_finish.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .context("no job finished for 60 s")?
            .context("the socket closed")??;
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(payload) => {
                socket.send(Message::Pong(payload)).await?;
                continue;
            }
            _ => continue,
        };
        let frame: Value = serde_json::from_str(text.as_str())?;
        if frame["event"] != "job.updated" || frame["data"]["state"] != "succeeded" {
            continue;
        }
        let job = &frame["data"];
        let time = |field: &str| {
            job[field]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        };
        let (Some(created), Some(began), Some(finished)) =
            (time("created_at"), time("started_at"), time("finished_at"))
        else {
            anyhow::bail!("a job without its times: {job}");
        };
        first_created = Some(first_created.map_or(created, |t| t.min(created)));
        last_finished = Some(last_finished.map_or(finished, |t| t.max(finished)));
        to_start.push((began - created).to_std().unwrap_or_default());
        to_finish.push((finished - created).to_std().unwrap_or_default());
    }
    let wall = started.elapsed();
    for submitter in submitters {
        submitter.await??;
    }
    let server_span = match (first_created, last_finished) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => wall,
    };
    Ok(json!({
        "scenario": "jobs",
        "jobs": count,
        "submitters": concurrency,
        "jobs_per_s": round3(count as f64 / server_span.as_secs_f64().max(1e-9)),
        "seconds": round3(server_span.as_secs_f64()),
        "client_seconds": round3(wall.as_secs_f64()),
        "enqueue_to_start_ms": latency_ms(&mut to_start),
        "enqueue_to_finish_ms": latency_ms(&mut to_finish),
    }))
}

/// The sandbox's overhead over the bare interpreter; `init` is the `tandem` binary that
/// builds the sandbox (`tandem __sandbox-init`).
pub async fn sandbox(init: Option<std::path::PathBuf>, samples: usize) -> anyhow::Result<Value> {
    let mut config = tandem_sandbox::SandboxConfig::default();
    if let Some(path) = init {
        config.init = tandem_sandbox::InitProgram {
            path,
            args: vec!["__sandbox-init".into()],
        };
    }
    let sandbox = tandem_sandbox::Sandbox::new(config).await?;
    anyhow::ensure!(
        sandbox.isolation().usable(),
        "the sandbox is unavailable here: {:?}",
        sandbox.isolation().detail
    );
    let overhead = tandem_sandbox::measure_overhead(&sandbox, samples).await?;
    let ms = |d: Duration| round3(d.as_secs_f64() * 1000.0);
    Ok(json!({
        "scenario": "sandbox",
        "isolation": sandbox.isolation().level(),
        "runs": overhead.runs,
        "sandboxed_print_1_median_ms": ms(overhead.sandboxed_median),
        "bare_print_1_median_ms": ms(overhead.bare_median),
        "added_ms": ms(overhead.sandboxed_median.saturating_sub(overhead.bare_median)),
    }))
}
