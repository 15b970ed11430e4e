//! `Collab`: this node's loaded documents, and every way a document changes: a peer's
//! update, another node's (through the bus), or the server's own (REST writes, restores).
//! Each update is stored before anyone else sees it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tandem_domain::{Clock, FileId, UserId};
use tandem_realtime::{Bus, Envelope};
use tandem_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;
use yrs::Doc;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::updates::decoder::Decode;

use crate::awareness::{Holder, Holding};
use crate::commit::{Committer, Relay, SERVER, Submitted};
use crate::document::{Document, PeerId};
use crate::integrity::Unintegrable;
use crate::message::{self, CloseCode};
use crate::text;

/// Limits and timings of collaborative documents.
#[derive(Debug, Clone, Copy)]
pub struct CollabConfig {
    /// The largest single update a client may send.
    pub max_update_bytes: usize,
    /// The most a document may take in storage (snapshot plus updates).
    pub max_document_bytes: u64,
    /// Updates one connection may send per second.
    pub updates_per_second: u32,
    /// The most bytes of live traffic (relayed updates, awareness, keepalives) that may
    /// wait for one socket before it is cut off as a slow consumer (4008). The answer to
    /// the client's own sync step 1 does not count (`PeerWriter::send_answer`).
    pub socket_queue_bytes: usize,
    /// The largest awareness state one client may announce; a larger one is dropped.
    pub max_awareness_bytes: usize,
    /// How long a document stays loaded after its last peer leaves.
    pub unload_after: Duration,
    /// Stored updates after which a document is compacted into its snapshot.
    pub compact_every: u64,
    /// The least time between two automatic versions of a file.
    pub auto_version_every: Duration,
    /// How often peers sent nothing since the previous round get a no-op message, so an
    /// idle peer hears something at most twice this apart (y-websocket drops a link silent
    /// for 30 s).
    pub keepalive: Duration,
}

impl Default for CollabConfig {
    fn default() -> Self {
        Self {
            max_update_bytes: 4 * 1024 * 1024,
            max_document_bytes: 64 * 1024 * 1024,
            updates_per_second: 100,
            socket_queue_bytes: 8 * 1024 * 1024,
            max_awareness_bytes: 8 * 1024,
            unload_after: Duration::from_secs(5),
            compact_every: 500,
            auto_version_every: Duration::from_secs(600),
            keepalive: Duration::from_secs(10),
        }
    }
}

/// What can go wrong changing a document.
#[derive(Debug, thiserror::Error)]
pub enum CollabError {
    #[error("the file does not exist")]
    NotFound,
    #[error("the update or the document would pass the size limit")]
    TooLarge,
    #[error("not a Yjs update")]
    BadUpdate,
    /// An update that would not integrate whole into the document (`integrity`).
    #[error("the update does not integrate: {0}")]
    Unintegrable(#[from] Unintegrable),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CollabError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

impl CollabError {
    /// How a peer's socket is closed for this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::NotFound => CloseCode::NotFound,
            Self::TooLarge => CloseCode::TooLarge,
            Self::BadUpdate | Self::Unintegrable(_) => CloseCode::BadMessage,
            Self::Store(_) => CloseCode::StorageFailed,
        }
    }
}

/// The bus topic of a document's updates and awareness between nodes.
pub fn topic(file: FileId) -> String {
    format!("collab:{file}")
}

/// This node's documents.
#[derive(Debug)]
pub struct Collab {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) node: Arc<str>,
    pub(crate) clock: Arc<dyn Clock>,
    pub config: CollabConfig,
    pub(crate) documents: Mutex<HashMap<FileId, Arc<Document>>>,
    /// One load at a time per file, so two sockets opening it load it once.
    loads: tokio::sync::Mutex<HashMap<FileId, Arc<tokio::sync::Mutex<()>>>>,
    next_peer: AtomicU64,
    /// Loaded files with edits not yet in an automatic version, each with when the first
    /// of them was noticed (`versions.rs`).
    pub(crate) auto_versions: Mutex<HashMap<FileId, DateTime<Utc>>>,
    /// Files changed since the last maintenance pass.
    pub(crate) edited: Arc<Mutex<HashSet<FileId>>>,
    /// Stores peers' updates in batches.
    pub(crate) committer: Committer,
    /// The node's stop: sockets close, and [`Collab::run`] unloads every document.
    pub(crate) stop: CancellationToken,
}

impl Collab {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        node: Arc<str>,
        clock: Arc<dyn Clock>,
        config: CollabConfig,
        stop: CancellationToken,
    ) -> Self {
        let edited = Arc::new(Mutex::default());
        let relay = Relay {
            bus: Arc::clone(&bus),
            node: Arc::clone(&node),
            edited: Arc::clone(&edited),
        };
        Self {
            committer: Committer::start(Arc::clone(&store), Arc::clone(&clock), relay),
            store,
            bus,
            node,
            clock,
            config,
            documents: Mutex::default(),
            loads: tokio::sync::Mutex::default(),
            next_peer: AtomicU64::new(1),
            auto_versions: Mutex::default(),
            edited,
            stop,
        }
    }

    pub fn next_peer(&self) -> PeerId {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn loaded(&self, file: FileId) -> Option<Arc<Document>> {
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&file)
            .cloned()
    }

    /// The document of `file`, loaded from storage if this node does not hold it.
    pub async fn open(&self, file: FileId) -> Result<Arc<Document>, StoreError> {
        if let Some(document) = self.loaded(file) {
            return Ok(document);
        }
        let gate = self.loads.lock().await.entry(file).or_default().clone();
        let _loading = gate.lock().await;
        if let Some(document) = self.loaded(file) {
            return Ok(document);
        }
        let stored = self.store.load_document(file).await?;
        let (document, skipped) = Document::load(file, self.node.clone(), &stored, &self.stop);
        if skipped > 0 {
            tracing::warn!(%file, skipped, "stored updates that did not apply were skipped");
        }
        let document = Arc::new(document);
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file, document.clone());
        self.loads.lock().await.remove(&file);
        // Updates other nodes published while this one was reading are not on the bus
        // for it: read once more now that the bus reaches the document.
        if let Ok(stored) = self.store.load_document(file).await {
            document.catch_up(&stored);
        }
        // The states other nodes' peers hold: a client joining here sees them at once,
        // and this node knows who holds which client id before its own peers say more.
        self.publish_awareness(file, message::awareness_query())
            .await;
        Ok(document)
    }

    /// Checks a peer's update and queues it to be stored, then applied here and relayed
    /// to every other peer on every node; the returned future says when that is done.
    /// Sockets go on reading while their updates are stored, so a fast typist's
    /// keystrokes are merged and stored together. `None` for an update that holds
    /// nothing: every client with nothing to add answers the server's sync step 1 with
    /// one, and storing it would cost a row, a relay and a bus message per join.
    pub async fn submit(
        &self,
        document: &Arc<Document>,
        peer: PeerId,
        update: Vec<u8>,
    ) -> Result<Option<Submitted>, CollabError> {
        if update.len() > self.config.max_update_bytes {
            return Err(CollabError::TooLarge);
        }
        let Ok(decoded) = yrs::Update::decode_v1(&update) else {
            return Err(CollabError::BadUpdate);
        };
        if decoded.is_empty() {
            return Ok(None);
        }
        // Counted from now, so a socket's updates waiting to be stored count too.
        if !document.admit(update.len() as u64, self.config.max_document_bytes) {
            return Err(CollabError::TooLarge);
        }
        Ok(Some(
            self.committer
                .submit(
                    document.file_id,
                    Some(document.clone()),
                    peer,
                    update,
                    Some(decoded),
                )
                .await,
        ))
    }

    /// Stores an update the server made (REST writes, restores) and sends it to every peer
    /// on every node.
    pub async fn submit_server_update(
        &self,
        file: FileId,
        update: &[u8],
    ) -> Result<(), CollabError> {
        let document = self.loaded(file);
        self.committer
            .submit(file, document, SERVER, update.to_vec(), None)
            .await
            .await
    }

    /// Applies an awareness message from peer `peer` (of `user`) to its document, as far
    /// as the peer may change it (`awareness.rs`), and relays what changed to the
    /// document's other peers on every node.
    pub async fn awareness(
        &self,
        document: &Document,
        peer: PeerId,
        user: UserId,
        update: AwarenessUpdate,
    ) {
        let from = Holder {
            node: self.node.clone(),
            holding: Holding {
                peer,
                user,
                since: self.clock.now().timestamp_millis(),
            },
        };
        let max = self.config.max_awareness_bytes;
        if let Some(frame) = document.apply_awareness(&from, update, max) {
            self.publish_awareness(document.file_id, frame).await;
        }
    }

    /// Sends an awareness message from this node to the other nodes.
    pub async fn publish_awareness(&self, file: FileId, frame: Bytes) {
        let envelope = Envelope {
            topic: topic(file).into(),
            origin: Some(self.node.clone()),
            seq: None,
            payload: frame,
        };
        if let Err(error) = self.bus.publish(envelope).await {
            tracing::debug!(%file, error = ?error, "publishing awareness failed");
        }
    }

    /// A file was deleted: its sockets on every node close, and its document is dropped.
    pub async fn file_deleted(&self, file: FileId) {
        self.forget(file);
        let envelope = Envelope {
            topic: topic(file).into(),
            origin: Some(self.node.clone()),
            seq: None,
            // An empty payload is the deletion notice; awareness messages are never empty.
            payload: Bytes::new(),
        };
        if let Err(error) = self.bus.publish(envelope).await {
            tracing::warn!(%file, error = ?error, "announcing a deleted document failed");
        }
    }

    pub(crate) fn forget(&self, file: FileId) {
        let removed = self
            .documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&file);
        if let Some(document) = removed {
            document.mark_deleted();
        }
        self.auto_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&file);
    }

    /// The document of `file` as stored, with every update any node has acknowledged.
    pub async fn stored_doc(&self, file: FileId) -> Result<Doc, CollabError> {
        let stored = self.store.load_document(file).await?;
        let updates = stored
            .snapshot
            .iter()
            .map(Vec::as_slice)
            .chain(stored.updates.iter().map(|(_, u)| u.as_slice()));
        Ok(text::rebuild(updates).0)
    }

    /// The text of `file` as stored.
    pub async fn text(&self, file: FileId) -> Result<String, CollabError> {
        Ok(text::text_of(&self.stored_doc(file).await?))
    }

    /// Makes the text of `file` `wanted`, as one CRDT transaction merged with whatever
    /// editors are doing; false if it already was.
    pub async fn replace_text(&self, file: FileId, wanted: &str) -> Result<bool, CollabError> {
        let doc = self.stored_doc(file).await?;
        let Some(update) = text::replace(&doc, wanted) else {
            return Ok(false);
        };
        self.submit_server_update(file, &update).await?;
        Ok(true)
    }
}
