//! Who is on a document and where (the y-protocols awareness states): each client's
//! latest state by its clock. A plain map rather than yrs's `Awareness`, which also owns
//! the document and keeps the states in a sharded concurrent map: about 1.2 KiB for
//! every open document, for locking the document's own lock already does.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use yrs::ClientID;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};

/// The state a removed client is sent with.
const REMOVED: &str = "null";

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
}

impl AwarenessStates {
    /// Applies an update as y-protocols does: a higher clock wins, and a removal at the
    /// same clock removes.
    pub fn apply(&mut self, update: &AwarenessUpdate) {
        for (client, entry) in &update.clients {
            let json = (&*entry.json != REMOVED).then(|| entry.json.clone());
            match self.clients.entry(*client) {
                Entry::Occupied(mut held) => {
                    let held = held.get_mut();
                    let removal = held.clock == entry.clock && json.is_none();
                    if held.clock < entry.clock || removal {
                        held.clock = entry.clock;
                        held.json = json;
                    }
                }
                Entry::Vacant(slot) => {
                    slot.insert(ClientState {
                        clock: entry.clock,
                        json,
                    });
                }
            }
        }
    }

    /// Every client's state, for a peer that joins or asks.
    pub fn all(&self) -> AwarenessUpdate {
        let clients = self
            .clients
            .iter()
            .filter_map(|(client, state)| {
                let json = state.json.clone()?;
                Some((
                    *client,
                    AwarenessUpdateEntry {
                        clock: state.clock,
                        json,
                    },
                ))
            })
            .collect();
        AwarenessUpdate { clients }
    }

    /// Removes the states of `clients` (a peer that left); the update that tells everyone.
    pub fn remove(&mut self, clients: impl IntoIterator<Item = ClientID>) -> AwarenessUpdate {
        let mut removed = HashMap::new();
        for client in clients {
            let state = self.clients.entry(client).or_insert(ClientState {
                clock: 0,
                json: None,
            });
            state.clock += 1;
            state.json = None;
            removed.insert(
                client,
                AwarenessUpdateEntry {
                    clock: state.clock,
                    json: REMOVED.into(),
                },
            );
        }
        AwarenessUpdate { clients: removed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
        let entry = AwarenessUpdateEntry {
            clock,
            json: json.into(),
        };
        AwarenessUpdate {
            clients: HashMap::from([(ClientID::new(client), entry)]),
        }
    }

    fn states(awareness: &AwarenessStates) -> Vec<(u64, u32, String)> {
        let mut all: Vec<_> = awareness
            .all()
            .clients
            .into_iter()
            .map(|(client, entry)| (client.get(), entry.clock, entry.json.to_string()))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn newer_clocks_win_and_stale_updates_are_ignored() {
        let mut awareness = AwarenessStates::default();
        awareness.apply(&update(1, 1, r#"{"a":1}"#));
        awareness.apply(&update(1, 3, r#"{"a":3}"#));
        awareness.apply(&update(1, 2, r#"{"a":2}"#));
        awareness.apply(&update(2, 1, r#"{"b":1}"#));
        assert_eq!(
            states(&awareness),
            vec![(1, 3, r#"{"a":3}"#.into()), (2, 1, r#"{"b":1}"#.into())]
        );
    }

    #[test]
    fn a_removal_at_the_same_clock_removes_and_an_older_state_cannot_return() {
        let mut awareness = AwarenessStates::default();
        awareness.apply(&update(1, 4, r#"{"a":4}"#));
        awareness.apply(&update(1, 4, "null"));
        assert!(states(&awareness).is_empty());
        awareness.apply(&update(1, 4, r#"{"a":4}"#));
        assert!(
            states(&awareness).is_empty(),
            "a late copy of the old state"
        );
        awareness.apply(&update(1, 5, r#"{"a":5}"#));
        assert_eq!(states(&awareness), vec![(1, 5, r#"{"a":5}"#.into())]);
    }

    #[test]
    fn removing_a_peer_bumps_its_clients_clocks() {
        let mut awareness = AwarenessStates::default();
        awareness.apply(&update(7, 2, r#"{"c":1}"#));
        let removal = awareness.remove([ClientID::new(7)]);
        let entry = &removal.clients[&ClientID::new(7)];
        assert_eq!((entry.clock, &*entry.json), (3, "null"));
        assert!(states(&awareness).is_empty());
        // Another node applying the removal drops the state too.
        let mut elsewhere = AwarenessStates::default();
        elsewhere.apply(&update(7, 2, r#"{"c":1}"#));
        elsewhere.apply(&removal);
        assert!(states(&elsewhere).is_empty());
    }
}
