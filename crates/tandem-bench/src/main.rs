//! `tandem-bench`: starts a real tandem server on 127.0.0.1:0 (embedded SQLite in a temp
//! folder, or the database named by `--database-url`) and measures it over HTTP.
//!
//! Scenarios:
//! - `auth`: median latency of each auth path, and the ratio that shows whether a login
//!   for an unknown email can be told from a wrong password by its timing.
//! - `fanout`: S sockets subscribed to one workspace channel, one publisher sending M
//!   cursor events; deliveries per second and delivery latency (p50, p99, max), printed
//!   as one line of JSON.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use serde_json::json;
use tandem::{Application, Settings};

mod fanout;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks for the tandem server")]
struct Args {
    /// What to measure.
    #[arg(value_enum, default_value = "auth")]
    scenario: Scenario,
    /// Requests per measured path.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// Database to run on (default: SQLite in a temporary folder).
    #[arg(long)]
    database_url: Option<String>,
    /// `fanout`: subscribed sockets.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// `fanout`: events published.
    #[arg(long, default_value_t = 500)]
    messages: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    Auth,
    Fanout,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = tempfile::tempdir()?;
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data_dir.path().to_owned(),
        database_url: args.database_url.clone().map(Into::into),
        signing_secret: Some(
            "bench-signing-secret-with-at-least-32-bytes"
                .to_owned()
                .into(),
        ),
        auth_rate_limit_per_minute: 1_000_000,
        realtime_publishes_per_second: 1_000_000,
        realtime_outbox_bytes: 64 * 1024 * 1024,
        ..Settings::default()
    };
    let app = Application::build(&settings).await?;
    let base = format!("http://{}", app.local_addr()?);
    let server = tokio::spawn(app.run_until(std::future::pending()));
    match args.scenario {
        Scenario::Auth => auth(&base, args.samples).await?,
        Scenario::Fanout => fanout::run(&base, args.subscribers, args.messages).await?,
    }
    server.abort();
    Ok(())
}

async fn auth(base: &str, samples: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{base}/api/v1/auth/{path}");
    let email = "bench@example.com";
    let password = "correct horse 1";
    let registered: serde_json::Value = client
        .post(url("register"))
        .json(&json!({"email": email, "password": password, "name": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    let access = registered["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned();
    let mut refresh = registered["refresh_token"]
        .as_str()
        .context("no refresh token")?
        .to_owned();

    let login = |email: &'static str, password: &'static str, expect: u16| {
        let client = client.clone();
        let url = url("login");
        async move {
            let response = client
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await?;
            anyhow::ensure!(response.status() == expect, "login: {}", response.status());
            anyhow::Ok(())
        }
    };

    // Interleave the three login paths so drift in machine load hits them alike.
    let (mut ok, mut wrong_password, mut unknown_email) = (vec![], vec![], vec![]);
    for _ in 0..samples {
        ok.push(timed(login(email, password, 200)).await?);
        wrong_password.push(timed(login(email, "wrong horse 1", 401)).await?);
        unknown_email.push(timed(login("nobody@example.com", password, 401)).await?);
    }
    let mut refreshes = vec![];
    let mut me = vec![];
    for _ in 0..samples {
        let started = Instant::now();
        let body: serde_json::Value = client
            .post(url("refresh"))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await?
            .json()
            .await?;
        refreshes.push(started.elapsed());
        refresh = body["refresh_token"]
            .as_str()
            .context("no refresh token")?
            .to_owned();
        me.push(
            timed(async {
                let r = client.get(url("me")).bearer_auth(&access).send().await?;
                anyhow::ensure!(r.status() == 200, "me: {}", r.status());
                anyhow::Ok(())
            })
            .await?,
        );
    }

    println!("scenario auth, {samples} samples per path, medians:");
    let rows = [
        ("login (right password)", &mut ok),
        ("login (wrong password)", &mut wrong_password),
        ("login (unknown email)", &mut unknown_email),
        ("refresh", &mut refreshes),
        ("GET /auth/me", &mut me),
    ];
    let mut medians = Vec::new();
    for (name, samples) in rows {
        let m = median(samples);
        medians.push(m);
        println!("  {name:<24} {:>9.2} ms", m.as_secs_f64() * 1e3);
    }
    println!(
        "  unknown email / wrong password: {:.3}",
        medians[2].as_secs_f64() / medians[1].as_secs_f64()
    );
    Ok(())
}

async fn timed<F: Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<Duration> {
    let started = Instant::now();
    f.await?;
    Ok(started.elapsed())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
