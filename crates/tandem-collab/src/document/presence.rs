//! A document's awareness: entries from its peers here, applied as far as each may
//! change them (`crate::awareness` says who holds what), and from other nodes, each
//! relayed to the peers that should hear of it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use yrs::ClientID;
use yrs::sync::awareness::AwarenessUpdate;

use super::{Document, Inner, PeerId, broadcast};
use crate::awareness::{Changed, Holder, Holding};
use crate::message;
use crate::writer::Frame;

impl Document {
    /// Applies an awareness update from a peer here, `from`, as far as it may: an entry
    /// for a client id another socket holds, or over `max_bytes`, is dropped (see
    /// `awareness.rs`). Relays what changed to this node's other peers; returns the
    /// message for other nodes, if anything changed.
    pub fn apply_awareness(
        &self,
        from: &Holder,
        update: AwarenessUpdate,
        max_bytes: usize,
    ) -> Option<Bytes> {
        let mut inner = self.lock();
        let (changed, refused) = inner.awareness.apply_local(from, update, max_bytes);
        for (client, why) in refused {
            tracing::debug!(file = %self.file_id, client = client.get(), peer = from.holding.peer, ?why, "an awareness entry was dropped");
        }
        self.relay_awareness(&inner, changed, Some(from.holding.peer))
    }

    /// Applies an awareness update another node (`node`) relayed, each entry from the
    /// socket there that `holders` names, and relays what changed to this node's peers.
    pub fn apply_remote_awareness(
        &self,
        node: &Arc<str>,
        holders: &HashMap<ClientID, Holding>,
        update: AwarenessUpdate,
    ) {
        let mut inner = self.lock();
        let changed = inner.awareness.apply_remote(node, holders, update);
        if !changed.is_empty() {
            let frame = message::awareness(changed.update);
            broadcast(&inner, &Frame::binary(&frame), None);
        }
    }

    /// The states this node's peers hold, for another node that opened the document.
    pub fn held_awareness(&self) -> Option<Bytes> {
        let inner = self.lock();
        let held = inner.awareness.held_on(&self.node);
        (!held.is_empty()).then(|| message::awareness_between_nodes(held))
    }

    /// Sends what changed to this node's peers but `except`; the message for other
    /// nodes, if anything changed.
    pub(super) fn relay_awareness(
        &self,
        inner: &Inner,
        changed: Changed,
        except: Option<PeerId>,
    ) -> Option<Bytes> {
        if changed.is_empty() {
            return None;
        }
        let frame = message::awareness(changed.update.clone());
        broadcast(inner, &Frame::binary(&frame), except);
        Some(message::awareness_between_nodes(changed))
    }

    /// Every awareness state, for a peer that asks.
    pub fn awareness_states(&self) -> Frame {
        Frame::binary(&message::awareness(self.lock().awareness.all()))
    }
}
