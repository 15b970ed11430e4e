//! Who is typing in each chat room, with Matrix's semantics: a client says it is typing
//! on the room's channel, its node announces that on the bus with an expiry, and every
//! node keeps the same list and sends the room's local subscribers the whole current
//! list whenever it changes. A client that stops saying it is typing (or crashes) drops
//! out of the list when its expiry passes; nothing needs it to say goodbye.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tandem_domain::{RoomId, UserId};
use tandem_realtime::protocol::ephemeral_event;
use tandem_realtime::{Channel, Envelope};
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// The bus topic of typing announcements; no client can subscribe to it.
pub const TOPIC: &str = "internal:typing";

/// How often each node looks for expired typists.
const SWEEP: Duration = Duration::from_millis(250);

/// One user starting, going on or stopping typing in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub room_id: RoomId,
    pub user_id: UserId,
    /// Typing until then (set by the announcing node's clock), or stopped.
    pub until: Option<DateTime<Utc>>,
}

/// A room's typists, in the order they started, each with when their typing expires.
type Typists = Vec<(UserId, DateTime<Utc>)>;

/// The typists of every room with a typist.
#[derive(Debug, Clone, Default)]
pub struct Typing(Arc<Mutex<HashMap<RoomId, Typists>>>);

impl Typing {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Typists>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies an announcement; the room's new list if it changed (a typist going on
    /// only moves their expiry, which nobody needs to hear about).
    pub fn apply(&self, announcement: &Announcement, now: DateTime<Utc>) -> Option<Vec<UserId>> {
        let mut rooms = self.rooms();
        let typists = rooms.entry(announcement.room_id).or_default();
        let at = typists.iter().position(|(u, _)| *u == announcement.user_id);
        let changed = match (announcement.until.filter(|until| *until > now), at) {
            (Some(until), Some(at)) => {
                typists[at].1 = until;
                false
            }
            (Some(until), None) => {
                typists.push((announcement.user_id, until));
                true
            }
            (None, Some(at)) => {
                typists.remove(at);
                true
            }
            (None, None) => false,
        };
        let list = changed.then(|| typists.iter().map(|(u, _)| *u).collect());
        if typists.is_empty() {
            rooms.remove(&announcement.room_id);
        }
        list
    }

    /// Drops the typists whose time is up: each room whose list changed, with its list.
    pub fn expire(&self, now: DateTime<Utc>) -> Vec<(RoomId, Vec<UserId>)> {
        let mut rooms = self.rooms();
        let mut changed = Vec::new();
        rooms.retain(|room, typists| {
            let before = typists.len();
            typists.retain(|(_, until)| *until > now);
            if typists.len() != before {
                changed.push((*room, typists.iter().map(|(u, _)| *u).collect()));
            }
            !typists.is_empty()
        });
        changed
    }

    /// Who is typing in `room` now.
    pub fn typists(&self, room: RoomId) -> Vec<UserId> {
        self.rooms()
            .get(&room)
            .map(|typists| typists.iter().map(|(u, _)| *u).collect())
            .unwrap_or_default()
    }

    pub fn is_typing(&self, room: RoomId, user: UserId) -> bool {
        self.rooms()
            .get(&room)
            .is_some_and(|typists| typists.iter().any(|(u, _)| *u == user))
    }
}

/// The `typing` event with a room's whole list.
pub fn typing_frame(room: RoomId, typists: &[UserId], now: DateTime<Utc>) -> bytes::Bytes {
    let topic = Channel::Room(room).to_string();
    ephemeral_event(&topic, "typing", &json!({ "user_ids": typists }), None, now)
}

/// Tells every node that `user` is typing in `room` (for the configured time) or stopped.
pub async fn announce(
    state: &AppState,
    room_id: RoomId,
    user_id: UserId,
    typing: bool,
) -> anyhow::Result<()> {
    let ttl = chrono::Duration::from_std(state.realtime.config.typing_ttl)?;
    let announcement = Announcement {
        room_id,
        user_id,
        until: typing.then(|| state.clock.now() + ttl),
    };
    let payload = serde_json::to_vec(&announcement)?;
    state
        .realtime
        .bus
        .publish(Envelope::new(TOPIC, payload))
        .await
}

/// Sends a room's list to this node's subscribers of the room.
fn deliver(state: &AppState, room: RoomId, typists: &[UserId]) {
    let now = state.clock.now();
    let envelope = Envelope::new(
        Channel::Room(room).to_string(),
        typing_frame(room, typists, now),
    );
    state.realtime.hub.deliver(&envelope);
}

/// Keeps this node's lists from the bus's announcements, and expires typists, until the
/// realtime stop token is cancelled.
pub async fn listen(state: AppState) {
    let mut envelopes = state.realtime.bus.subscribe();
    let stop = state.realtime.stop.clone();
    let typing = state.realtime.typing.clone();
    let mut sweep = tokio::time::interval(SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = sweep.tick() => {
                for (room, typists) in typing.expire(state.clock.now()) {
                    deliver(&state, room, &typists);
                }
            }
            received = envelopes.recv() => match received {
                Ok(envelope) if &*envelope.topic == TOPIC => {
                    match serde_json::from_slice::<Announcement>(&envelope.payload) {
                        Ok(announcement) => {
                            let room = announcement.room_id;
                            if let Some(typists) = typing.apply(&announcement, state.clock.now()) {
                                deliver(&state, room, &typists);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "ignored a malformed typing announcement");
                        }
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the typing listener fell behind; lists may be stale until they expire");
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn said(room: RoomId, user: UserId, until: Option<i64>) -> Announcement {
        Announcement {
            room_id: room,
            user_id: user,
            until: until.map(at),
        }
    }

    #[test]
    fn lists_change_on_start_and_stop_but_not_on_repeats() {
        let typing = Typing::default();
        let room = RoomId(uuid::Uuid::now_v7());
        let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        assert_eq!(
            typing.apply(&said(room, ann, Some(6)), at(0)),
            Some(vec![ann])
        );
        assert_eq!(
            typing.apply(&said(room, bob, Some(7)), at(1)),
            Some(vec![ann, bob])
        );
        assert_eq!(
            typing.apply(&said(room, ann, Some(9)), at(3)),
            None,
            "a repeat"
        );
        assert_eq!(typing.apply(&said(room, bob, None), at(4)), Some(vec![ann]));
        assert_eq!(
            typing.apply(&said(room, bob, None), at(4)),
            None,
            "already stopped"
        );
        assert_eq!(
            typing.apply(&said(room, bob, Some(2)), at(4)),
            None,
            "an announcement that arrives after its expiry starts nothing"
        );
        assert!(typing.is_typing(room, ann));
        assert_eq!(typing.typists(room), vec![ann]);
    }

    #[test]
    fn typists_expire_unless_they_repeat() {
        let typing = Typing::default();
        let (first, second) = (RoomId(uuid::Uuid::now_v7()), RoomId(uuid::Uuid::now_v7()));
        let (ann, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        typing.apply(&said(first, ann, Some(6)), at(0));
        typing.apply(&said(first, bob, Some(6)), at(0));
        typing.apply(&said(second, bob, Some(6)), at(0));
        typing.apply(&said(first, ann, Some(10)), at(5));
        assert!(typing.expire(at(5)).is_empty());
        let mut expired = typing.expire(at(6));
        expired.sort();
        let mut expected = vec![(first, vec![ann]), (second, vec![])];
        expected.sort();
        assert_eq!(expired, expected);
        assert_eq!(typing.expire(at(10)), vec![(first, vec![])]);
        assert!(typing.typists(first).is_empty());
        assert!(typing.expire(at(11)).is_empty(), "nothing left to expire");
    }
}
