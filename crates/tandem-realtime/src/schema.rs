//! The published JSON Schema of the realtime protocol (`GET /api/realtime/schema.json`).
//!
//! Client frames are described by the very type the server parses them with. Server
//! frames are built by hand where speed matters (a durable event's bytes are rendered once
//! per event, with its `seq` spliced in), so their shapes are written out here, and the
//! tests check that every frame the server can produce validates against them.

use schemars::{JsonSchema, Schema, schema_for};
use serde_json::Value;

use crate::protocol::ClientFrame;

/// Every frame of the protocol: what clients send, and what the server sends.
#[derive(JsonSchema)]
#[schemars(
    title = "Tandem realtime frames",
    description = "JSON text frames on GET /api/v1/realtime; see docs/REALTIME.md"
)]
#[serde(untagged)]
#[expect(dead_code, reason = "a shape for the schema only")]
enum Frame {
    Client(ClientFrame),
    Server(ServerMessage),
}

/// A frame from the server.
#[derive(JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[expect(dead_code, reason = "a shape for the schema only")]
enum ServerMessage {
    /// The request with this `ref` succeeded.
    Ack {
        #[serde(rename = "ref")]
        reference: Option<String>,
        /// What the request made, e.g. the message a `publish` on a room posted.
        #[serde(default)]
        data: Option<Value>,
    },
    /// The request with this `ref` failed; the socket stays open.
    Error {
        #[serde(rename = "ref")]
        reference: Option<String>,
        /// A stable code, e.g. `forbidden`, `rate_limited`.
        code: String,
        message: String,
    },
    /// Something happened on a channel. Durable events carry `seq`; ephemeral ones do not.
    Event {
        channel: String,
        #[serde(default)]
        seq: Option<u64>,
        event: String,
        data: Value,
        /// The user who caused the event (null for the server itself).
        actor: Option<String>,
        /// RFC 3339 UTC with microseconds.
        #[schemars(extend("format" = "date-time"))]
        ts: String,
    },
    /// `since` is older than the history kept: refetch over REST.
    Resync { channel: String },
    /// The server ended a subscription, e.g. `membership_removed`.
    Unsubscribed { channel: String, reason: String },
    /// Who is on the channel, right after a subscribe.
    PresenceState {
        channel: String,
        members: Vec<PresenceMember>,
    },
    /// The net change since the previous diff.
    PresenceDiff {
        channel: String,
        joins: Vec<PresenceMember>,
        leaves: Vec<PresenceMember>,
    },
}

/// One user present on a channel.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "a shape for the schema only")]
struct PresenceMember {
    #[schemars(extend("format" = "uuid"))]
    user_id: String,
    name: String,
    /// Open connections (tabs, devices) on the channel.
    connections: u64,
    #[schemars(extend("format" = "date-time"))]
    since: String,
    /// What the user's latest connection says about itself: an object, or null.
    meta: Option<serde_json::Map<String, Value>>,
}

/// The JSON Schema (2020-12) of every realtime frame.
pub fn json_schema() -> Schema {
    schema_for!(Frame)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::presence::{Member, diff_frame, state_frame};
    use crate::protocol::{ServerFrame, durable_event, ephemeral_event};

    fn validator() -> jsonschema::Validator {
        jsonschema::validator_for(&json_schema().to_value()).expect("a valid schema")
    }

    fn check(validator: &jsonschema::Validator, frame: &[u8]) {
        let frame: Value = serde_json::from_slice(frame).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&frame)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{frame} does not match: {errors:?}");
    }

    #[test]
    fn every_frame_the_server_builds_matches_the_schema() {
        let validator = validator();
        let now = Utc::now();
        let member = Member {
            user_id: tandem_domain::UserId::new(now),
            name: "Ada".into(),
            connections: 2,
            since: now,
            meta: json!({"file": "a.rs"}),
        };
        let frames = [
            ServerFrame::Ack {
                reference: None,
                data: None,
            }
            .to_bytes(),
            ServerFrame::Ack {
                reference: Some("1"),
                data: Some(&json!({"id": "m", "seq": 1})),
            }
            .to_bytes(),
            ServerFrame::Error {
                reference: Some("2"),
                code: "forbidden",
                message: "no",
            }
            .to_bytes(),
            ServerFrame::Resync {
                channel: "project:p",
            }
            .to_bytes(),
            ServerFrame::Unsubscribed {
                channel: "project:p",
                reason: "membership_removed",
            }
            .to_bytes(),
            durable_event(
                "project:p",
                "member.added",
                &json!({"a": 1}),
                Some("u"),
                now,
            )
            .render(3),
            durable_event("project:p", "project.created", &json!({}), None, now).render(1),
            ephemeral_event("workspace:w", "cursor", &json!({"line": 1}), Some("u"), now),
            state_frame("workspace:w", std::slice::from_ref(&member)),
            state_frame("workspace:w", &[]),
            diff_frame(
                "workspace:w",
                std::slice::from_ref(&member),
                &[Member {
                    meta: Value::Null,
                    ..member.clone()
                }],
            ),
        ];
        for frame in &frames {
            check(&validator, frame);
        }
    }

    #[test]
    fn the_client_frames_it_describes_are_the_ones_the_server_accepts() {
        let validator = validator();
        let good = [
            json!({"type": "auth", "token": "t", "ref": "1"}),
            json!({"type": "subscribe", "channel": "workspace:w", "since": 4, "meta": {"file": "a"}}),
            json!({"type": "unsubscribe", "channel": "workspace:w"}),
            json!({"type": "publish", "channel": "workspace:w", "event": "cursor", "data": {"x": 1}}),
            json!({"type": "presence_update", "channel": "workspace:w", "meta": {"file": "b"}}),
            json!({"type": "ping", "ref": "9"}),
        ];
        for frame in good {
            assert!(validator.is_valid(&frame), "{frame}");
            ClientFrame::parse(&frame.to_string()).unwrap();
        }
        let bad = [
            json!({"type": "subscribe"}),
            json!({"type": "ping", "colour": "red"}),
            json!({"type": "shout"}),
            json!({"type": "subscribe", "channel": "workspace:w", "since": -1}),
        ];
        for frame in bad {
            assert!(ClientFrame::parse(&frame.to_string()).is_err(), "{frame}");
            // A server frame may share a client frame's shape only by type name; none
            // of these is either.
            assert!(!validator.is_valid(&frame), "{frame}");
        }
    }
}
