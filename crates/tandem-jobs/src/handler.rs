//! A job kind's contract (`JobHandler`), what an attempt may do while it runs
//! (`JobContext`), and the `Registry` of kinds a server knows.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tandem_domain::{FieldError, Job};
use tandem_store::Artifact;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What a finished attempt produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The job's result (a user program that failed is still a result).
    pub result: Value,
    /// Files to keep with the job, downloadable by name.
    pub artifacts: Vec<Artifact>,
}

impl Output {
    pub fn result(result: Value) -> Self {
        Self {
            result,
            artifacts: Vec::new(),
        }
    }
}

/// An infrastructure fault: the attempt could not do its work, and another may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Fault(pub String);

impl Fault {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What a running attempt can see and do.
#[derive(Debug)]
pub struct JobContext {
    /// The job as claimed (state `running`, `attempt` counting this one).
    pub job: Job,
    /// Cancelled when the attempt must stop: a cancel request, a lost lease, shutdown.
    /// Long work should watch it; the worker also drops the attempt's future.
    pub stop: CancellationToken,
    pub(crate) progress: watch::Sender<Option<Value>>,
}

impl JobContext {
    /// Reports progress; it is stored and pushed to clients shortly after.
    pub fn progress(&self, progress: Value) {
        self.progress.send_replace(Some(progress));
    }
}

/// One kind of job: a typed payload checked at submission and the work to run.
///
/// Handlers must be idempotent: an attempt may run again after a crash, so the same
/// payload must be safe to run twice.
#[async_trait]
pub trait JobHandler: Send + Sync + std::fmt::Debug + 'static {
    /// The kind's name, as clients submit it.
    fn kind(&self) -> &'static str;
    /// Attempts a job of this kind gets unless the submission says otherwise.
    fn max_attempts(&self) -> u32 {
        3
    }
    /// Checks a submitted payload, returning it as it will be stored (defaults filled
    /// in), or every problem with it.
    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>>;
    /// Does the work.
    async fn run(&self, ctx: &JobContext, payload: Value) -> Result<Output, Fault>;
}

/// The job kinds a server runs, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind, replacing any of the same name.
    pub fn with(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }

    /// The kinds' names, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }
}
