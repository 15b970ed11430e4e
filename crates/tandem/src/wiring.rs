//! Turning the settings into each part's configuration and connections: Redis, the
//! realtime machinery (in memory or on Redis), the connection caps, the sandbox, the
//! job worker and live tables' limits.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tandem_api::realtime::{Realtime, RealtimeConfig};
use tandem_api::tables::TablesConfig;
use tandem_domain::Clock;
use tandem_jobs::JobsConfig;
use tandem_realtime::{
    Bus, Departure, History, Hub, MemoryBus, MemoryHistory, MemoryRoster, Presence, PresenceConfig,
    RedisBus, RedisHistory, RedisRoster, Retention, Roster,
};
use tandem_sandbox::{InitProgram, SandboxConfig};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http_server::ConnectionLimits;
use crate::process;
use crate::settings::Settings;

/// What a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// HTTP, WebSockets and (unless `jobs_concurrency` is 0) jobs.
    Server,
    /// Jobs only, from the shared queue.
    Worker,
}

/// The realtime machinery: Redis bus, history and presence roster in scale-out, in
/// memory when embedded; and the presence departures to record as last seen.
pub(crate) async fn realtime(
    settings: &Settings,
    redis: Option<&redis::aio::ConnectionManager>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Realtime, UnboundedReceiver<Departure>)> {
    let retention = Retention {
        events: settings.history_events,
        max_age: settings.history_max_age,
    };
    let prefix = &settings.redis_prefix;
    let (bus, history, roster): (Arc<dyn Bus>, Arc<dyn History>, Arc<dyn Roster>) =
        match (redis, &settings.redis_url) {
            (Some(redis), Some(url)) => (
                Arc::new(RedisBus::connect(url.expose_secret(), prefix).await?),
                Arc::new(RedisHistory::new(redis.clone(), prefix, retention)),
                Arc::new(RedisRoster::new(redis.clone(), prefix)),
            ),
            _ => (
                Arc::new(MemoryBus::new()),
                Arc::new(MemoryHistory::new(retention)),
                Arc::new(MemoryRoster::new()),
            ),
        };
    let hub = Arc::new(Hub::new(uuid::Uuid::now_v7().to_string()));
    let presence_config = PresenceConfig {
        heartbeat: settings.presence_heartbeat,
        ttl: settings.presence_ttl,
        ..PresenceConfig::default()
    };
    let (presence, departures) =
        Presence::new(hub.clone(), roster, bus.clone(), clock, presence_config);
    let realtime = Realtime {
        hub,
        bus,
        history,
        presence: Arc::new(presence),
        config: RealtimeConfig {
            auth_timeout: settings.realtime_auth_timeout,
            max_frame_bytes: settings.realtime_max_frame_bytes,
            outbox_bytes: settings.realtime_outbox_bytes,
            publishes_per_second: settings.realtime_publishes_per_second,
            typing_ttl: settings.chat_typing_ttl,
        },
        registry: tandem_api::realtime::control::Registry::default(),
        sockets: TaskTracker::new(),
        typing: tandem_api::realtime::typing::Typing::default(),
        stop: CancellationToken::new(),
    };
    Ok((realtime, departures))
}

/// The caps a server's connections are held to; the open-files limit is raised first,
/// and caps the connections.
pub(crate) fn connection_limits(settings: &Settings, role: Role) -> ConnectionLimits {
    let max_connections = match role {
        Role::Server => {
            process::connections_within(settings.max_connections, process::raise_open_files_limit())
        }
        Role::Worker => 0,
    };
    ConnectionLimits {
        header_timeout: settings.http_header_timeout,
        max_header_bytes: settings.http_max_header_bytes,
        max_connections,
        max_per_address: settings.max_connections_per_address,
    }
}

/// Where and with how much code runs.
pub(crate) fn sandbox_config(settings: &Settings) -> SandboxConfig {
    let mut config = SandboxConfig {
        python: settings.sandbox_python.clone(),
        node: settings.sandbox_node.clone(),
        bash: settings.sandbox_bash.clone(),
        ..SandboxConfig::default()
    };
    config.max.wall_ms = settings.sandbox_max_wall_ms;
    config.max.memory_mb = settings.sandbox_max_memory_mb;
    if let Some(init) = &settings.sandbox_init {
        config.init = InitProgram {
            path: init.clone(),
            args: vec!["__sandbox-init".into()],
        };
    }
    config
}

pub(crate) fn jobs_config(settings: &Settings, role: Role) -> JobsConfig {
    JobsConfig {
        concurrency: match (role, settings.jobs_concurrency) {
            // A worker that runs nothing would be pointless.
            (Role::Worker, 0) => 1,
            (_, n) => n,
        },
        lease: settings.jobs_lease,
        heartbeat: settings.jobs_heartbeat,
        poll: settings.jobs_poll,
        reap_every: settings.jobs_reap_every,
        retention: settings.jobs_retention,
        shutdown_grace: settings.shutdown_timeout,
        ..JobsConfig::default()
    }
}

/// Live tables' limits: tables per workspace, fields per table, and the bounds of a cell.
pub(crate) fn tables_config(settings: &Settings) -> TablesConfig {
    let defaults = TablesConfig::default();
    TablesConfig {
        max_tables_per_workspace: settings.tables_max_per_workspace,
        max_fields_per_table: settings.tables_max_fields,
        limits: tandem_tables::field::Limits {
            max_cell_bytes: settings.tables_max_cell_bytes,
            ..defaults.limits
        },
        query_timeout: settings.tables_query_timeout,
        trash_retention: settings.tables_trash_retention,
        max_body_bytes: settings.tables_max_body_bytes,
        import_max_bytes: settings.tables_import_max_bytes,
    }
}

pub(crate) async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).context("parsing the Redis URL")?;
    let manager = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
        .await
        .context("connecting to Redis timed out")?
        .context("connecting to Redis")?;
    Ok(manager)
}
