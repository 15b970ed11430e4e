//! The `rest` scenario: authenticated reads at a fixed concurrency.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixture::Fixture;
use crate::stats::{latency_ms, round3};

pub async fn run(
    fixture: &Fixture,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let paths = ["/api/v1/auth/me", "/api/v1/projects"];
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|worker| {
            let fixture = fixture.clone();
            tokio::spawn(async move {
                let mut samples = [Vec::new(), Vec::new()];
                let mut errors = 0usize;
                let mut i = worker;
                while started.elapsed() < duration {
                    let which = i % paths.len();
                    i += 1;
                    let sent = Instant::now();
                    let ok = fixture
                        .client
                        .get(format!("{}{}", fixture.base, paths[which]))
                        .bearer_auth(&fixture.token)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        samples[which].push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    let mut samples: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut errors = 0;
    for worker in workers {
        let (mine, failed) = worker.await?;
        for (all, some) in samples.iter_mut().zip(mine) {
            all.extend(some);
        }
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = samples.iter().map(Vec::len).sum();
    let [me, projects] = &mut samples;
    Ok(json!({
        "scenario": "rest",
        "concurrency": concurrency,
        "requests": total,
        "errors": errors,
        "requests_per_s": round3(total as f64 / elapsed),
        "auth_me_ms": latency_ms(me),
        "projects_ms": latency_ms(projects),
    }))
}
