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
use tandem_api::ratelimit::{
    BackoffPolicy, LoginBackoff, MemoryLoginBackoff, MemoryRateLimiter, Quota, RateLimiter,
    RedisLoginBackoff, RedisRateLimiter,
};
use tandem_api::tables::rows::import::TableImport;
use tandem_api::{ApiConfig, AppState, JobsSetup, Services};
use tandem_collab::{Collab, CollabConfig};
use tandem_domain::{Clock, SystemClock};
use tandem_jobs::kinds;
use tandem_sandbox::Sandbox;
use tandem_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http_server::ConnectionLimits;
use crate::secret;
use crate::settings::Settings;
pub use crate::wiring::Role;
use crate::wiring::{
    connect_redis, connection_limits, jobs_config, realtime, sandbox_config, tables_config,
};

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
    /// The collaborative documents' runner (bus routing and maintenance).
    collab_task: JoinHandle<()>,
    /// The background tasks: realtime's (delivery, routing, presence, typing, last seen)
    /// and emptying the live tables' trash.
    background: TaskTracker,
    limits: ConnectionLimits,
    shutdown_timeout: Duration,
}

/// How long the background tasks get to finish once everything else has stopped.
const BACKGROUND_GRACE: Duration = Duration::from_secs(5);

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
        let backoff_policy = BackoffPolicy {
            max_failures: settings.login_max_failures,
            window: settings.login_failure_window,
            lockout: settings.login_lockout,
            max_lockout: settings.login_lockout_max,
        };
        let login_backoff: Arc<dyn LoginBackoff> = match &redis {
            Some(redis) => Arc::new(RedisLoginBackoff::new(
                redis.clone(),
                &settings.redis_prefix,
                backoff_policy,
            )),
            None => Arc::new(MemoryLoginBackoff::new(backoff_policy)),
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
            tables: tables_config(settings),
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
        let collab_task = tokio::spawn(collab.clone().run());
        let sandbox = Arc::new(
            Sandbox::new(sandbox_config(settings))
                .await
                .context("configuring the code sandbox")?,
        );
        let events = EventPublisher::new();
        let table_import =
            TableImport::new(store.clone(), events.clone(), clock.clone(), config.tables);
        let jobs = JobsSetup {
            registry: kinds::registry(sandbox.clone(), store.clone()).with(table_import),
            config: jobs_config(settings, role),
            sandbox,
        };
        let state = AppState::new(
            config,
            Services {
                store: store.clone(),
                clock,
                auth_limiter,
                login_backoff,
                redis,
                realtime,
                collab,
                jobs,
                events,
                chat_limiters,
            },
        )?;
        let background = TaskTracker::new();
        tandem_api::realtime::start(&state, departures, &background);
        background.spawn(tandem_api::tables::rows::purge::run(state.clone()));
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
            collab_task,
            background,
            limits: connection_limits(settings, role),
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

    /// Serves until `shutdown` completes, then stops in order: stop accepting and close
    /// the sockets (1001), give in-flight requests and closing sockets up to the shutdown
    /// timeout, store what the collaborative sockets left (pending updates, compactions,
    /// the automatic versions of the sessions that end), let running jobs finish or go
    /// back to the queue, stop the background tasks, and close the database.
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
        let sockets = self.state.realtime.sockets.clone();
        if let Some(listener) = self.listener {
            let serve = crate::http_server::serve(listener, self.router, self.limits, stop.clone());
            let mut serve = std::pin::pin!(serve);
            let served = tokio::select! {
                () = serve.as_mut() => true,
                () = stop.cancelled() => false,
            };
            let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
            if !served && tokio::time::timeout_at(deadline, serve).await.is_err() {
                tracing::warn!("shutdown timeout reached; dropping unfinished requests");
            }
            sockets.close();
            if tokio::time::timeout_at(deadline, sockets.wait())
                .await
                .is_err()
            {
                tracing::warn!("shutdown timeout reached; sockets still open are dropped");
            }
        } else {
            stop.cancelled().await;
            sockets.close();
        }
        // The runner stops on the realtime stop; the last compactions wait for it.
        if let Err(error) = self.collab_task.await {
            tracing::error!(%error, "the collaborative documents' runner failed");
        }
        self.state.collab.shut_down().await;
        // Running jobs get their grace, then go back to the queue.
        self.jobs_stop.cancel();
        for task in self.jobs_tasks {
            let _ = task.await;
        }
        self.background.close();
        if tokio::time::timeout(BACKGROUND_GRACE, self.background.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not stop in time");
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
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
