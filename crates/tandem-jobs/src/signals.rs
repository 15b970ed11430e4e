//! How workers hear of work and of cancels without polling: in-process on every backend
//! (a submission on this node wakes this node's worker at once), and across processes
//! through PostgreSQL `LISTEN/NOTIFY`, which the store issues inside the transactions
//! that make jobs runnable or ask a running one to stop. SQLite serves one node, so the
//! in-process signals are all it needs; Redis is not needed for either, since every node
//! already shares the database.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tandem_domain::JobId;
use tandem_store::{JOBS_CANCEL_CHANNEL, JOBS_WAKE_CHANNEL};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Cancels a slow worker may fall behind by; a missed one is still seen at the next
/// lease renewal.
const CANCEL_CAPACITY: usize = 256;

/// The node's wake-up and cancel signals.
#[derive(Debug, Clone)]
pub struct Signals {
    wake: Arc<Notify>,
    cancels: broadcast::Sender<JobId>,
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

impl Signals {
    pub fn new() -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            cancels: broadcast::channel(CANCEL_CAPACITY).0,
        }
    }

    /// Work may be waiting: wakes this node's worker (or its next wait).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Signals::wake`].
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// A running job was asked to stop.
    pub fn cancel(&self, id: JobId) {
        let _ = self.cancels.send(id);
    }

    pub fn cancels(&self) -> broadcast::Receiver<JobId> {
        self.cancels.subscribe()
    }

    /// Relays PostgreSQL notifications into these signals until `stop`, reconnecting
    /// with backoff if the listening connection drops (a wake is sent after each
    /// reconnect, in case one was missed meanwhile).
    pub async fn listen_postgres(self, url: String, stop: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        while !stop.is_cancelled() {
            match self.relay(&url, &stop).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(error = %error, "job notifications lost; reconnecting");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn relay(&self, url: &str, stop: &CancellationToken) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect(url).await?;
        listener
            .listen_all([JOBS_WAKE_CHANNEL, JOBS_CANCEL_CHANNEL])
            .await?;
        self.wake();
        loop {
            let notification = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                received = listener.recv() => received?,
            };
            if notification.channel() == JOBS_CANCEL_CHANNEL {
                match Uuid::try_parse(notification.payload()) {
                    Ok(id) => self.cancel(JobId(id)),
                    Err(_) => tracing::warn!(
                        payload = notification.payload(),
                        "ignored a malformed cancel"
                    ),
                }
            } else {
                self.wake();
            }
        }
    }
}
