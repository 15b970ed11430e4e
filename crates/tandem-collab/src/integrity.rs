//! Whether a peer's Yjs update integrates whole into a document, as stock Yjs clients
//! would integrate it. An update that does not (structs that start past what the document
//! holds of their client, items that refer to unknown items, deletions of unknown items)
//! is refused before it is stored or relayed.
//!
//! Why a check of our own: Yjs keeps such structs pending, invisible until what they
//! lack arrives, but yrs integrates a struct that starts past its client's clock behind a
//! placeholder when it has no missing references. The server's text (REST, versions,
//! restores, jobs) would then show content every y-websocket client hides, for good.
//! yrs keeps an update's structs private, so this module reads the ids it needs from the
//! update's bytes with yrs's own decoder and content parser, and follows yrs's
//! integration order (each client's structs in clock order, switching to the client a
//! struct waits on) over ids alone. Property tests below hold it to yrs on real editing.

use std::collections::HashMap;

use yrs::block::{
    BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN,
    ItemContent,
};
use yrs::encoding::read::{Error as ReadError, Read};
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::{ClientID, ID, IdSet, StateVector};

/// Why an update does not integrate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unintegrable {
    #[error("not a Yjs update: {0}")]
    Malformed(String),
    #[error("client {client} starts at clock {clock}, but the document holds only {known}")]
    Gap { client: u64, clock: u32, known: u32 },
    #[error("a struct of client {client} refers to unknown item {missing_client}:{missing_clock}")]
    MissingReference {
        client: u64,
        missing_client: u64,
        missing_clock: u32,
    },
    #[error("deletes {clock}..{end} of client {client}, but the document holds only {known}")]
    UnknownDeletion {
        client: u64,
        clock: u32,
        end: u32,
        known: u32,
    },
}

/// One struct of an update, as ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    clock: u32,
    len: u32,
    /// A placeholder for structs the update does not carry.
    skip: bool,
    /// The items an item refers to: left origin, right origin, parent (held inline: a
    /// keystroke's update is checked without allocating for them).
    refers_to: [Option<ID>; 3],
}

/// An update read as ids: each client's structs in clock order, and what it deletes.
#[derive(Debug, Default)]
pub struct UpdateShape {
    clients: Vec<(ClientID, Vec<Shape>)>,
    deletes: IdSet,
}

impl UpdateShape {
    /// Reads a v1-encoded update, as `yrs::Update::decode_v1` reads it.
    pub fn read(update: &[u8]) -> Result<Self, Unintegrable> {
        Self::decode(update).map_err(|error| Unintegrable::Malformed(error.to_string()))
    }

    fn decode(update: &[u8]) -> Result<Self, ReadError> {
        let mut decoder = DecoderV1::from(update);
        let clients_len: u32 = decoder.read_var()?;
        let mut clients = Vec::new();
        for _ in 0..clients_len {
            let structs: u32 = decoder.read_var()?;
            let client = decoder.read_client()?;
            let mut clock: u32 = decoder.read_var()?;
            // Bounded by what is left to read: each struct takes at least a byte.
            let mut shapes = Vec::with_capacity((structs as usize).min(update.len()));
            for _ in 0..structs {
                let Some(shape) = read_struct(&mut decoder, clock)? else {
                    continue;
                };
                clock = clock
                    .checked_add(shape.len)
                    .ok_or(ReadError::UnexpectedValue)?;
                shapes.push(shape);
            }
            clients.push((client, shapes));
        }
        let deletes = IdSet::decode(&mut decoder)?;
        Ok(Self { clients, deletes })
    }

    /// Checks that the update integrates whole into a document holding `known`; if it
    /// does, `known` then includes it (a later update may build on it).
    pub fn integrate_into(&self, known: &mut StateVector) -> Result<(), Unintegrable> {
        if self.builds_only_on(known) {
            for (client, shapes) in &self.clients {
                if let Some(end) = shapes
                    .iter()
                    .filter(|s| !s.skip)
                    .map(|s| s.clock + s.len)
                    .max()
                    && end > known.get(client)
                {
                    known.set_max(*client, end);
                }
            }
            return Ok(());
        }
        self.follow(known)
    }

    /// Whether every struct builds only on what the document holds and on its own
    /// client's earlier structs here, and every deletion is of items held: a client's
    /// edit (nearly every update) passes this without following the integration order.
    fn builds_only_on(&self, known: &StateVector) -> bool {
        let structs_build = self.clients.iter().all(|(client, shapes)| {
            let mut clock = known.get(client);
            shapes.iter().all(|shape| {
                if shape.skip {
                    return true;
                }
                let fits = shape.clock <= clock
                    && shape.refers_to.iter().flatten().all(|id| {
                        let held = if id.client == *client {
                            clock
                        } else {
                            known.get(&id.client)
                        };
                        id.clock < held
                    });
                clock = clock.max(shape.clock + shape.len);
                fits
            })
        });
        structs_build
            && self.deletes.iter().all(|(client, ranges)| {
                let own_end = self
                    .clients
                    .iter()
                    .filter(|(c, _)| c == client)
                    .flat_map(|(_, shapes)| shapes.iter().filter(|s| !s.skip))
                    .map(|s| s.clock + s.len)
                    .max()
                    .unwrap_or(0);
                let held = known.get(client).max(own_end);
                ranges.iter().all(|range| range.end <= held)
            })
    }

    /// Follows yrs's integration order over ids: each client's structs in clock order,
    /// switching to the client a struct waits on.
    fn follow(&self, known: &mut StateVector) -> Result<(), Unintegrable> {
        let mut state = Integration {
            known,
            added: HashMap::new(),
        };
        let mut queues: HashMap<ClientID, std::slice::Iter<'_, Shape>> = self
            .clients
            .iter()
            .map(|(client, shapes)| (*client, shapes.iter()))
            .collect();
        let mut heads: HashMap<ClientID, &Shape> = HashMap::new();
        for (client, _) in &self.clients {
            // Each client's structs in clock order; a struct that waits on another
            // client's item goes on only once that client has integrated up to it.
            let mut stack = vec![*client];
            while let Some(&top) = stack.last() {
                let head = match heads.remove(&top) {
                    Some(head) => Some(head),
                    None => queues.get_mut(&top).and_then(Iterator::next),
                };
                let Some(head) = head else {
                    stack.pop();
                    continue;
                };
                match state.waits_on(top, head)? {
                    None => {
                        state.integrate(top, head);
                        // What waited on this client may go on now.
                        if stack.len() > 1 {
                            stack.pop();
                        }
                    }
                    Some(missing) => {
                        heads.insert(top, head);
                        let can_come = missing.client != top
                            && !stack.contains(&missing.client)
                            && (heads.contains_key(&missing.client)
                                || queues
                                    .get(&missing.client)
                                    .is_some_and(|rest| rest.len() > 0));
                        if !can_come {
                            return Err(Unintegrable::MissingReference {
                                client: top.get(),
                                missing_client: missing.client.get(),
                                missing_clock: missing.clock,
                            });
                        }
                        stack.push(missing.client);
                    }
                }
            }
        }
        for (client, ranges) in self.deletes.iter() {
            let have = state.clock(*client);
            if let Some(range) = ranges.iter().find(|range| range.end > have) {
                return Err(Unintegrable::UnknownDeletion {
                    client: client.get(),
                    clock: range.start,
                    end: range.end,
                    known: have,
                });
            }
        }
        for (client, clock) in state.added {
            known.set_max(client, clock);
        }
        Ok(())
    }
}

/// The clocks while an update is being followed: the document's, and what the update
/// has added so far (applied to the document's only if the whole update integrates).
struct Integration<'a> {
    known: &'a StateVector,
    added: HashMap<ClientID, u32>,
}

impl Integration<'_> {
    fn clock(&self, client: ClientID) -> u32 {
        self.added
            .get(&client)
            .copied()
            .unwrap_or_else(|| self.known.get(&client))
    }

    /// The item `shape` (of `client`) waits on, if any; an error if it can never
    /// integrate (it starts past its client's clock).
    fn waits_on(&self, client: ClientID, shape: &Shape) -> Result<Option<ID>, Unintegrable> {
        if shape.skip {
            return Ok(None);
        }
        let known = self.clock(client);
        if shape.clock > known {
            return Err(Unintegrable::Gap {
                client: client.get(),
                clock: shape.clock,
                known,
            });
        }
        Ok(shape
            .refers_to
            .iter()
            .flatten()
            .find(|id| id.clock >= self.clock(id.client))
            .copied())
    }

    fn integrate(&mut self, client: ClientID, shape: &Shape) {
        if shape.skip {
            return;
        }
        let end = shape.clock + shape.len;
        if end > self.clock(client) {
            self.added.insert(client, end);
        }
    }
}

/// One struct at `clock`; `None` for an empty one (yrs drops those without moving the
/// clock).
fn read_struct(decoder: &mut DecoderV1<'_>, clock: u32) -> Result<Option<Shape>, ReadError> {
    let info = decoder.read_info()?;
    let placeholder = |len: u32, skip: bool| Shape {
        clock,
        len,
        skip,
        refers_to: [None; 3],
    };
    match info {
        BLOCK_SKIP_REF_NUMBER => {
            let len: u32 = decoder.read_var()?;
            Ok((len > 0).then(|| placeholder(len, true)))
        }
        BLOCK_GC_REF_NUMBER => {
            let len = decoder.read_len()?;
            Ok((len > 0).then(|| placeholder(len, false)))
        }
        info => {
            let mut refers_to = [None; 3];
            if info & HAS_ORIGIN != 0 {
                refers_to[0] = Some(decoder.read_left_id()?);
            }
            if info & HAS_RIGHT_ORIGIN != 0 {
                refers_to[1] = Some(decoder.read_right_id()?);
            }
            let parent_written = info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0;
            if parent_written {
                if decoder.read_parent_info()? {
                    decoder.read_string()?;
                } else {
                    refers_to[2] = Some(decoder.read_left_id()?);
                }
                if info & HAS_PARENT_SUB != 0 {
                    decoder.read_string()?;
                }
            }
            let len = ItemContent::decode(decoder, info)?.len_utf16();
            Ok((len > 0).then_some(Shape {
                clock,
                len,
                skip: false,
                refers_to,
            }))
        }
    }
}

#[cfg(test)]
mod tests;
