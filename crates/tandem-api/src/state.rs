//! `AppState`: everything a request handler may reach, built once at startup.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tandem_collab::Collab;
use tandem_domain::Clock;
use tandem_jobs::{Jobs, JobsConfig, Registry};
use tandem_sandbox::Sandbox;
use tandem_store::Store;

use crate::auth::{AccessTokens, Passwords, SessionCache};
use crate::events::EventPublisher;
use crate::http::metrics::Metrics;
use crate::jobs::events::PublishJobEvents;
use crate::ratelimit::{LoginBackoff, RateLimiter};
use crate::realtime::Realtime;
use crate::tables::TablesConfig;

/// The settings the API itself reads; the binary derives them from its own `Settings`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// HS256 key for access tokens.
    pub signing_secret: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Origins allowed by CORS; empty means no cross-origin access, `*` means any.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (set by a trusted
    /// reverse proxy) instead of the socket's peer.
    pub trust_forwarded_for: bool,
    /// Live tables' limits.
    pub tables: TablesConfig,
}

/// What the job machinery is built from.
#[derive(Debug)]
pub struct JobsSetup {
    /// The job kinds this server runs.
    pub registry: Registry,
    pub config: JobsConfig,
    pub sandbox: Arc<Sandbox>,
}

/// The shared application state, cheap to clone into every request.
#[derive(Clone, Debug)]
pub struct AppState(Arc<App>);

/// What `AppState` points at.
pub struct App {
    pub config: ApiConfig,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tokens: AccessTokens,
    pub passwords: Passwords,
    pub sessions: SessionCache,
    /// Guards register, login and refresh, per client address.
    pub auth_limiter: Arc<dyn RateLimiter>,
    /// Slows down repeated failed logins per account, from any address.
    pub login_backoff: Arc<dyn LoginBackoff>,
    /// Present in scale-out mode; checked by `/readyz`.
    pub redis: Option<redis::aio::ConnectionManager>,
    pub metrics: Metrics,
    /// Domain events of committed changes, for the realtime gateway.
    pub events: EventPublisher,
    pub realtime: Realtime,
    /// This node's collaborative documents.
    pub collab: Arc<Collab>,
    /// The job queue, and this node's worker and reaper.
    pub jobs: Jobs,
    /// Where code runs; `/readyz` reports its isolation.
    pub sandbox: Arc<Sandbox>,
    /// Chat messages per user: every limiter must allow a post.
    pub chat_limiters: Vec<Arc<dyn RateLimiter>>,
}

/// The services a server is assembled from.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub auth_limiter: Arc<dyn RateLimiter>,
    pub login_backoff: Arc<dyn LoginBackoff>,
    pub redis: Option<redis::aio::ConnectionManager>,
    pub realtime: Realtime,
    pub collab: Arc<Collab>,
    pub jobs: JobsSetup,
    /// Where committed changes are announced; made before the job kinds, which
    /// announce theirs (a table import's rows) here too.
    pub events: EventPublisher,
    /// Chat messages per user: a per-second burst and a per-minute allowance.
    pub chat_limiters: Vec<Arc<dyn RateLimiter>>,
}

impl AppState {
    pub fn new(config: ApiConfig, services: Services) -> anyhow::Result<Self> {
        let Services {
            store,
            clock,
            auth_limiter,
            login_backoff,
            redis,
            realtime,
            collab,
            jobs,
            events,
            chat_limiters,
        } = services;
        let tokens = AccessTokens::new(&config.signing_secret, config.access_token_ttl)?;
        let job_events = Arc::new(PublishJobEvents(events.clone()));
        let JobsSetup {
            registry,
            config: jobs_config,
            sandbox,
        } = jobs;
        let jobs = Jobs::new(
            store.clone(),
            clock.clone(),
            registry,
            jobs_config,
            job_events,
        );
        Ok(Self(Arc::new(App {
            chat_limiters,
            jobs,
            sandbox,
            tokens,
            passwords: Passwords::new()?,
            sessions: SessionCache::new(),
            metrics: Metrics::new()?,
            events,
            realtime,
            collab,
            config,
            store,
            clock,
            auth_limiter,
            login_backoff,
            redis,
        })))
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("store", &self.store)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}
