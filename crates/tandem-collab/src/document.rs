//! A document loaded on this node: its yrs doc and awareness, the sockets (peers) working
//! on it here, and which of its stored updates it holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use tandem_domain::FileId;
use tandem_store::StoredDocument;
use tokio_util::sync::CancellationToken;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::awareness::AwarenessStates;
use crate::chunks;
use crate::message;
use crate::seqs::Seqs;
use crate::text;
use crate::writer::{Frame, PeerWriter};

mod presence;

/// Initial states larger than this go out as several messages, so a client on a slow link
/// still hears from the server often enough for its liveness timer (30 s in y-websocket).
pub const SYNC_CHUNK_BYTES: usize = 256 * 1024;
/// Peers one thread sends a relayed frame to. Each send is a system call (a thousand
/// cost milliseconds), so a document with more shares them out among rayon's threads.
const PEERS_PER_THREAD: usize = 256;
/// Documents whose whole state is at least this large keep it encoded between changes,
/// shared by every peer that joins (a join storm encodes it once).
const SHARED_STATE_BYTES: usize = 64 * 1024;

/// A document's state to store as its snapshot, and what it replaces.
#[derive(Debug)]
pub struct Compaction {
    pub state: Vec<u8>,
    /// Every stored update up to this seq is in `state`.
    pub upto: u64,
    /// Updates and bytes this node had counted since the last compaction.
    updates: u64,
    log_bytes: u64,
}

pub use crate::writer::PeerId;

/// One document, shared by every peer on this node.
#[derive(Debug)]
pub struct Document {
    pub file_id: FileId,
    /// This node, which holds the awareness client ids its peers introduce.
    node: Arc<str>,
    inner: Mutex<Inner>,
    /// Cancelled when the file is deleted or the node stops: every peer's socket closes
    /// (4404 or 1001). One token for both, so a socket waits on one thing.
    closing: CancellationToken,
    deleted: AtomicBool,
}

struct Inner {
    doc: Doc,
    awareness: AwarenessStates,
    /// A list, not a map: most documents have a peer or two, and a map's smallest table
    /// costs several times that.
    peers: Vec<(PeerId, Arc<PeerWriter>)>,
    seqs: Seqs,
    /// Bytes of the stored snapshot, and of the updates stored after it, for the size
    /// limit.
    snapshot_bytes: u64,
    log_bytes: u64,
    /// Bytes of updates admitted from peers here and not yet stored.
    pending_bytes: u64,
    /// Updates stored since this node last compacted the document.
    since_compaction: u64,
    /// When the last peer left, if none is here now.
    idle_since: Option<Instant>,
    /// The whole document as sync messages, for peers that have nothing yet (most joins),
    /// encoded once per change and shared; kept only for large documents, where encoding
    /// it for each of many joiners would cost.
    full_state: Option<Arc<[Frame]>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("peers", &self.peers.len())
            .field("seqs", &self.seqs)
            .finish_non_exhaustive()
    }
}

impl Document {
    /// The document as stored, on `node`; returns it with how many stored updates did
    /// not apply. Its sockets close when `stop` (the node's) is cancelled.
    pub fn load(
        file_id: FileId,
        node: Arc<str>,
        stored: &StoredDocument,
        stop: &CancellationToken,
    ) -> (Self, usize) {
        let updates = stored
            .snapshot
            .iter()
            .map(Vec::as_slice)
            .chain(stored.updates.iter().map(|(_, update)| update.as_slice()));
        let (doc, skipped) = text::rebuild(updates);
        let snapshot_bytes = stored.snapshot.as_ref().map_or(0, Vec::len);
        let log_bytes: usize = stored.updates.iter().map(|(_, u)| u.len()).sum();
        let document = Self {
            file_id,
            node,
            inner: Mutex::new(Inner {
                doc,
                awareness: AwarenessStates::default(),
                peers: Vec::new(),
                seqs: Seqs::starting_at(stored.last_seq()),
                snapshot_bytes: snapshot_bytes as u64,
                log_bytes: log_bytes as u64,
                pending_bytes: 0,
                since_compaction: stored.updates.len() as u64,
                idle_since: Some(Instant::now()),
                full_state: None,
            }),
            closing: stop.child_token(),
            deleted: AtomicBool::new(false),
        };
        (document, skipped)
    }

    /// Whether the file was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// A token for one socket on this document: cancelled when the file is deleted or the
    /// node stops, and by the socket's own reasons to close (its outbox overflowing).
    pub fn closing(&self) -> CancellationToken {
        self.closing.child_token()
    }

    pub(crate) fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
        self.closing.cancel();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a peer and sends what a y-websocket server sends first: sync step 1 and
    /// every awareness state.
    pub fn join(&self, peer: PeerId, writer: Arc<PeerWriter>) {
        let mut inner = self.lock();
        let state_vector = inner.doc.transact().state_vector();
        writer.send(&Frame::binary(&message::sync_step1(state_vector)));
        writer.send(&Frame::binary(&message::awareness(inner.awareness.all())));
        if inner.peers.capacity() == 0 {
            // Most documents have one peer: room for one, not the four a first push makes.
            inner.peers.reserve_exact(1);
        }
        inner.peers.push((peer, writer));
        inner.idle_since = None;
    }

    /// Removes a peer; returns the awareness message that removes the client ids it
    /// held, to relay to other nodes (it has already gone to this node's peers).
    pub fn leave(&self, peer: PeerId) -> Option<Bytes> {
        let mut inner = self.lock();
        let at = inner.peers.iter().position(|(id, _)| *id == peer)?;
        inner.peers.swap_remove(at);
        if inner.peers.is_empty() {
            inner.idle_since = Some(Instant::now());
        }
        let removed = inner.awareness.remove_socket(&self.node, peer);
        self.relay_awareness(&inner, removed, None)
    }

    /// What the document holds of each client.
    pub(crate) fn state_vector(&self) -> StateVector {
        self.lock().doc.transact().state_vector()
    }

    /// The answer to a peer's sync step 1: everything it lacks, as updates of at most
    /// about [`SYNC_CHUNK_BYTES`] followed by the sync step 2 that completes the sync.
    pub fn sync_step2(&self, state_vector: &StateVector) -> Arc<[Frame]> {
        let mut inner = self.lock();
        let fresh = state_vector.is_empty();
        if fresh && let Some(frames) = &inner.full_state {
            return frames.clone();
        }
        let update = inner.doc.transact().encode_state_as_update_v1(state_vector);
        let shared = fresh && update.len() >= SHARED_STATE_BYTES;
        let mut chunks = chunks::split(&update, SYNC_CHUNK_BYTES);
        let last = chunks.pop().unwrap_or_default();
        let frames: Arc<[Frame]> = chunks
            .into_iter()
            .map(message::update)
            .chain([message::sync_step2(last)])
            .map(|payload| Frame::binary(&payload))
            .collect();
        if shared {
            inner.full_state = Some(frames.clone());
        }
        frames
    }

    /// Applies stored update `seq` (from a peer here, another node, or the server) and
    /// relays it to this node's peers but `from`. `decoded` is the update already decoded,
    /// if the caller has it. Returns false if it was applied before.
    pub fn apply_update(
        &self,
        from: Option<PeerId>,
        seq: u64,
        update: &[u8],
        decoded: Option<Update>,
    ) -> bool {
        let mut inner = self.lock();
        if !inner.seqs.record(seq) {
            return false;
        }
        inner.log_bytes += update.len() as u64;
        inner.since_compaction += 1;
        inner.full_state = None;
        match decoded.map_or_else(|| Update::decode_v1(update), Ok) {
            Ok(decoded) => {
                if let Err(error) = inner.doc.transact_mut().apply_update(decoded) {
                    tracing::warn!(file = %self.file_id, seq, error = %error, "a stored update did not apply");
                }
            }
            Err(error) => {
                tracing::warn!(file = %self.file_id, seq, error = %error, "a stored update does not decode");
            }
        }
        broadcast(
            &inner,
            &Frame::binary(&message::update(update.to_vec())),
            from,
        );
        true
    }

    /// Applies updates read back from storage (after a gap), without relaying: peers
    /// receive them through sync.
    pub fn catch_up(&self, stored: &StoredDocument) {
        let mut inner = self.lock();
        let watermark = inner.seqs.watermark();
        let mut fresh = Vec::new();
        if stored.snapshot_seq > watermark
            && let Some(snapshot) = &stored.snapshot
        {
            fresh.push(snapshot.as_slice());
        }
        fresh.extend(
            stored
                .updates
                .iter()
                .filter(|(seq, _)| *seq > watermark)
                .map(|(_, update)| update.as_slice()),
        );
        if !fresh.is_empty() {
            inner.full_state = None;
        }
        for update in fresh {
            let Ok(decoded) = Update::decode_v1(update) else {
                continue;
            };
            let _ = inner.doc.transact_mut().apply_update(decoded);
            // Peers learn what they lack the way a reconnecting client would.
            broadcast(
                &inner,
                &Frame::binary(&message::update(update.to_vec())),
                None,
            );
        }
        inner.seqs.fill_to(stored.last_seq());
    }

    /// Sends the no-op `frame` to each peer here that was sent nothing since the last
    /// call (see [`PeerWriter::keep_alive`]); how many got it.
    pub fn keep_alive(&self, frame: &Frame) -> usize {
        let inner = self.lock();
        inner
            .peers
            .iter()
            .filter(|(_, writer)| writer.keep_alive(frame))
            .count()
    }

    pub fn text(&self) -> String {
        text::text_of(&self.lock().doc)
    }

    /// A copy of the document, for work done outside the lock.
    pub fn snapshot(&self) -> Doc {
        let doc = Doc::new();
        text::apply(&doc, &text::state_of(&self.lock().doc));
        doc
    }

    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// When the last peer left, if none is here.
    pub fn idle_since(&self) -> Option<Instant> {
        self.lock().idle_since
    }

    /// Admits an update of `bytes` from a peer here if the document, with every update
    /// admitted before it, stays within `limit`; it counts until [`Self::release`].
    pub(crate) fn admit(&self, bytes: u64, limit: u64) -> bool {
        let mut inner = self.lock();
        let after = inner.snapshot_bytes + inner.log_bytes + inner.pending_bytes + bytes;
        if after > limit {
            return false;
        }
        inner.pending_bytes += bytes;
        true
    }

    /// An admitted update was stored (and counted as such) or failed.
    pub(crate) fn release(&self, bytes: u64) {
        let mut inner = self.lock();
        inner.pending_bytes = inner.pending_bytes.saturating_sub(bytes);
    }

    pub fn has_gap(&self) -> bool {
        self.lock().seqs.has_gap()
    }

    pub fn updates_since_compaction(&self) -> u64 {
        self.lock().since_compaction
    }

    /// What compacting the document now would store: its whole state, which holds every
    /// stored update up to the returned seq (and perhaps some after it: applying those
    /// again is a no-op). Built from memory, so compacting reads nothing back.
    pub fn compaction(&self) -> Compaction {
        let inner = self.lock();
        Compaction {
            state: text::state_of(&inner.doc),
            upto: inner.seqs.watermark(),
            updates: inner.since_compaction,
            log_bytes: inner.log_bytes,
        }
    }

    /// After `compaction` was stored: the updates it folded in are gone from the log.
    pub fn compacted(&self, compaction: &Compaction) {
        let mut inner = self.lock();
        inner.snapshot_bytes = compaction.state.len() as u64;
        inner.log_bytes = inner.log_bytes.saturating_sub(compaction.log_bytes);
        inner.since_compaction = inner.since_compaction.saturating_sub(compaction.updates);
    }
}

/// Sends `frame` to every peer but `except`, under the document's lock, so each peer
/// gets the document's frames in the order they were relayed. Straight to the sockets
/// (see [`PeerWriter`]); a document with many peers shares the sends out among rayon's
/// threads and waits for them.
fn broadcast(inner: &Inner, frame: &Frame, except: Option<PeerId>) {
    let send = |peers: &[(PeerId, Arc<PeerWriter>)]| {
        for (id, writer) in peers {
            if Some(*id) != except {
                writer.send(frame);
            }
        }
    };
    let peers = inner.peers.as_slice();
    if peers.len() <= PEERS_PER_THREAD {
        return send(peers);
    }
    let share = peers
        .len()
        .div_ceil(rayon::current_num_threads() + 1)
        .max(PEERS_PER_THREAD);
    let mut shares = peers.chunks(share);
    let own = shares.next().unwrap_or_default();
    let send = &send;
    rayon::in_place_scope(|scope| {
        for share in shares {
            scope.spawn(move |_| send(share));
        }
        send(own);
    });
}
