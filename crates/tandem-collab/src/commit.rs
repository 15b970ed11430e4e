//! The write path of every document on this node: group commit, then relay. Updates wait
//! here while the previous batch commits, then commit together in one transaction; the
//! updates one peer sent to one document in the meantime are merged into one stored
//! update first. Only once stored is an update applied to the document, relayed to its
//! peers here and published to other nodes. A busy node pays one commit per batch and
//! one row, one relay and one publish per document and peer instead of per keystroke.
//! Nothing waits on purpose: an idle node commits a lone update at once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tandem_domain::{Clock, FileId};
use tandem_realtime::{Bus, Envelope};
use tandem_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};
use yrs::{StateVector, Update};

use crate::collab::{CollabError, topic};
use crate::document::{Document, PeerId};
use crate::integrity::UpdateShape;

mod merge;

use merge::{Group, merge};

/// Updates one batch takes at most, and bytes: a batch is one transaction, and a huge
/// one would hold the database's write lock (on SQLite, everyone's) for too long.
const MAX_BATCH: usize = 1024;
const MAX_BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// Updates that may wait for a batch: past this, submitters wait for room, which slows
/// their sockets' reads (backpressure) instead of growing memory.
const QUEUE: usize = 4096;

/// The peer id of updates the server makes (REST writes, restores): relayed to everyone.
pub(crate) const SERVER: PeerId = 0;

/// An update waiting to be stored.
struct Pending {
    file: FileId,
    /// The document to apply it to once stored, if this node holds it.
    document: Option<Arc<Document>>,
    /// Who sent it; relays skip them.
    peer: PeerId,
    update: Vec<u8>,
    /// `update` decoded, when the submitter already had to (a peer's update is checked
    /// before it is queued): merging and applying then start from it.
    decoded: Option<Update>,
    /// The update's size as submitted (`update` is emptied when it is merged).
    bytes: u64,
    /// Whether `bytes` was admitted to the document's size (a peer's update) and is to be
    /// released once stored.
    admitted: bool,
    reply: oneshot::Sender<Result<(), CollabError>>,
}

/// Where the stored updates go besides storage.
#[derive(Debug)]
pub(crate) struct Relay {
    pub bus: Arc<dyn Bus>,
    pub node: Arc<str>,
    /// Files changed since the last maintenance pass (for automatic versions).
    pub edited: Arc<Mutex<HashSet<FileId>>>,
}

/// What the batching task is given: an update, or a flush that is answered once every
/// update queued before it is stored, applied and relayed.
enum Work {
    Update(Pending),
    Flush(oneshot::Sender<()>),
}

/// The handle submitters use; the batching task runs until every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    queue: mpsc::Sender<Work>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("file", &self.file)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// Completes once a submitted update is stored, applied and relayed, or could not be
/// stored (`NotFound`: the file is gone).
#[derive(Debug)]
#[must_use = "the update's outcome, which says whether it was stored"]
pub struct Submitted(oneshot::Receiver<Result<(), CollabError>>);

impl Future for Submitted {
    type Output = Result<(), CollabError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|answer| match answer {
            Ok(result) => result,
            Err(_) => Err(CollabError::Store(stopped())),
        })
    }
}

fn stopped() -> StoreError {
    StoreError::Config("the document committer has stopped".into())
}

impl Committer {
    /// Starts the batching task on the current runtime.
    pub(crate) fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, relay: Relay) -> Self {
        let (queue, work) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, clock, relay, work));
        Self { queue }
    }

    /// Queues `update` of `file` from `peer` (waiting for room if the queue is full).
    pub(crate) async fn submit(
        &self,
        file: FileId,
        document: Option<Arc<Document>>,
        peer: PeerId,
        update: Vec<u8>,
        decoded: Option<Update>,
    ) -> Submitted {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            file,
            document,
            admitted: peer != SERVER,
            peer,
            bytes: update.len() as u64,
            update,
            decoded,
            reply,
        };
        if let Err(mpsc::error::SendError(Work::Update(pending))) =
            self.queue.send(Work::Update(pending)).await
        {
            pending.release();
            let _ = pending.reply.send(Err(CollabError::Store(stopped())));
        }
        Submitted(answer)
    }

    /// Returns once every update queued so far is stored, applied and relayed (or
    /// failed): at shutdown, before the final compactions and versions.
    pub(crate) async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Work::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    relay: Relay,
    mut queue: mpsc::Receiver<Work>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        let first = match first {
            Work::Update(pending) => pending,
            Work::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        // Sockets whose earlier updates just went out are about to send their next ones:
        // let them run first, so they join this batch instead of each starting one.
        tokio::task::yield_now().await;
        let mut bytes = first.bytes;
        batch.push(first);
        // A flush met while gathering is answered once this batch is done.
        let mut flush = None;
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(Work::Update(next)) => {
                    bytes += next.bytes;
                    batch.push(next);
                }
                Ok(Work::Flush(done)) => {
                    flush = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        refuse_unintegrable(&mut batch);
        let mut groups = merge(&mut batch);
        let stored = commit(store.as_ref(), clock.as_ref(), &groups).await;
        relay.send(&mut groups, &stored, &batch).await;
        answer(&mut batch, &groups, stored);
        if let Some(done) = flush {
            let _ = done.send(());
        }
    }
}

/// Answers and removes the peers' updates that would not integrate whole into their
/// documents (`integrity`), so they are never stored, merged or relayed. Each is checked
/// against its document as it will be once the batch's earlier updates are applied: a
/// peer's next keystroke builds on its previous one, stored in the same batch.
fn refuse_unintegrable(batch: &mut Vec<Pending>) {
    let mut known: HashMap<FileId, StateVector> = HashMap::new();
    let mut refused = Vec::new();
    for (i, pending) in batch.iter().enumerate() {
        let Some(document) = pending.document.as_ref().filter(|_| pending.peer != SERVER) else {
            continue;
        };
        let known = known
            .entry(pending.file)
            .or_insert_with(|| document.state_vector());
        let checked =
            UpdateShape::read(&pending.update).and_then(|shape| shape.integrate_into(known));
        if let Err(why) = checked {
            tracing::info!(file = %pending.file, peer = pending.peer, %why, "refused a Yjs update that does not integrate");
            refused.push((i, why));
        }
    }
    for (i, why) in refused.into_iter().rev() {
        let pending = batch.remove(i);
        pending.release();
        let _ = pending.reply.send(Err(CollabError::Unintegrable(why)));
    }
}

/// Stores every group's update, in one transaction if it can; each group's seq (`None`:
/// the file is gone) or error. If the batch fails as a whole, each update is tried alone,
/// so one bad update cannot fail its neighbours and each submitter hears its own error.
async fn commit(
    store: &dyn Store,
    clock: &dyn Clock,
    groups: &[Group],
) -> Vec<Result<Option<u64>, StoreError>> {
    let at = clock.now();
    let items: Vec<(FileId, &[u8])> = groups.iter().map(|g| (g.file, &g.update[..])).collect();
    match store.append_updates(&items, at).await {
        Ok(seqs) => seqs.into_iter().map(Ok).collect(),
        Err(error) => {
            tracing::warn!(error = ?error, updates = items.len(), "a batch of document updates failed; storing them one by one");
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                let result = store
                    .append_updates(&[item], at)
                    .await
                    .map(|mut seqs| seqs.pop().flatten());
                if let Err(error) = &result {
                    tracing::error!(file = %item.0, error = ?error, "storing a document update failed");
                }
                results.push(result);
            }
            results
        }
    }
}

impl Relay {
    /// Applies each stored update to its document here, relays it to the document's other
    /// peers here, and publishes it to the other nodes.
    async fn send(
        &self,
        groups: &mut [Group],
        stored: &[Result<Option<u64>, StoreError>],
        batch: &[Pending],
    ) {
        let mut publishing = Vec::new();
        let mut published = Vec::new();
        let mut edited = Vec::new();
        for (group, stored) in groups.iter_mut().zip(stored) {
            let Ok(Some(seq)) = stored else { continue };
            let document = group
                .members
                .first()
                .and_then(|&i| batch[i].document.as_ref());
            if let Some(document) = document {
                let from = (group.peer != SERVER).then_some(group.peer);
                document.apply_update(from, *seq, &group.update, group.decoded.take());
                // Automatic versions follow the editing of loaded documents only.
                edited.push(group.file);
            }
            published.push(group.file);
            publishing.push(self.bus.publish(Envelope {
                topic: topic(group.file).into(),
                origin: Some(self.node.clone()),
                seq: Some(*seq),
                payload: group.update.clone(),
            }));
        }
        self.edited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(edited);
        // Concurrently, so a bus across the network costs one round trip per batch.
        let results = futures::future::join_all(publishing).await;
        for (result, file) in results.iter().zip(published) {
            if let Err(error) = result {
                // Other nodes find the gap at the next update, or read it when they load.
                tracing::warn!(%file, error = ?error, "publishing a document update failed");
            }
        }
    }
}

/// Answers every submitter of the batch with its group's outcome.
fn answer(
    batch: &mut Vec<Pending>,
    groups: &[Group],
    stored: Vec<Result<Option<u64>, StoreError>>,
) {
    let mut outcome: Vec<Option<Result<(), StoreError>>> = Vec::new();
    outcome.resize_with(batch.len(), || None);
    for (group, stored) in groups.iter().zip(stored) {
        let result = stored.and_then(|seq| seq.map(|_| ()).ok_or(StoreError::NotFound));
        for &i in &group.members {
            outcome[i] = Some(clone_result(&result));
        }
    }
    for (pending, outcome) in batch.drain(..).zip(outcome) {
        pending.release();
        let _ = pending.reply.send(
            outcome
                .unwrap_or_else(|| Err(stopped()))
                .map_err(CollabError::from),
        );
    }
}

impl Pending {
    /// Stops counting the update toward its document's size as waiting: it is stored
    /// (and counted as stored) or failed.
    fn release(&self) {
        if self.admitted
            && let Some(document) = &self.document
        {
            document.release(self.bytes);
        }
    }
}

fn clone_result(result: &Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(StoreError::NotFound),
        Err(error) => Err(StoreError::Config(error.to_string())),
    }
}

#[cfg(test)]
mod tests;
