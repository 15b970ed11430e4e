//! Building and running the server: connect storage and Redis, bind the listener (port 0
//! allowed, for tests), serve until a shutdown signal, drain, close.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use secrecy::ExposeSecret;
use tandem_api::events::EventPublisher;
use tandem_api::ratelimit::{MemoryRateLimiter, Quota, RateLimiter, RedisRateLimiter};
use tandem_api::realtime::{Realtime, RealtimeConfig};
use tandem_api::{ApiConfig, AppState, JobsSetup, Services};
use tandem_collab::{Collab, CollabConfig};
use tandem_domain::{Clock, SystemClock};
use tandem_jobs::{JobsConfig, kinds};
use tandem_realtime::{
    Bus, Departure, History, Hub, MemoryBus, MemoryHistory, MemoryRoster, Presence, PresenceConfig,
    RedisBus, RedisHistory, RedisRoster, Retention, Roster,
};
use tandem_sandbox::{InitProgram, Sandbox, SandboxConfig};
use tandem_store::Store;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::secret;
use crate::settings::Settings;

/// A server that is bound and ready to run.
#[derive(Debug)]
pub struct Application {
    /// None for `tandem worker`, which serves no HTTP.
    listener: Option<TcpListener>,
    router: Router,
    store: Arc<dyn Store>,
    state: AppState,
    /// Closes realtime sockets (1001) and stops the realtime tasks.
    realtime_stop: CancellationToken,
    /// Stops the job worker (which finishes or releases its jobs) and the reaper.
    jobs_stop: CancellationToken,
    jobs_tasks: Vec<JoinHandle<()>>,
    shutdown_timeout: Duration,
}

/// What a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// HTTP, WebSockets and (unless `jobs_concurrency` is 0) jobs.
    Server,
    /// Jobs only, from the shared queue.
    Worker,
}

impl Application {
    /// Builds the server on the wall clock.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the server with an injected clock (tests move time forward with it).
    pub async fn build_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        Self::assemble(settings, clock, Role::Server).await
    }

    /// Builds a standalone worker: jobs from the shared queue, no HTTP.
    pub async fn build_worker(settings: &Settings) -> anyhow::Result<Self> {
        Self::assemble(settings, Arc::new(SystemClock), Role::Worker).await
    }

    async fn assemble(
        settings: &Settings,
        clock: Arc<dyn Clock>,
        role: Role,
    ) -> anyhow::Result<Self> {
        let store = tandem_store::connect(settings.database_url().expose_secret())
            .await
            .context("opening the database")?;
        let redis = match &settings.redis_url {
            Some(url) => Some(connect_redis(url.expose_secret()).await?),
            None => None,
        };
        let quota = Quota {
            limit: settings.auth_rate_limit_per_minute,
            window: Duration::from_secs(60),
        };
        let chat_limiters = [
            (settings.chat_messages_per_second, Duration::from_secs(1)),
            (settings.chat_messages_per_minute, Duration::from_secs(60)),
        ]
        .into_iter()
        .map(|(limit, window)| {
            let quota = Quota { limit, window };
            let limiter: Arc<dyn RateLimiter> = match &redis {
                Some(redis) => Arc::new(RedisRateLimiter::new(
                    redis.clone(),
                    &settings.redis_prefix,
                    quota,
                )),
                None => Arc::new(MemoryRateLimiter::new(quota)?),
            };
            anyhow::Ok(limiter)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
        let auth_limiter: Arc<dyn RateLimiter> = match &redis {
            Some(redis) => Arc::new(RedisRateLimiter::new(
                redis.clone(),
                &settings.redis_prefix,
                quota,
            )),
            None => Arc::new(MemoryRateLimiter::new(quota)?),
        };
        let signing_secret = match &settings.signing_secret {
            Some(secret) => secret.clone(),
            None => {
                if store.backend_name() == "postgres" {
                    tracing::warn!(
                        "no signing_secret configured: this node generated its own; \
                         set TANDEM_SIGNING_SECRET so every node accepts every token"
                    );
                }
                secret::load_or_create(&settings.data_dir)?
            }
        };
        let config = ApiConfig {
            signing_secret,
            access_token_ttl: settings.access_token_ttl,
            refresh_token_ttl: settings.refresh_token_ttl,
            cors_origins: settings.cors_origins.clone(),
            body_limit_bytes: settings.body_limit_bytes,
            trust_forwarded_for: settings.trust_forwarded_for,
        };
        let (realtime, departures) = realtime(settings, redis.as_ref(), clock.clone()).await?;
        let collab = Arc::new(Collab::new(
            store.clone(),
            realtime.bus.clone(),
            realtime.hub.node().clone(),
            clock.clone(),
            CollabConfig {
                max_update_bytes: settings.collab_max_update_bytes,
                max_document_bytes: settings.collab_max_document_bytes,
                updates_per_second: settings.collab_updates_per_second,
                socket_queue_bytes: settings.collab_socket_queue_bytes,
                max_awareness_bytes: settings.collab_max_awareness_bytes,
                keepalive: settings.collab_keepalive,
                ..CollabConfig::default()
            },
            realtime.stop.clone(),
        ));
        tokio::spawn(collab.clone().run());
        let sandbox = Arc::new(
            Sandbox::new(sandbox_config(settings))
                .await
                .context("configuring the code sandbox")?,
        );
        let jobs = JobsSetup {
            registry: kinds::registry(sandbox.clone(), store.clone()),
            config: jobs_config(settings, role),
            sandbox,
        };
        let state = AppState::new(
            config,
            Services {
                store: store.clone(),
                clock,
                auth_limiter,
                redis,
                realtime,
                collab,
                jobs,
                chat_limiters,
            },
        )?;
        tandem_api::realtime::start(&state, departures);
        let jobs_stop = CancellationToken::new();
        let database_url = settings.database_url().expose_secret().to_owned();
        let jobs_tasks = state.jobs.start(Some(database_url), &jobs_stop);
        let listener = match role {
            Role::Server => Some(
                TcpListener::bind(settings.listen)
                    .await
                    .with_context(|| format!("binding {}", settings.listen))?,
            ),
            Role::Worker => None,
        };
        Ok(Self {
            listener,
            realtime_stop: state.realtime.stop.clone(),
            router: tandem_api::router(state.clone()),
            state,
            store,
            jobs_stop,
            jobs_tasks,
            shutdown_timeout: settings.shutdown_timeout,
        })
    }

    /// The domain events of committed changes (the realtime gateway listens here).
    pub fn events(&self) -> &EventPublisher {
        &self.state.events
    }

    /// The application state (tests reach the job worker through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        let listener = self.listener.as_ref().context("a worker does not listen")?;
        Ok(listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then stops accepting, gives in-flight requests
    /// up to the shutdown timeout, and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let realtime_stop = self.realtime_stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            // Sockets first: they are long-lived and would hold the HTTP drain open.
            realtime_stop.cancel();
            signal.cancel();
        });
        if let Some(listener) = self.listener {
            let serve = crate::http_server::serve(listener, self.router, stop.clone());
            let deadline = async {
                stop.cancelled().await;
                tokio::time::sleep(self.shutdown_timeout).await;
            };
            tokio::select! {
                () = serve => {}
                () = deadline => tracing::warn!("shutdown timeout reached; dropping unfinished requests"),
            }
        } else {
            stop.cancelled().await;
        }
        // Running jobs get their grace, then go back to the queue.
        self.jobs_stop.cancel();
        for task in self.jobs_tasks {
            let _ = task.await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The realtime machinery: Redis bus, history and presence roster in scale-out, in
/// memory when embedded; and the presence departures to record as last seen.
async fn realtime(
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
        typing: tandem_api::realtime::typing::Typing::default(),
        stop: CancellationToken::new(),
    };
    Ok((realtime, departures))
}

/// Where and with how much code runs.
fn sandbox_config(settings: &Settings) -> SandboxConfig {
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

fn jobs_config(settings: &Settings, role: Role) -> JobsConfig {
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

async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).context("parsing the Redis URL")?;
    let manager = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
        .await
        .context("connecting to Redis timed out")?
        .context("connecting to Redis")?;
    Ok(manager)
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from now on; the future completes on the
/// first. The handlers are installed before this returns, not when the future is first
/// polled, so a signal sent the moment the server announces itself drains it instead of
/// killing it with the default action.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutdown signal received; draining");
    })
}
