//! Access changes that must reach live sockets on every node: a member removed or given
//! another role, sessions revoked, a chat room left, made private or deleted. They travel
//! on the bus under one internal topic, and each node's hub delivery task hands each to the
//! matching connections through the registry, after the events that came before it. A
//! session revocation also evicts the session from every node's `SessionCache`, so REST
//! refuses its tokens everywhere as soon as sockets close.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tandem_domain::{ProjectId, Role, RoomId, SessionId, UserId};
use tandem_realtime::{ConnectionId, Envelope, mailbox};

use crate::state::AppState;

/// The bus topic of control messages; no client can subscribe to it.
pub const TOPIC: &str = "internal:control";

/// An access change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Control {
    MemberRemoved {
        project_id: ProjectId,
        user_id: UserId,
    },
    RoleChanged {
        project_id: ProjectId,
        user_id: UserId,
        role: Role,
    },
    /// One session revoked (logout, deleted, refresh-token reuse).
    SessionRevoked { session_id: SessionId },
    /// Every session of a user but `except` revoked (password change).
    OtherSessionsRevoked { user_id: UserId, except: SessionId },
    /// Who may read a chat room changed: `user_id` left it, or (`None`) anyone may have
    /// lost it. Sockets subscribed to the room check again.
    RoomAccessChanged {
        room_id: RoomId,
        user_id: Option<UserId>,
    },
}

/// Who a connection belongs to, and where its control messages go.
#[derive(Debug)]
struct Entry {
    user_id: UserId,
    session_id: SessionId,
    control: mailbox::Sender<Control>,
}

/// The node's live connections, by id.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<HashMap<ConnectionId, Entry>>>);

impl Registry {
    pub fn register(
        &self,
        connection: ConnectionId,
        user_id: UserId,
        session_id: SessionId,
    ) -> mailbox::Receiver<Control> {
        let (control, receiver) = mailbox::mailbox();
        let entry = Entry {
            user_id,
            session_id,
            control,
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection, entry);
        receiver
    }

    pub fn deregister(&self, connection: ConnectionId) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&connection);
    }

    /// Hands `control` to the connections it concerns on this node.
    fn dispatch(&self, control: &Control) {
        let entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for entry in entries.values() {
            let concerned = match control {
                Control::MemberRemoved { user_id, .. } | Control::RoleChanged { user_id, .. } => {
                    entry.user_id == *user_id
                }
                Control::SessionRevoked { session_id } => entry.session_id == *session_id,
                Control::OtherSessionsRevoked { user_id, except } => {
                    entry.user_id == *user_id && entry.session_id != *except
                }
                Control::RoomAccessChanged { user_id, .. } => {
                    user_id.is_none_or(|user_id| entry.user_id == user_id)
                }
            };
            if concerned {
                let _ = entry.control.send(control.clone());
            }
        }
    }
}

/// Publishes an access change to every node. Failing to reach the bus is logged: the
/// change itself is committed, and sockets re-check access when they resubscribe.
pub async fn announce(state: &AppState, control: Control) {
    let payload = match serde_json::to_vec(&control) {
        Ok(payload) => payload,
        Err(error) => return tracing::error!(error = %error, "cannot encode a control message"),
    };
    if let Err(error) = state
        .realtime
        .bus
        .publish(Envelope::new(TOPIC, payload))
        .await
    {
        tracing::error!(error = ?error, "cannot announce an access change to live sockets");
    }
}

/// Hands a control message from the bus to this node's sockets. Called by the hub's
/// delivery task after it has delivered the envelope, so a socket sees every event
/// published before an access change before the change can end its subscription.
pub fn dispatch(state: &AppState, envelope: &Envelope) {
    if &*envelope.topic != TOPIC {
        return;
    }
    match serde_json::from_slice::<Control>(&envelope.payload) {
        Ok(control) => {
            evict_sessions(state, &control);
            state.realtime.registry.dispatch(&control);
        }
        Err(error) => tracing::warn!(error = %error, "ignored a malformed control message"),
    }
}

/// Drops revoked sessions from this node's cache. The node that revoked them did so
/// already; every other node would otherwise accept their access tokens over REST until
/// its cache entry expired.
fn evict_sessions(state: &AppState, control: &Control) {
    match control {
        Control::SessionRevoked { session_id } => state.sessions.evict(*session_id),
        Control::OtherSessionsRevoked { user_id, except } => {
            state.sessions.evict_user(*user_id, *except);
        }
        Control::MemberRemoved { .. }
        | Control::RoleChanged { .. }
        | Control::RoomAccessChanged { .. } => {}
    }
}
