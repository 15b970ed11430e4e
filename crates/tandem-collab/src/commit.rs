//! Group commit: the updates every document of this node submits wait here while the
//! previous batch commits, then commit together in one transaction. Each update is
//! still stored before it is applied or relayed; a busy node just pays one commit per
//! batch instead of one per keystroke. Nothing waits on purpose: an idle node commits a
//! lone update at once.

use std::sync::Arc;

use tandem_domain::{Clock, FileId};
use tandem_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Updates one batch takes at most, and bytes: a batch is one transaction, and a huge
/// one would hold the database's write lock (on SQLite, everyone's) for too long.
const MAX_BATCH: usize = 512;
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Updates that may wait for a batch: past this, submitters wait for room, which slows
/// their sockets' reads (backpressure) instead of growing memory.
const QUEUE: usize = 4096;

/// An update waiting to be stored.
struct Pending {
    file: FileId,
    update: Vec<u8>,
    /// Its seq, or `None` if the file is gone.
    reply: oneshot::Sender<Result<Option<u64>, StoreError>>,
}

/// The handle submitters use; the batching task runs until every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Committer {
    /// Starts the batching task on the current runtime.
    pub(crate) fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, clock, pending));
        Self { queue }
    }

    /// Stores `update` as the next update of `file`; its seq, or `NotFound`.
    pub(crate) async fn append(&self, file: FileId, update: &[u8]) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            file,
            update: update.to_vec(),
            reply,
        };
        let stopped = || StoreError::Config("the document committer has stopped".into());
        self.queue.send(pending).await.map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .and_then(|seq| seq.ok_or(StoreError::NotFound))
    }
}

async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = pending.recv().await {
        // The submitters a commit just answered are about to send their next updates:
        // let them run first, so they join this batch instead of each starting one.
        tokio::task::yield_now().await;
        let mut bytes = first.update.len();
        batch.push(first);
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match pending.try_recv() {
                Ok(next) => {
                    bytes += next.update.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit(store.as_ref(), clock.as_ref(), &mut batch).await;
    }
}

/// Commits a batch and answers each submitter. If the batch fails as a whole, each
/// update is tried alone, so one bad update cannot fail its neighbours and each
/// submitter hears its own error.
async fn commit(store: &dyn Store, clock: &dyn Clock, batch: &mut Vec<Pending>) {
    let at = clock.now();
    let items: Vec<(FileId, &[u8])> = batch
        .iter()
        .map(|p| (p.file, p.update.as_slice()))
        .collect();
    match store.append_updates(&items, at).await {
        Ok(seqs) => {
            for (pending, seq) in batch.drain(..).zip(seqs) {
                let _ = pending.reply.send(Ok(seq));
            }
        }
        Err(error) => {
            tracing::warn!(error = ?error, updates = batch.len(), "a batch of document updates failed; storing them one by one");
            for pending in batch.drain(..) {
                let result = store
                    .append_updates(&[(pending.file, pending.update.as_slice())], at)
                    .await
                    .map(|mut seqs| seqs.pop().flatten());
                let _ = pending.reply.send(result);
            }
        }
    }
}
