//! Who is on a document and where (the y-protocols awareness states), and who may say so:
//! each client id's latest state by its clock, and its holder, the socket that introduced
//! it (on this node or another). Only the holder changes or removes a state, and the
//! server removes it when the holder's socket closes; a viewer cannot make the owner
//! appear as someone else. A plain map rather than yrs's `Awareness`, which also owns the
//! document and keeps the states in a sharded concurrent map: about 1.2 KiB for every open
//! document, for locking the document's own lock already does.

use std::collections::HashMap;
use std::sync::Arc;

use tandem_domain::UserId;
use yrs::ClientID;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};

use crate::writer::PeerId;

/// The state a removed client is sent with.
const REMOVED: &str = "null";
/// Client ids one socket may introduce. A y-websocket provider announces one (its
/// document's); the cap keeps a socket from filling the map with made-up ones.
pub const MAX_CLIENTS_PER_SOCKET: usize = 4;

/// Which socket holds a client id, as nodes tell each other (the node is the message's
/// origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub peer: PeerId,
    pub user: UserId,
    /// When the socket introduced the client id, in milliseconds since the epoch by its
    /// node's clock. Settles the one race nodes can have: two nodes, each not yet told of
    /// the other's socket, letting sockets of two users introduce the same id.
    pub since: i64,
}

/// The socket that holds a client id: its node, and who it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub node: Arc<str>,
    pub holding: Holding,
}

impl Holder {
    fn is_socket(&self, node: &str, peer: PeerId) -> bool {
        self.holding.peer == peer && &*self.node == node
    }

    /// The order in which introductions count: by time, then node and socket, so every
    /// node settles a race the same way.
    fn key(&self) -> (i64, &str, PeerId) {
        (self.holding.since, &self.node, self.holding.peer)
    }
}

/// Why an entry was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Another socket holds the client id.
    NotHolder,
    /// The state is over the size limit.
    TooLarge,
    /// The socket already holds [`MAX_CLIENTS_PER_SOCKET`] client ids.
    TooMany,
}

/// Every client's awareness state on one document.
#[derive(Debug, Default)]
pub struct AwarenessStates {
    clients: HashMap<ClientID, ClientState>,
}

#[derive(Debug)]
struct ClientState {
    clock: u32,
    /// The client's JSON; `None` once it is removed (its clock is kept, so an older
    /// update arriving late cannot bring it back).
    json: Option<Arc<str>>,
    holder: Holder,
    /// Whether the holder's socket still holds the id. Once it has left or removed its
    /// state, the id stays bound to its user: only that user's sockets take it up again.
    held: bool,
}

/// The entries of an update that changed something, with their holders: what to relay.
#[derive(Debug)]
pub struct Changed {
    pub update: AwarenessUpdate,
    pub holders: HashMap<ClientID, Holding>,
}

impl Default for Changed {
    fn default() -> Self {
        Self {
            update: AwarenessUpdate {
                clients: HashMap::new(),
            },
            holders: HashMap::new(),
        }
    }
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        self.update.clients.is_empty()
    }

    fn add(&mut self, client: ClientID, entry: AwarenessUpdateEntry, holder: &Holder) {
        self.update.clients.insert(client, entry);
        self.holders.insert(client, holder.holding);
    }
}

impl AwarenessStates {
    /// Applies an update from a socket on this node, `from`, entry by entry; an entry
    /// for a client id another socket holds, or over `max_bytes`, is dropped (the
    /// others still apply). Returns what changed and each dropped entry's reason.
    pub fn apply_local(
        &mut self,
        from: &Holder,
        update: AwarenessUpdate,
        max_bytes: usize,
    ) -> (Changed, Vec<(ClientID, Refused)>) {
        let mut changed = Changed::default();
        let mut refused = Vec::new();
        for (client, entry) in update.clients {
            if &*entry.json != REMOVED && entry.json.len() > max_bytes {
                refused.push((client, Refused::TooLarge));
                continue;
            }
            match self.apply(client, &entry, from, true) {
                Ok(true) => changed.add(client, entry, from),
                Ok(false) => {}
                Err(why) => refused.push((client, why)),
            }
        }
        (changed, refused)
    }

    /// Applies an update another node (`node`) relayed, each entry from the socket there
    /// that `holders` names (an entry without one is dropped). Returns what changed.
    pub fn apply_remote(
        &mut self,
        node: &Arc<str>,
        holders: &HashMap<ClientID, Holding>,
        update: AwarenessUpdate,
    ) -> Changed {
        let mut changed = Changed::default();
        for (client, entry) in update.clients {
            let Some(holding) = holders.get(&client) else {
                continue;
            };
            let from = Holder {
                node: node.clone(),
                holding: *holding,
            };
            if let Ok(true) = self.apply(client, &entry, &from, false) {
                changed.add(client, entry, &from);
            }
        }
        changed
    }

    /// Applies one entry from `from` (a socket on this node if `local`); whether it
    /// changed anything. A higher clock wins, and a removal at the same clock removes,
    /// as in y-protocols; but only from the id's holder.
    fn apply(
        &mut self,
        client: ClientID,
        entry: &AwarenessUpdateEntry,
        from: &Holder,
        local: bool,
    ) -> Result<bool, Refused> {
        let json = (&*entry.json != REMOVED).then(|| entry.json.clone());
        let Some(state) = self.clients.get_mut(&client) else {
            return self.introduce(client, entry.clock, json, from, local);
        };
        let mut force = false;
        if !(state.held && state.holder.is_socket(&from.node, from.holding.peer)) {
            if !takes_over(state, from, local) {
                return Err(Refused::NotHolder);
            }
            // Another user's, lost to an earlier introduction on another node: its
            // state replaces the loser's whatever their clocks.
            force = state.holder.holding.user != from.holding.user;
            state.holder = from.clone();
            state.held = true;
        }
        let removal = json.is_none();
        let newer = state.clock < entry.clock
            || (state.clock == entry.clock && removal && state.json.is_some());
        if !(newer || force) {
            return Ok(false);
        }
        state.clock = entry.clock;
        state.json = json;
        state.held = !removal;
        Ok(true)
    }

    /// A client id seen for the first time: `from` holds it. A removal of an unknown id
    /// from a socket here removes nothing; from another node, the id was introduced there
    /// before this node listened, and stays bound to its user.
    fn introduce(
        &mut self,
        client: ClientID,
        clock: u32,
        json: Option<Arc<str>>,
        from: &Holder,
        local: bool,
    ) -> Result<bool, Refused> {
        if json.is_none() && local {
            return Ok(false);
        }
        if local && self.held_by(from) >= MAX_CLIENTS_PER_SOCKET {
            return Err(Refused::TooMany);
        }
        let held = json.is_some();
        let holder = from.clone();
        let state = ClientState {
            clock,
            json,
            holder,
            held,
        };
        self.clients.insert(client, state);
        Ok(held)
    }

    /// Client ids `socket` holds.
    fn held_by(&self, socket: &Holder) -> usize {
        let (node, peer) = (&*socket.node, socket.holding.peer);
        self.clients
            .values()
            .filter(|state| state.held && state.holder.is_socket(node, peer))
            .count()
    }

    /// Every client's state, for a peer that joins or asks.
    pub fn all(&self) -> AwarenessUpdate {
        self.matching(|_| true).update
    }

    /// The states held by sockets of `node`, with their holders: for another node that
    /// opened the document and asks.
    pub fn held_on(&self, node: &str) -> Changed {
        self.matching(|state| state.held && &*state.holder.node == node)
    }

    fn matching(&self, wanted: impl Fn(&ClientState) -> bool) -> Changed {
        let mut found = Changed::default();
        for (client, state) in &self.clients {
            if let Some(json) = state.json.clone().filter(|_| wanted(state)) {
                let entry = AwarenessUpdateEntry {
                    clock: state.clock,
                    json,
                };
                found.add(*client, entry, &state.holder);
            }
        }
        found
    }

    /// Removes the states socket `peer` of `node` holds (it closed); the update that
    /// tells everyone.
    pub fn remove_socket(&mut self, node: &str, peer: PeerId) -> Changed {
        let mut removed = Changed::default();
        for (client, state) in &mut self.clients {
            if !(state.held && state.holder.is_socket(node, peer)) {
                continue;
            }
            state.clock += 1;
            state.json = None;
            state.held = false;
            let entry = AwarenessUpdateEntry {
                clock: state.clock,
                json: REMOVED.into(),
            };
            removed.add(*client, entry, &state.holder);
        }
        removed
    }
}

/// Whether `from` may take a client id from its current holder.
fn takes_over(state: &ClientState, from: &Holder, local: bool) -> bool {
    if state.holder.holding.user == from.holding.user {
        // The same user: most often a y-websocket client that reconnected (it keeps its
        // client id) before the server noticed its old socket was gone. The later
        // introduction wins, so every node agrees.
        return !state.held || from.key() > state.holder.key();
    }
    // Another user's: never from a socket here. Another node may have let its socket
    // introduce the id before hearing of ours; the earlier introduction wins everywhere.
    !local && from.key() < state.holder.key()
}

#[cfg(test)]
mod tests;
