//! The command line: `tandem [serve] | worker | migrate`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::settings::{Overrides, Settings};
use crate::startup::{Application, shutdown_signal};
use crate::{process, telemetry};

/// Tandem: a self-hosted, real-time collaborative workspace server.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about)]
pub struct Cli {
    /// A TOML settings file (default: ./tandem.toml when it exists).
    #[arg(long, global = true, env = "TANDEM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    overrides: Overrides,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP and WebSocket API (the default).
    Serve(Overrides),
    /// Run background jobs from the shared queue.
    Worker(Overrides),
    /// Apply database migrations and exit.
    Migrate(Overrides),
}

/// Parses the command line and runs the chosen command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (command, overrides) = match cli.command {
        None => ("serve", cli.overrides),
        Some(Command::Serve(o)) => ("serve", o),
        Some(Command::Worker(o)) => ("worker", o),
        Some(Command::Migrate(o)) => ("migrate", o),
    };
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    telemetry::init(settings.log_format);
    process::private_files();
    let embedded = settings
        .database_url()
        .expose_secret()
        .starts_with("sqlite:");
    if embedded || settings.signing_secret.is_none() {
        process::prepare_data_dir(&settings.data_dir)?;
    }
    match command {
        "serve" => serve(&settings).await,
        "migrate" => migrate(&settings).await,
        _ => worker(&settings).await,
    }
}

async fn worker(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build_worker(settings).await?;
    let stop = shutdown_signal()?;
    println!(
        "tandem worker running {} jobs at once",
        settings.jobs_concurrency.max(1)
    );
    tracing::info!(
        concurrency = settings.jobs_concurrency.max(1),
        "worker started"
    );
    app.run_until(stop).await
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    let addr = app.local_addr()?;
    let stop = shutdown_signal()?;
    println!("tandem listening on http://{addr}");
    println!("API docs at http://{addr}/api/docs (OpenAPI: http://{addr}/api/openapi.json)");
    tracing::info!(%addr, "listening");
    app.run_until(stop).await
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = tandem_store::connect(settings.database_url().expose_secret()).await?;
    println!("migrations applied ({})", store.backend_name());
    store.close().await;
    Ok(())
}
