//! The `auth` scenario: the latency of each auth path, and whether a login for an unknown
//! email can be told from a wrong password by its timing.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::fixture::{Fixture, PASSWORD};
use crate::stats::{median, round3};

pub async fn run(fixture: &Fixture, samples: usize) -> anyhow::Result<Value> {
    let client = &fixture.client;
    let url = |path: &str| format!("{}/api/v1/auth/{path}", fixture.base);
    let unknown = format!("nobody-{}@example.com", uuid::Uuid::now_v7().simple());
    let login = |email: &str, password: &'static str, expect: u16| {
        let request = client
            .post(url("login"))
            .json(&json!({"email": email, "password": password}));
        async move {
            let response = request.send().await?;
            anyhow::ensure!(response.status() == expect, "login: {}", response.status());
            anyhow::Ok(())
        }
    };

    // Interleave the three login paths so drift in machine load hits them alike.
    let (mut ok, mut wrong_password, mut unknown_email) = (vec![], vec![], vec![]);
    for _ in 0..samples {
        ok.push(timed(login(&fixture.email, PASSWORD, 200)).await?);
        wrong_password.push(timed(login(&fixture.email, "wrong horse 1", 401)).await?);
        unknown_email.push(timed(login(&unknown, PASSWORD, 401)).await?);
    }
    let mut refresh = fixture.refresh_token.clone();
    let (mut refreshes, mut me) = (vec![], vec![]);
    for _ in 0..samples {
        let started = Instant::now();
        let body: Value = client
            .post(url("refresh"))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        refreshes.push(started.elapsed());
        refresh = body["refresh_token"]
            .as_str()
            .context("no refresh token")?
            .to_owned();
        me.push(
            timed(async {
                let r = client
                    .get(url("me"))
                    .bearer_auth(&fixture.token)
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 200, "me: {}", r.status());
                anyhow::Ok(())
            })
            .await?,
        );
    }
    let ms = |samples: &mut Vec<Duration>| round3(median(samples).as_secs_f64() * 1e3);
    let (wrong, unknown) = (ms(&mut wrong_password), ms(&mut unknown_email));
    Ok(json!({
        "scenario": "auth",
        "samples": samples,
        "median_ms": {
            "login_right_password": ms(&mut ok),
            "login_wrong_password": wrong,
            "login_unknown_email": unknown,
            "refresh": ms(&mut refreshes),
            "auth_me": ms(&mut me),
        },
        "unknown_email_over_wrong_password": round3(unknown / wrong),
    }))
}

async fn timed<F: Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<Duration> {
    let started = Instant::now();
    f.await?;
    Ok(started.elapsed())
}
