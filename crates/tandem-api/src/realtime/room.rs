//! A connection's part in chat rooms: posting and saying it is typing with `publish` on
//! `room:{id}` (the same checks and limits as over REST), and checking a room
//! subscription again when who may read the room changes.

use serde::Deserialize;
use serde_json::Value;
use tandem_domain::{Action, RoomId};
use tandem_realtime::Channel;
use tandem_realtime::protocol::ServerFrame;

use super::authorize::{Refusal, authorize};
use super::session::Session;
use super::typing;
use crate::chat::access::RoomAccess;
use crate::chat::dto::{MessageView, PostMessageRequest};
use crate::chat::messages;
use crate::error::ApiError;
use crate::extract::Actor;

impl Session {
    /// `publish` on a room: `message` posts `{body, reply_to?, client_id?}` and is
    /// acknowledged with the message; `typing` (`{typing: bool}`, default true) starts,
    /// renews or ends the caller's typing there.
    pub(super) async fn publish_in_room(
        &mut self,
        room: RoomId,
        event: &str,
        data: &Value,
        reference: Option<&str>,
    ) {
        match event {
            "message" => self.post(room, data, reference).await,
            "typing" => self.type_in(room, data, reference).await,
            _ => self.error(
                reference,
                "invalid_event",
                "publish message or typing on a room",
            ),
        }
    }

    async fn room_access(&self, room: RoomId) -> Result<RoomAccess, ApiError> {
        let actor = Actor {
            user_id: self.user.user_id,
            request_id: None,
        };
        RoomAccess::load(&self.state, actor, room).await
    }

    async fn post(&mut self, room: RoomId, data: &Value, reference: Option<&str>) {
        let request = match PostMessageRequest::deserialize(data) {
            Ok(request) => request,
            Err(error) => {
                let message = format!("a message is {{body, reply_to?, client_id?}}: {error}");
                return self.error(reference, "invalid_data", &message);
            }
        };
        let posted = match self.room_access(room).await {
            Ok(access) => messages::post(&self.state, &access, request).await,
            Err(error) => Err(error),
        };
        match posted {
            Ok(posted) => {
                let view = MessageView::from(posted.message().clone());
                let data = serde_json::to_value(view).unwrap_or_default();
                let ack = ServerFrame::Ack {
                    reference,
                    data: Some(&data),
                };
                self.send(ack.to_bytes());
            }
            Err(error) => self.api_error(reference, &error),
        }
    }

    async fn type_in(&mut self, room: RoomId, data: &Value, reference: Option<&str>) {
        let typing = match data {
            Value::Null => true,
            Value::Object(fields) if fields.keys().all(|k| k == "typing") => {
                match fields.get("typing") {
                    None => true,
                    Some(Value::Bool(typing)) => *typing,
                    Some(_) => {
                        return self.error(reference, "invalid_data", "typing is true or false");
                    }
                }
            }
            _ => return self.error(reference, "invalid_data", "typing data is {typing: bool}"),
        };
        if self.publishes.check().is_err() {
            return self.error(reference, "rate_limited", "too many publishes; slow down");
        }
        if let Err(error) = self
            .room_access(room)
            .await
            .and_then(|access| access.require_post().map(|_| ()))
        {
            return self.api_error(reference, &error);
        }
        match typing::announce(&self.state, room, self.user.user_id, typing).await {
            Ok(()) => {
                if typing {
                    self.typing_in.insert(room);
                } else {
                    self.typing_in.remove(&room);
                }
                self.send(
                    ServerFrame::Ack {
                        reference,
                        data: None,
                    }
                    .to_bytes(),
                );
            }
            Err(error) => {
                tracing::warn!(error = ?error, "announcing typing failed");
                self.error(reference, "service_unavailable", "could not publish; retry");
            }
        }
    }

    /// Ends the caller's typing in `room` if this connection started it (the socket
    /// left the room or closed).
    pub(super) async fn stop_typing(&mut self, room: RoomId) {
        if self.typing_in.remove(&room)
            && self
                .state
                .realtime
                .typing
                .is_typing(room, self.user.user_id)
            && let Err(error) = typing::announce(&self.state, room, self.user.user_id, false).await
        {
            tracing::warn!(error = ?error, "ending a typing failed; it expires by itself");
        }
    }

    /// Checks a room subscription again after who may read the room changed; ends it
    /// (`unsubscribed`, reason `access_revoked`) if the caller may no longer read it.
    pub(super) async fn recheck_room(&mut self, room: RoomId) {
        let channel = Channel::Room(room);
        let topic = channel.to_string();
        if !self.subscriptions.contains_key(&topic) {
            return;
        }
        let refusal = authorize(&self.state, self.user.user_id, channel, Action::ReadProject)
            .await
            .err();
        match refusal {
            None | Some(Refusal::Unavailable) => {}
            Some(Refusal::NotFound | Refusal::Forbidden) => {
                self.end_subscription(&topic).await;
                self.send(
                    ServerFrame::Unsubscribed {
                        channel: &topic,
                        reason: "access_revoked",
                    }
                    .to_bytes(),
                );
            }
        }
    }

    /// Reports a failed request as an `error` frame with the REST API's code.
    fn api_error(&self, reference: Option<&str>, error: &ApiError) {
        if let ApiError::Internal(cause) = error {
            tracing::error!(error = ?cause, "a realtime request failed");
        }
        self.error(reference, error.code(), &error.detail());
    }
}
