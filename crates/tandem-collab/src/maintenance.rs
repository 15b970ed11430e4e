//! Keeping documents healthy in the background: updates and awareness from other nodes,
//! repairs after a missed update, compaction, automatic versions (`versions.rs` says
//! when), keepalives for idle clients, and unloading documents nobody on this node is
//! editing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tandem_domain::FileId;
use tandem_realtime::Envelope;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use yrs::sync::Message;

use crate::collab::Collab;
use crate::document::Document;
use crate::message;
use crate::writer::Frame;

/// How often documents are checked for gaps, compaction, versions and unloading.
const TICK: Duration = Duration::from_millis(250);

impl Collab {
    /// Runs until the node's stop: routes other nodes' updates to loaded documents and
    /// maintains them. The documents stay loaded: [`Collab::shut_down`] stores them once
    /// their sockets are gone.
    pub async fn run(self: Arc<Self>) {
        let stop = self.stop.clone();
        let routing = self.clone().route_bus(stop.clone());
        let maintaining = async {
            let mut tick = tokio::time::interval(TICK);
            let mut keepalive = tokio::time::interval(self.config.keepalive);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => self.maintain().await,
                    _ = keepalive.tick() => {
                        // Only to peers that were sent nothing since the last round: one
                        // that was has no silence to break, and a keepalive to every
                        // socket of a busy document would land amid its updates.
                        let frame = Frame::binary(&message::keepalive());
                        for document in self.all() {
                            document.keep_alive(&frame);
                        }
                    }
                }
            }
        };
        tokio::join!(routing, maintaining);
    }

    /// The last work of a stopping node, once its sockets have closed: stores every update
    /// still waiting, then compacts and unloads every document, taking the automatic
    /// version of each editing session that ends here.
    pub async fn shut_down(&self) {
        self.committer.flush().await;
        self.note_edits(self.clock.now());
        for document in self.all() {
            self.unload(&document, true).await;
        }
    }

    async fn route_bus(self: Arc<Self>, stop: CancellationToken) {
        let mut envelopes = self.bus.subscribe();
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return,
                received = envelopes.recv() => received,
            };
            match received {
                Ok(envelope) => {
                    if let Some((file, answer)) = self.route(&envelope) {
                        self.publish_awareness(file, answer).await;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "collaboration fell behind the bus; repairing from storage"
                    );
                    for document in self.all() {
                        self.catch_up(&document).await;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Applies another node's message; what to answer it with, if anything.
    fn route(&self, envelope: &Envelope) -> Option<(FileId, Bytes)> {
        let file = envelope.topic.strip_prefix("collab:")?;
        if envelope.origin.as_deref() == Some(&*self.node) {
            return None;
        }
        let file = file.parse().ok().map(FileId)?;
        if envelope.seq.is_none() && envelope.payload.is_empty() {
            self.forget(file);
            return None;
        }
        let document = self.loaded(file)?;
        if let Some(seq) = envelope.seq {
            document.apply_update(None, seq, &envelope.payload, None);
            return None;
        }
        // Awareness: the holders of its entries, then the entries; or a node that opened
        // the document asking for the states held here.
        let origin = envelope.origin.as_ref()?;
        let mut holders = None;
        let mut answer = None;
        for message in message::decode(&envelope.payload).unwrap_or_default() {
            match message {
                Message::Awareness(update) => {
                    if let Some(holders) = &holders {
                        document.apply_remote_awareness(origin, holders, update);
                    }
                }
                Message::AwarenessQuery => answer = document.held_awareness(),
                other => holders = message::holders(&other).or(holders),
            }
        }
        answer.map(|answer| (file, answer))
    }

    pub(crate) fn all(&self) -> Vec<Arc<Document>> {
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    async fn maintain(&self) {
        let now = self.clock.now();
        self.note_edits(now);
        for document in self.all() {
            if document.has_gap() {
                self.catch_up(&document).await;
            }
            if document.updates_since_compaction() >= self.config.compact_every {
                self.compact(&document).await;
            }
            if self.auto_version_due(document.file_id, now) {
                self.take_auto_version(document.file_id).await;
            }
            let idle = document
                .idle_since()
                .is_some_and(|since| since.elapsed() >= self.config.unload_after);
            if idle {
                self.unload(&document, false).await;
            }
        }
    }

    async fn catch_up(&self, document: &Document) {
        match self.store.load_document(document.file_id).await {
            Ok(stored) => document.catch_up(&stored),
            Err(error) => {
                tracing::warn!(file = %document.file_id, error = ?error, "repairing a document failed")
            }
        }
    }

    /// Folds the stored updates into the snapshot. The state comes from memory; only the
    /// updates up to the document's watermark (everything below it applied here) are
    /// dropped from storage, so updates this node has not seen yet (from other nodes)
    /// stay in the log.
    async fn compact(&self, document: &Document) {
        let file = document.file_id;
        let compaction = document.compaction();
        if compaction.upto == 0 {
            return;
        }
        match self
            .store
            .compact_document(file, &compaction.state, compaction.upto, self.clock.now())
            .await
        {
            // Not stored: another node had compacted further. Either way, the log this
            // node counted is folded in.
            Ok(_) => document.compacted(&compaction),
            Err(error) => tracing::warn!(%file, error = ?error, "compacting a document failed"),
        }
    }

    /// Compacts and drops a document nobody here is editing (or everything, at shutdown).
    /// It is dropped even if compaction fails: storage already holds every update. Its
    /// editing session has ended, so edits not in a version yet get one.
    async fn unload(&self, document: &Arc<Document>, shutting_down: bool) {
        if document.updates_since_compaction() > 0 {
            self.compact(document).await;
        }
        let unloaded = {
            let mut documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
            let still_idle = document.peer_count() == 0 || shutting_down;
            let held = documents
                .get(&document.file_id)
                .is_some_and(|held| Arc::ptr_eq(held, document));
            still_idle && held && documents.remove(&document.file_id).is_some()
        };
        if unloaded && self.has_unversioned_edits(document.file_id) {
            self.take_auto_version(document.file_id).await;
        }
    }
}
