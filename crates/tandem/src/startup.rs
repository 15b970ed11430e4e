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
use tandem_api::{ApiConfig, AppState};
use tandem_collab::{Collab, CollabConfig};
use tandem_domain::{Clock, SystemClock};
use tandem_realtime::{
    Bus, Departure, History, Hub, MemoryBus, MemoryHistory, MemoryRoster, Presence, PresenceConfig,
    RedisBus, RedisHistory, RedisRoster, Retention, Roster,
};
use tandem_store::Store;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::secret;
use crate::settings::Settings;

/// A server that is bound and ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn Store>,
    events: EventPublisher,
    /// Closes realtime sockets (1001) and stops the realtime tasks.
    realtime_stop: CancellationToken,
    shutdown_timeout: Duration,
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
                ..CollabConfig::default()
            },
        ));
        tokio::spawn(collab.clone().run(realtime.stop.clone()));
        let state = AppState::new(
            config,
            store.clone(),
            clock,
            auth_limiter,
            redis,
            realtime,
            collab,
        )?;
        tandem_api::realtime::start(&state, departures);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        Ok(Self {
            listener,
            events: state.events.clone(),
            realtime_stop: state.realtime.stop.clone(),
            router: tandem_api::router(state),
            store,
            shutdown_timeout: settings.shutdown_timeout,
        })
    }

    /// The domain events of committed changes (the realtime gateway listens here).
    pub fn events(&self) -> &EventPublisher {
        &self.events
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
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
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let drained = stop.clone();
        let serve = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { drained.cancelled().await });
        let deadline = async {
            stop.cancelled().await;
            tokio::time::sleep(self.shutdown_timeout).await;
        };
        tokio::select! {
            result = serve => result.context("serving HTTP")?,
            () = deadline => tracing::warn!("shutdown timeout reached; dropping unfinished requests"),
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
        },
        registry: tandem_api::realtime::control::Registry::default(),
        stop: CancellationToken::new(),
    };
    Ok((realtime, departures))
}

async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).context("parsing the Redis URL")?;
    let manager = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
        .await
        .context("connecting to Redis timed out")?
        .context("connecting to Redis")?;
    Ok(manager)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
