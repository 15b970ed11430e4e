//! The server under test: one started in this process, a `tandem` binary spawned as a
//! child, or any running server named by its URL.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;
use tandem::{Application, Settings};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where the server comes from.
#[derive(Debug, Clone, Default)]
pub struct TargetArgs {
    pub url: Option<String>,
    pub spawn: Option<PathBuf>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// Jobs the server runs at once.
    pub jobs_concurrency: usize,
}

/// A server to measure, with its base URL (`http://host:port`).
pub struct Target {
    pub base: String,
    running: Running,
    _data_dir: Option<tempfile::TempDir>,
}

enum Running {
    InProcess(tokio::task::JoinHandle<anyhow::Result<()>>),
    Child(Child),
    Remote,
}

/// Generous limits, so the benchmark measures the server and not its guards.
/// The signing secret of a server this run starts.
const SIGNING_SECRET: &str = "bench-signing-secret-with-at-least-32-bytes";

const LIMITS: [(&str, &str); 10] = [
    ("TANDEM_AUTH_RATE_LIMIT_PER_MINUTE", "1000000"),
    ("TANDEM_CHAT_MESSAGES_PER_SECOND", "1000000"),
    ("TANDEM_CHAT_MESSAGES_PER_MINUTE", "1000000"),
    ("TANDEM_COLLAB_UPDATES_PER_SECOND", "1000000"),
    ("TANDEM_REALTIME_PUBLISHES_PER_SECOND", "1000000"),
    ("TANDEM_REALTIME_OUTBOX_BYTES", "67108864"),
    // The auth scenario fails logins for one unknown email, over and over.
    ("TANDEM_LOGIN_MAX_FAILURES", "1000000"),
    // Load comes from one or two addresses.
    ("TANDEM_MAX_CONNECTIONS_PER_ADDRESS", "0"),
    ("TANDEM_SIGNING_SECRET", SIGNING_SECRET),
    ("TANDEM_COLLAB_SOCKET_QUEUE_BYTES", "67108864"),
];

impl Target {
    pub async fn start(args: &TargetArgs) -> anyhow::Result<Self> {
        if let Some(url) = &args.url {
            return Ok(Self {
                base: url.trim_end_matches('/').to_owned(),
                running: Running::Remote,
                _data_dir: None,
            });
        }
        // Private, as the server wants its data folder (it warns about any other).
        let data_dir = tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?;
        if let Some(binary) = &args.spawn {
            let mut command = Command::new(binary);
            command
                .args(["serve", "--listen", "127.0.0.1:0"])
                .envs(LIMITS)
                .env("TANDEM_DATA_DIR", data_dir.path())
                .env("TANDEM_JOBS_CONCURRENCY", args.jobs_concurrency.to_string())
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .kill_on_drop(true);
            if let Some(url) = &args.database_url {
                command.env("TANDEM_DATABASE_URL", url);
            }
            if let Some(url) = &args.redis_url {
                command.env("TANDEM_REDIS_URL", url);
            }
            let mut child = command
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let stdout = child.stdout.take().context("no stdout")?;
            let mut lines = BufReader::new(stdout).lines();
            let base = loop {
                let line = lines
                    .next_line()
                    .await?
                    .context("the server exited before listening")?;
                if let Some(base) = line.strip_prefix("tandem listening on ") {
                    break base.to_owned();
                }
            };
            // Keep draining stdout so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(Self {
                base,
                running: Running::Child(child),
                _data_dir: Some(data_dir),
            });
        }
        let settings = Settings {
            listen: "127.0.0.1:0".parse()?,
            data_dir: data_dir.path().to_owned(),
            database_url: args.database_url.clone().map(Into::into),
            redis_url: args.redis_url.clone().map(Into::into),
            signing_secret: Some(SIGNING_SECRET.to_owned().into()),
            collab_updates_per_second: 1_000_000,
            auth_rate_limit_per_minute: 1_000_000,
            realtime_publishes_per_second: 1_000_000,
            realtime_outbox_bytes: 64 * 1024 * 1024,
            collab_socket_queue_bytes: 64 * 1024 * 1024,
            jobs_concurrency: args.jobs_concurrency,
            chat_messages_per_second: 1_000_000,
            chat_messages_per_minute: 1_000_000,
            login_max_failures: 1_000_000,
            max_connections_per_address: 0,
            ..Settings::default()
        };
        let app = Application::build(&settings).await?;
        let base = format!("http://{}", app.local_addr()?);
        let server = tokio::spawn(app.run_until(std::future::pending()));
        Ok(Self {
            base,
            running: Running::InProcess(server),
            _data_dir: Some(data_dir),
        })
    }

    /// Whether the server shares this process (its memory cannot be told from the
    /// clients').
    pub fn in_process(&self) -> bool {
        matches!(self.running, Running::InProcess(_))
    }

    /// The server's process id, when it runs as a child of this one.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Child(child) => child.id(),
            _ => None,
        }
    }

    /// The server's resident memory in bytes: from /proc for a child, from its
    /// `/metrics` otherwise.
    pub async fn rss_bytes(&self) -> anyhow::Result<u64> {
        if let Some(pid) = self.pid() {
            return rss_of(pid).await;
        }
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await?
            .text()
            .await?;
        let value = metric(&text, "process_resident_memory_bytes")
            .context("the server's /metrics has no process_resident_memory_bytes")?;
        Ok(value as u64)
    }

    /// CPU seconds (user + system) the server has used: exact from /proc for a child,
    /// whole seconds from `/metrics` otherwise.
    pub async fn cpu_seconds(&self) -> Option<f64> {
        if let Some(pid) = self.pid() {
            return cpu_of(pid).await;
        }
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        metric(&text, "process_cpu_seconds_total")
    }

    pub async fn stop(self) {
        match self.running {
            Running::InProcess(server) => server.abort(),
            Running::Child(mut child) => {
                let _ = child.kill().await;
            }
            Running::Remote => {}
        }
    }
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Resident memory of process `pid`, in bytes.
pub async fn rss_of(pid: u32) -> anyhow::Result<u64> {
    Ok(status_kib(pid, "VmRSS:").await? * 1024)
}

/// A `kB` line of `/proc/{pid}/status`, such as `VmRSS:`.
pub async fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = tokio::fs::read_to_string(format!("/proc/{pid}/status")).await?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib)
}

/// CPU seconds (user + system) process `pid` has used.
pub async fn cpu_of(pid: u32) -> Option<f64> {
    let stat = tokio::fs::read_to_string(format!("/proc/{pid}/stat"))
        .await
        .ok()?;
    // Fields after the command name (which may hold spaces) start at `state`; utime and
    // stime are the 14th and 15th fields of the line.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    Some(ticks as f64 / 100.0)
}
