//! The one typed `Settings`, layered: CLI flags > `TANDEM_*` environment > `tandem.toml` >
//! defaults. Secrets are `SecretString`, so `Debug` and logs never show them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Everything the server can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address for HTTP and WebSocket traffic.
    pub listen: SocketAddr,
    /// Where the embedded database and the generated signing secret live.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`; defaults to `sqlite://{data_dir}/tandem.db`.
    pub database_url: Option<SecretString>,
    /// `redis://…`; enables scale-out mode (shared rate limits now; fan-out later).
    pub redis_url: Option<SecretString>,
    /// Namespace for every Redis key this deployment writes.
    pub redis_prefix: String,
    /// HS256 key for access tokens (≥ 32 bytes). Generated into the data dir when unset.
    pub signing_secret: Option<SecretString>,
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// Origins allowed by CORS (`*` for any); a list or a comma-separated string.
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    /// The largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Register + login + refresh requests allowed per client address per minute.
    pub auth_rate_limit_per_minute: u32,
    /// Failed logins one account (email) may have, from any address, before it is
    /// locked out.
    pub login_max_failures: u32,
    /// Failed logins are forgotten after this long without another.
    #[serde(with = "humantime_serde")]
    pub login_failure_window: Duration,
    /// The first lockout; each further failure doubles it, up to `login_lockout_max`.
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    #[serde(with = "humantime_serde")]
    pub login_lockout_max: Duration,
    /// Trust the last `X-Forwarded-For` entry as the client address (behind a proxy).
    pub trust_forwarded_for: bool,
    /// How long a connection may take to send a whole request head, counted from when it
    /// opened or its previous answer went out (so also how long it may sit idle).
    #[serde(with = "humantime_serde")]
    pub http_header_timeout: Duration,
    /// The largest request line plus headers accepted, in bytes (431 above).
    pub http_max_header_bytes: usize,
    /// Open connections (WebSockets included) served at once; more are refused with 503.
    /// 0: as many as the open-files limit allows, less 512 for everything else.
    pub max_connections: usize,
    /// Open connections one client address may hold at once; 0 for no limit (behind a
    /// proxy every client has the proxy's address).
    pub max_connections_per_address: usize,
    /// How long in-flight requests get to finish after SIGINT/SIGTERM.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// How long a realtime socket may take to send its `auth` frame.
    #[serde(with = "humantime_serde")]
    pub realtime_auth_timeout: Duration,
    /// The largest realtime frame a client may send, in bytes.
    pub realtime_max_frame_bytes: usize,
    /// Bytes queued towards one realtime client before it is closed as a slow consumer.
    pub realtime_outbox_bytes: usize,
    /// Ephemeral events one realtime connection may publish per second.
    pub realtime_publishes_per_second: u32,
    /// Durable events kept per channel for replay.
    pub history_events: usize,
    /// The oldest a kept event may be.
    #[serde(with = "humantime_serde")]
    pub history_max_age: Duration,
    /// How often a node renews its presence heartbeat.
    #[serde(with = "humantime_serde")]
    pub presence_heartbeat: Duration,
    /// How long a silent node's members still count as present (crash detection).
    #[serde(with = "humantime_serde")]
    pub presence_ttl: Duration,
    /// The largest Yjs update a collaborative client may send, in bytes.
    pub collab_max_update_bytes: usize,
    /// The most a file's document may take in storage, in bytes.
    pub collab_max_document_bytes: u64,
    /// Document updates one collaborative connection may send per second.
    pub collab_updates_per_second: u32,
    /// Bytes of relayed traffic that may wait for one collaborative socket before it is
    /// closed as a slow consumer (4008); a joining client's initial state does not count.
    pub collab_socket_queue_bytes: usize,
    /// The largest awareness state (a client's JSON) relayed; larger ones are dropped.
    pub collab_max_awareness_bytes: usize,
    /// How often collaborative clients that heard nothing since the last time get a no-op
    /// message: y-websocket clients drop a connection silent for 30 s.
    #[serde(with = "humantime_serde")]
    pub collab_keepalive: Duration,
    /// Jobs this process runs at once (`serve` and `worker`); 0 runs none here.
    pub jobs_concurrency: usize,
    /// How long a claimed job is held without a lease renewal.
    #[serde(with = "humantime_serde")]
    pub jobs_lease: Duration,
    /// How often a running job renews its lease.
    #[serde(with = "humantime_serde")]
    pub jobs_heartbeat: Duration,
    /// How often an idle worker looks for jobs when no notification woke it.
    #[serde(with = "humantime_serde")]
    pub jobs_poll: Duration,
    /// How often expired leases are swept.
    #[serde(with = "humantime_serde")]
    pub jobs_reap_every: Duration,
    /// How long finished jobs are kept.
    #[serde(with = "humantime_serde")]
    pub jobs_retention: Duration,
    /// Interpreters for code execution, by absolute path.
    pub sandbox_python: PathBuf,
    pub sandbox_node: PathBuf,
    pub sandbox_bash: PathBuf,
    /// The longest wall-clock time a program may ask for, in milliseconds.
    pub sandbox_max_wall_ms: u64,
    /// The most memory a program may ask for, in MiB.
    pub sandbox_max_memory_mb: u64,
    /// The program that builds the sandbox (default: this binary, `__sandbox-init`).
    pub sandbox_init: Option<PathBuf>,
    /// Chat messages one user may post in a second (the burst)…
    pub chat_messages_per_second: u32,
    /// …and in a minute (the sustained rate).
    pub chat_messages_per_minute: u32,
    /// How long a "typing" lasts unless the client repeats it.
    #[serde(with = "humantime_serde")]
    pub chat_typing_ttl: Duration,
    /// The most live tables one workspace holds.
    pub tables_max_per_workspace: u64,
    /// The most fields one live table holds; at least 300.
    pub tables_max_fields: u64,
    /// The largest cell of a live table, in bytes (text as UTF-8, JSON compact).
    pub tables_max_cell_bytes: usize,
    /// How long one query of a live table's rows may run before it is cancelled.
    #[serde(with = "humantime_serde")]
    pub tables_query_timeout: Duration,
    /// How long a deleted row stays in its table's trash, restorable.
    #[serde(with = "humantime_serde")]
    pub tables_trash_retention: Duration,
    /// The largest body of a request that writes a live table's rows (up to 1,000 per
    /// call); may exceed `body_limit_bytes`.
    pub tables_max_body_bytes: usize,
    /// The largest CSV one import (or its preview) takes, in bytes; the CSV waits in
    /// the import job's payload until the job runs.
    pub tables_import_max_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "tandem".into(),
            signing_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            cors_origins: Vec::new(),
            log_format: LogFormat::Pretty,
            body_limit_bytes: 1024 * 1024,
            auth_rate_limit_per_minute: 10,
            login_max_failures: 5,
            login_failure_window: Duration::from_secs(15 * 60),
            login_lockout: Duration::from_secs(60),
            login_lockout_max: Duration::from_secs(15 * 60),
            trust_forwarded_for: false,
            http_header_timeout: Duration::from_secs(10),
            http_max_header_bytes: 64 * 1024,
            max_connections: 0,
            max_connections_per_address: 2_000,
            shutdown_timeout: Duration::from_secs(10),
            realtime_auth_timeout: Duration::from_secs(5),
            realtime_max_frame_bytes: 64 * 1024,
            realtime_outbox_bytes: 1024 * 1024,
            realtime_publishes_per_second: 50,
            history_events: 1_000,
            history_max_age: Duration::from_secs(24 * 60 * 60),
            presence_heartbeat: Duration::from_secs(10),
            presence_ttl: Duration::from_secs(30),
            collab_max_update_bytes: 4 * 1024 * 1024,
            collab_max_document_bytes: 64 * 1024 * 1024,
            collab_updates_per_second: 100,
            collab_socket_queue_bytes: 8 * 1024 * 1024,
            collab_max_awareness_bytes: 8 * 1024,
            collab_keepalive: Duration::from_secs(10),
            jobs_concurrency: 4,
            jobs_lease: Duration::from_secs(30),
            jobs_heartbeat: Duration::from_secs(10),
            jobs_poll: Duration::from_secs(2),
            jobs_reap_every: Duration::from_secs(5),
            jobs_retention: Duration::from_secs(7 * 24 * 60 * 60),
            sandbox_python: PathBuf::from("/usr/bin/python3"),
            sandbox_node: PathBuf::from("/usr/bin/node"),
            sandbox_bash: PathBuf::from("/usr/bin/bash"),
            sandbox_max_wall_ms: 120_000,
            sandbox_max_memory_mb: 2048,
            sandbox_init: None,
            chat_messages_per_second: 10,
            chat_typing_ttl: Duration::from_secs(6),
            chat_messages_per_minute: 60,
            tables_max_per_workspace: 500,
            tables_max_fields: 500,
            tables_max_cell_bytes: 100 * 1024,
            tables_query_timeout: Duration::from_secs(5),
            tables_trash_retention: Duration::from_secs(30 * 24 * 3600),
            tables_max_body_bytes: 16 * 1024 * 1024,
            tables_import_max_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Values given on the command line; unset ones fall through to the lower layers.
#[derive(Default, Clone, Serialize, clap::Args)]
pub struct Overrides {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, env = "TANDEM_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Folder for the embedded database and generated secrets.
    #[arg(long, env = "TANDEM_DATA_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// sqlite:… or postgres://… (default: SQLite in the data dir).
    #[arg(long, env = "TANDEM_DATABASE_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// redis://… (enables scale-out mode).
    #[arg(long, env = "TANDEM_REDIS_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// Log format.
    #[arg(long, env = "TANDEM_LOG_FORMAT", value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may carry passwords.
        let redacted = |url: &Option<String>| url.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redacted(&self.database_url))
            .field("redis_url", &redacted(&self.redis_url))
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Settings {
    /// Layers the sources. `config_file` is read if given, else `./tandem.toml` if present.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let file = config_file.unwrap_or(Path::new("tandem.toml"));
        if config_file.is_some() && !file.exists() {
            anyhow::bail!("config file {} does not exist", file.display());
        }
        let settings: Self = Figment::new()
            .merge(Toml::file(file))
            .merge(Env::prefixed("TANDEM_"))
            .merge(Serialized::defaults(overrides))
            .extract()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The database URL, defaulting to SQLite inside the data dir.
    pub fn database_url(&self) -> SecretString {
        self.database_url.clone().unwrap_or_else(|| {
            SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("tandem.db").display()
            ))
        })
    }
}

fn list_or_csv<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match ListOrCsv::deserialize(deserializer)? {
        ListOrCsv::List(list) => list,
        ListOrCsv::Csv(csv) => csv
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
mod tests;
mod validate;
