//! A connection's part in chat rooms: posting, editing, deleting, reacting, reading and
//! saying it is typing with `publish` on `room:{id}` (through the REST handlers' own
//! functions, so the same checks, limits and events), and checking a room subscription
//! again when who may read the room changes.

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::{Action, MessageId, RoomId};
use tandem_realtime::Channel;
use tandem_realtime::protocol::ServerFrame;
use uuid::Uuid;

use super::authorize::{Refusal, authorize};
use super::session::Session;
use super::typing;
use crate::chat::access::RoomAccess;
use crate::chat::dto::{MessageView, PostMessageRequest, RoomView};
use crate::chat::messages::{self, MessageAccess};
use crate::chat::social;
use crate::error::ApiError;
use crate::extract::Actor;

/// `edit` data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    message_id: Uuid,
    body: String,
}

/// `delete` data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Delete {
    message_id: Uuid,
}

/// `react` data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct React {
    message_id: Uuid,
    emoji: String,
}

/// `read` data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Read {
    seq: u64,
}

/// `data` as `T`, or an `invalid_data` message naming the shape expected.
fn parse<T: DeserializeOwned>(data: &Value, shape: &str) -> Result<T, ApiError> {
    T::deserialize(data).map_err(|error| {
        ApiError::client(
            StatusCode::BAD_REQUEST,
            "invalid_data",
            format!("expected {shape}: {error}"),
        )
    })
}

fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl Session {
    /// `publish` on a room, each answered by `ack` with what it made as `data`, or by
    /// the REST API's error: `message` posts `{body, reply_to?, client_id?}`; `edit`
    /// `{message_id, body}`, `delete` `{message_id}` and `react` `{message_id, emoji}`
    /// act on a message of the room; `read` `{seq}` moves the caller's read marker;
    /// `typing` (`{typing: bool}`, default true) starts, renews or ends their typing.
    pub(super) async fn publish_in_room(
        &mut self,
        room: RoomId,
        event: &str,
        data: &Value,
        reference: Option<&str>,
    ) {
        // Every room action counts against the connection's publish rate; posts also
        // against the user's message allowances.
        if self.publishes.check().is_err() {
            return self.error(reference, "rate_limited", "too many publishes; slow down");
        }
        let answer = match event {
            "message" => self.post(room, data).await,
            "edit" => self.edit(room, data).await,
            "delete" => self.delete(room, data).await,
            "react" => self.react(room, data).await,
            "read" => self.read(room, data).await,
            "typing" => return self.type_in(room, data, reference).await,
            _ => Err(ApiError::client(
                StatusCode::BAD_REQUEST,
                "invalid_event",
                "publish message, edit, delete, react, read or typing on a room",
            )),
        };
        match answer {
            Ok(data) => {
                let ack = ServerFrame::Ack {
                    reference,
                    data: Some(&data),
                };
                self.send(ack.to_bytes());
            }
            Err(error) => self.api_error(reference, &error),
        }
    }

    fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.user_id,
            request_id: None,
        }
    }

    async fn room_access(&self, room: RoomId) -> Result<RoomAccess, ApiError> {
        RoomAccess::load(&self.state, self.actor(), room).await
    }

    /// A message of `room` (any other is not found here).
    async fn message(&self, room: RoomId, id: Uuid) -> Result<MessageAccess, ApiError> {
        let access = MessageAccess::load(&self.state, self.actor(), MessageId(id)).await?;
        if access.message.room_id != room {
            return Err(ApiError::not_found("no such message in this room"));
        }
        Ok(access)
    }

    async fn post(&self, room: RoomId, data: &Value) -> Result<Value, ApiError> {
        let request: PostMessageRequest = parse(data, "{body, reply_to?, client_id?}")?;
        let access = self.room_access(room).await?;
        let posted = messages::post(&self.state, &access, request).await?;
        Ok(json(MessageView::from(posted.message().clone())))
    }

    async fn edit(&self, room: RoomId, data: &Value) -> Result<Value, ApiError> {
        let edit: Edit = parse(data, "{message_id, body}")?;
        let access = self.message(room, edit.message_id).await?;
        let edited = messages::edit(&self.state, &access, &edit.body).await?;
        Ok(json(MessageView::from(edited)))
    }

    async fn delete(&self, room: RoomId, data: &Value) -> Result<Value, ApiError> {
        let delete: Delete = parse(data, "{message_id}")?;
        let access = self.message(room, delete.message_id).await?;
        let tombstone = messages::delete(&self.state, &access).await?;
        Ok(json(MessageView::from(tombstone)))
    }

    async fn react(&self, room: RoomId, data: &Value) -> Result<Value, ApiError> {
        let react: React = parse(data, "{message_id, emoji}")?;
        let access = self.message(room, react.message_id).await?;
        Ok(json(
            social::toggle_reaction(&self.state, &access, &react.emoji).await?,
        ))
    }

    async fn read(&self, room: RoomId, data: &Value) -> Result<Value, ApiError> {
        let read: Read = parse(data, "{seq}")?;
        let access = self.room_access(room).await?;
        let member = messages::read(&self.state, &access, read.seq).await?;
        Ok(json(RoomView::new(access.room, Some(&member))))
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
