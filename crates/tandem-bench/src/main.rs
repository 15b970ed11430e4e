//! `tandem-bench`: load and latency benchmarks against a real tandem server, started in
//! this process (default), spawned from a binary (`--spawn`), or already running
//! (`--url`). Each run prints one line of JSON.
//!
//! Scenarios:
//! - `auth`: median latency of each auth path, and the timing ratio of an unknown email
//!   to a wrong password.
//! - `connections`: N authenticated idle sockets, over several loopback source addresses;
//!   server RSS per connection.
//! - `fanout`: S subscribers on one workspace channel, a publisher sending M cursor events
//!   as a burst or at `--rate`; deliveries per second and delivery latency.
//! - `churn`: connect, subscribe, disconnect in a loop at a fixed concurrency.
//! - `rest`: `GET /auth/me` and `GET /projects` at a fixed concurrency.

mod auth;
mod churn;
mod connections;
mod fanout;
mod fixture;
mod rest;
mod sockets;
mod stats;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::fixture::Fixture;
use crate::target::{Target, TargetArgs};

#[derive(Debug, Parser)]
#[command(about = "Benchmarks for the tandem server")]
struct Args {
    /// What to measure.
    #[arg(value_enum, default_value = "auth")]
    scenario: Scenario,
    /// Measure the server already running at this URL (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with = "spawn")]
    url: Option<String>,
    /// Start this tandem binary as the server, in its own process.
    #[arg(long)]
    spawn: Option<PathBuf>,
    /// Database for a server this run starts (default: SQLite in a temporary folder).
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for a server this run starts (default: none, the in-process bus).
    #[arg(long)]
    redis_url: Option<String>,
    /// `auth`: requests per measured path.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// `connections`: sockets to open.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// `connections`, `fanout`: loopback source addresses (127.0.0.2, …) to spread sockets
    /// over; each gives about 28,000 ports. 0 lets the kernel pick.
    #[arg(long, default_value_t = 0)]
    sources: usize,
    /// `connections`: seconds to hold the sockets open once all are up.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// `connections`, `churn`, `rest`: work in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// `churn`, `rest`: seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// `fanout`: subscribed sockets.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// `fanout`: events published.
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// `fanout`: events per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    Auth,
    Connections,
    Fanout,
    Churn,
    Rest,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Every socket is a descriptor; take all the process may have.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let target = Target::start(&TargetArgs {
        url: args.url.clone(),
        spawn: args.spawn.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
    })
    .await?;
    let fixture = Fixture::create(&target.base).await?;
    let duration = Duration::from_secs(args.duration);
    let summary = match args.scenario {
        Scenario::Auth => auth::run(&fixture, args.samples).await,
        Scenario::Connections => {
            let options = connections::Options {
                count: args.count,
                sources: args.sources,
                concurrency: args.concurrency,
                hold: Duration::from_secs(args.hold),
            };
            connections::run(&target, &fixture, options).await
        }
        Scenario::Fanout => {
            let options = fanout::Options {
                subscribers: args.subscribers,
                messages: args.messages,
                rate: args.rate,
                sources: args.sources,
            };
            fanout::run(&target, &fixture, options).await
        }
        Scenario::Churn => churn::run(&fixture, args.concurrency, duration).await,
        Scenario::Rest => rest::run(&fixture, args.concurrency, duration).await,
    };
    target.stop().await;
    println!("{}", summary?);
    Ok(())
}
