//! One authenticated connection's state and its answers to client frames: subscribe
//! (with replay and presence), unsubscribe, publish, presence updates, ping, and the
//! access changes pushed to it.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use governor::DefaultDirectRateLimiter;
use serde_json::Value;
use tandem_domain::{Action, RoomId};
use tandem_realtime::presence::state_frame;
use tandem_realtime::protocol::{
    ClientFrame, ServerFrame, check_meta, ephemeral_event, is_ephemeral_event,
};
use tandem_realtime::{Channel, ConnectionId, Envelope, Outbox, Replay};

use super::authorize::{Standing, authorize};
use super::control::Control;
use crate::extract::AuthUser;
use crate::state::AppState;

/// What one authenticated connection knows about itself.
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) user: AuthUser,
    /// The user's display name, as their presence shows it.
    pub(super) name: String,
    pub(super) connection: ConnectionId,
    pub(super) outbox: Outbox,
    /// Subscribed topics, with the caller's standing there.
    pub(super) subscriptions: HashMap<String, Standing>,
    pub(super) publishes: DefaultDirectRateLimiter,
    /// Rooms where this connection said its user is typing.
    pub(super) typing_in: HashSet<RoomId>,
}

impl Session {
    pub(super) fn send(&self, frame: Bytes) {
        self.outbox.push(frame);
    }

    pub(super) fn error(&self, reference: Option<&str>, code: &str, message: &str) {
        self.send(
            ServerFrame::Error {
                reference,
                code,
                message,
            }
            .to_bytes(),
        );
    }

    fn ack(&self, reference: Option<&str>) {
        self.send(
            ServerFrame::Ack {
                reference,
                data: None,
            }
            .to_bytes(),
        );
    }

    /// Ends a subscription: no more deliveries, and the caller's presence there leaves.
    pub(super) async fn end_subscription(&mut self, topic: &str) {
        if self.subscriptions.remove(topic).is_none() {
            return;
        }
        let realtime = &self.state.realtime;
        realtime.hub.unsubscribe(topic, self.connection);
        let channel = topic.parse().ok();
        if channel.as_ref().is_some_and(has_presence) {
            realtime.presence.leave(topic, self.connection).await;
        }
        if let Some(Channel::Room(room)) = channel {
            self.stop_typing(room).await;
        }
    }

    /// Ends every subscription, as the socket closes.
    pub(super) async fn end_all(&mut self) {
        let topics: Vec<String> = self.subscriptions.keys().cloned().collect();
        for topic in topics {
            self.end_subscription(&topic).await;
        }
    }

    /// Applies an access change; false when the socket must close (its session is gone).
    pub(super) async fn apply(&mut self, change: Control) -> bool {
        match change {
            Control::SessionRevoked { .. } | Control::OtherSessionsRevoked { .. } => false,
            Control::MemberRemoved { project_id, .. } => {
                let lost: Vec<String> = self
                    .subscriptions
                    .iter()
                    .filter(|(_, standing)| standing.project == Some(project_id))
                    .map(|(topic, _)| topic.clone())
                    .collect();
                for topic in lost {
                    self.end_subscription(&topic).await;
                    let reason = "membership_removed";
                    self.send(
                        ServerFrame::Unsubscribed {
                            channel: &topic,
                            reason,
                        }
                        .to_bytes(),
                    );
                }
                true
            }
            Control::RoomAccessChanged { room_id, .. } => {
                self.recheck_room(room_id).await;
                true
            }
            Control::RoleChanged {
                project_id, role, ..
            } => {
                for standing in self.subscriptions.values_mut() {
                    if standing.project == Some(project_id) {
                        standing.role = Some(role);
                    }
                }
                true
            }
        }
    }

    pub(super) async fn handle(&mut self, text: &str) {
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(e) => return self.error(e.reference.as_deref(), e.code, &e.message),
        };
        match frame {
            ClientFrame::Auth { reference, .. } => {
                self.error(
                    reference.as_deref(),
                    "already_authenticated",
                    "this socket is authenticated",
                );
            }
            ClientFrame::Ping { reference } => self.ack(reference.as_deref()),
            ClientFrame::Subscribe {
                channel,
                since,
                meta,
                reference,
            } => {
                let meta = meta.unwrap_or(Value::Null);
                self.subscribe(&channel, since, meta, reference.as_deref())
                    .await;
            }
            ClientFrame::Unsubscribe { channel, reference } => {
                self.end_subscription(&channel).await;
                self.ack(reference.as_deref());
            }
            ClientFrame::PresenceUpdate {
                channel,
                meta,
                reference,
            } => {
                self.update_presence(&channel, meta, reference.as_deref())
                    .await
            }
            ClientFrame::Publish {
                channel,
                event,
                data,
                reference,
            } => {
                self.publish(&channel, &event, &data, reference.as_deref())
                    .await;
            }
        }
    }

    async fn subscribe(
        &mut self,
        name: &str,
        since: Option<u64>,
        meta: Value,
        reference: Option<&str>,
    ) {
        let channel: Channel = match name.parse() {
            Ok(channel) => channel,
            Err(e) => return self.error(reference, e.code(), &e.to_string()),
        };
        if let Err(message) = check_meta(&meta) {
            return self.error(reference, "invalid_meta", message);
        }
        let topic = channel.to_string();
        if self.subscriptions.contains_key(&topic) {
            return self.ack(reference);
        }
        let action = match channel {
            Channel::Workspace(_) => Action::ReadWorkspace,
            Channel::Table(_) => Action::ReadTables,
            _ => Action::ReadProject,
        };
        let standing = match authorize(&self.state, self.user.user_id, channel, action).await {
            Ok(standing) => standing,
            Err(refusal) => {
                return self.error(
                    reference,
                    refusal.code(),
                    "you cannot subscribe to this channel",
                );
            }
        };
        let realtime = &self.state.realtime;
        let subscription =
            realtime
                .hub
                .subscribe(&topic, self.connection, self.outbox.clone(), true);
        let mut frames = vec![
            ServerFrame::Ack {
                reference,
                data: None,
            }
            .to_bytes(),
        ];
        let mut replayed_to = 0;
        if let Some(since) = since {
            match realtime
                .history
                .since(&topic, since, self.state.clock.now())
                .await
            {
                Ok(Replay::Events(events)) => {
                    replayed_to = events.last().map_or(since, |e| e.seq);
                    frames.extend(events.into_iter().map(|e| e.frame));
                }
                Ok(Replay::Resync) => {
                    frames.push(ServerFrame::Resync { channel: &topic }.to_bytes());
                }
                Err(error) => {
                    tracing::error!(error = ?error, "reading channel history failed");
                    realtime.hub.unsubscribe(&topic, self.connection);
                    return self.error(
                        reference,
                        "service_unavailable",
                        "history is unavailable; retry",
                    );
                }
            }
        }
        if has_presence(&channel) {
            let entry =
                realtime
                    .presence
                    .entry(self.connection, self.user.user_id, &self.name, meta);
            let members = realtime.presence.join(&topic, entry).await;
            frames.push(state_frame(&topic, &members));
        }
        subscription.go_live(frames, replayed_to);
        self.subscriptions.insert(topic, standing);
    }

    async fn update_presence(&mut self, name: &str, meta: Value, reference: Option<&str>) {
        let tracked = name.parse().is_ok_and(|channel| has_presence(&channel));
        if !tracked || !self.subscriptions.contains_key(name) {
            return self.error(
                reference,
                "not_subscribed",
                "subscribe to this project, workspace, room or table channel first",
            );
        }
        if let Err(message) = check_meta(&meta) {
            return self.error(reference, "invalid_meta", message);
        }
        self.state
            .realtime
            .presence
            .update(name, self.connection, meta)
            .await;
        self.ack(reference);
    }

    async fn publish(&mut self, name: &str, event: &str, data: &Value, reference: Option<&str>) {
        let channel: Channel = match name.parse() {
            Ok(channel @ (Channel::Workspace(_) | Channel::Table(_))) => channel,
            Ok(Channel::Room(room)) => {
                return self.publish_in_room(room, event, data, reference).await;
            }
            Ok(_) => {
                return self.error(
                    reference,
                    "invalid_channel",
                    "publish on workspace, table or room channels",
                );
            }
            Err(e) => return self.error(reference, e.code(), &e.to_string()),
        };
        if !is_ephemeral_event(event) {
            return self.error(
                reference,
                "invalid_event",
                "publish cursor, selection, typing, cell.focus or client.*",
            );
        }
        let topic = channel.to_string();
        let allowed = match self.subscriptions.get(&topic).and_then(|s| s.role) {
            Some(role) => tandem_domain::allows(role, Action::PublishEphemeral),
            _ => authorize(
                &self.state,
                self.user.user_id,
                channel,
                Action::PublishEphemeral,
            )
            .await
            .is_ok(),
        };
        if !allowed {
            return self.error(
                reference,
                "forbidden",
                "your role does not allow publishing here",
            );
        }
        if self.publishes.check().is_err() {
            return self.error(reference, "rate_limited", "too many publishes; slow down");
        }
        let realtime = &self.state.realtime;
        let actor = self.user.user_id.to_string();
        let frame = ephemeral_event(&topic, event, data, Some(&actor), self.state.clock.now());
        let envelope = Envelope {
            origin: Some(realtime.hub.origin(self.connection)),
            ..Envelope::new(topic, frame)
        };
        match realtime.bus.publish(envelope).await {
            Ok(()) => self.ack(reference),
            Err(error) => {
                tracing::warn!(error = ?error, "publishing an ephemeral event failed");
                self.error(reference, "service_unavailable", "could not publish; retry");
            }
        }
    }
}

/// Project, workspace, room and table channels show who is there; a user channel has one
/// reader.
fn has_presence(channel: &Channel) -> bool {
    matches!(
        channel,
        Channel::Project(_) | Channel::Workspace(_) | Channel::Room(_) | Channel::Table(_)
    )
}
