//! The realtime wire protocol: JSON text frames with a `type` tag, and close codes.
//!
//! Client → server: `auth`, `subscribe`, `unsubscribe`, `publish`, `presence_update`,
//! `ping`, each with an optional `ref` that the server echoes in its `ack` or `error`. Server → client:
//! `ack`, `error`, `event`, `presence_state`, `presence_diff`, `resync`.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::FrameTemplate;

/// Why the server closed a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// The server is shutting down: reconnect (elsewhere) and resume with `since`.
    GoingAway,
    /// A frame was larger than the limit.
    TooBig,
    /// The socket sent no valid credentials in time.
    Unauthenticated,
    /// The session was revoked, or access was lost.
    Forbidden,
    /// The client could not keep up with its outbound queue.
    SlowConsumer,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        match self {
            CloseCode::GoingAway => 1001,
            CloseCode::TooBig => 1009,
            CloseCode::Unauthenticated => 4401,
            CloseCode::Forbidden => 4403,
            CloseCode::SlowConsumer => 4008,
        }
    }
}

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Auth {
        token: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    Subscribe {
        channel: String,
        /// The last `seq` the client saw on this channel.
        since: Option<u64>,
        /// What the client's presence shows (an object, e.g. the open file).
        meta: Option<Value>,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    /// Replaces the meta of the client's presence on a channel it is subscribed to.
    PresenceUpdate {
        channel: String,
        meta: Value,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    Unsubscribe {
        channel: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    Publish {
        channel: String,
        event: String,
        #[serde(default)]
        data: Value,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    Ping {
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
}

/// A client frame that could not be understood, with the `ref` to answer it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub reference: Option<String>,
    pub code: &'static str,
    pub message: String,
}

impl ClientFrame {
    /// Parses a text frame. A frame that is JSON but not a valid frame still yields its
    /// `ref`, so the client can match the `error` to what it sent.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError {
            reference: None,
            code: "malformed_frame",
            message: format!("not JSON: {e}"),
        })?;
        let reference = value.get("ref").and_then(Value::as_str).map(str::to_owned);
        serde_json::from_value(value).map_err(|e| FrameError {
            reference,
            code: "invalid_frame",
            message: e.to_string(),
        })
    }

    /// The `ref` the client attached, if any.
    pub fn reference(&self) -> Option<&str> {
        match self {
            ClientFrame::Auth { reference, .. }
            | ClientFrame::Subscribe { reference, .. }
            | ClientFrame::Unsubscribe { reference, .. }
            | ClientFrame::PresenceUpdate { reference, .. }
            | ClientFrame::Publish { reference, .. }
            | ClientFrame::Ping { reference } => reference.as_deref(),
        }
    }
}

/// The most bytes a presence meta may take as JSON.
pub const MAX_META_BYTES: usize = 1024;

/// Checks a client's presence meta: a JSON object (or null) of at most
/// `MAX_META_BYTES`.
pub fn check_meta(meta: &Value) -> Result<(), &'static str> {
    match meta {
        Value::Null => Ok(()),
        Value::Object(_) if meta.to_string().len() <= MAX_META_BYTES => Ok(()),
        Value::Object(_) => Err("meta is larger than 1024 bytes of JSON"),
        _ => Err("meta must be a JSON object"),
    }
}

/// The names clients may publish: ephemeral events that are fanned out, never stored
/// (`cell.focus` says which cell of a live table someone is on).
pub fn is_ephemeral_event(name: &str) -> bool {
    const BUILT_IN: [&str; 4] = ["cursor", "selection", "typing", "cell.focus"];
    BUILT_IN.contains(&name)
        || name.strip_prefix("client.").is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 64
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        })
}

/// A frame from the server that is not a channel event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Ack {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
        /// What the request made, e.g. the message a `publish` on a room posted.
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a Value>,
    },
    Error {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
        code: &'a str,
        message: &'a str,
    },
    /// `since` is older than the history kept: refetch over REST.
    Resync { channel: &'a str },
    /// The server ended a subscription, e.g. `membership_removed`.
    Unsubscribed { channel: &'a str, reason: &'a str },
}

impl ServerFrame<'_> {
    pub fn to_bytes(&self) -> Bytes {
        // Serialising these plain structs cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The `event` frame of a durable event, with its `seq` left for the history to assign:
/// `{"type":"event","channel":…,"seq":N,"event":…,"data":…,"actor":…,"ts":…}`.
pub fn durable_event(
    channel: &str,
    event: &str,
    data: &Value,
    actor: Option<&str>,
    ts: DateTime<Utc>,
) -> FrameTemplate {
    let head = format!(
        "{{\"type\":\"event\",\"channel\":{},\"seq\":",
        Value::from(channel)
    );
    let tail = format!(
        ",\"event\":{},\"data\":{},\"actor\":{},\"ts\":{}}}",
        Value::from(event),
        data,
        actor.map_or(Value::Null, Value::from),
        Value::from(ts.to_rfc3339_opts(SecondsFormat::Micros, true)),
    );
    FrameTemplate {
        head: Bytes::from(head),
        tail: Bytes::from(tail),
    }
}

/// The `event` frame of an ephemeral event: no `seq`, never stored.
pub fn ephemeral_event(
    channel: &str,
    event: &str,
    data: &Value,
    actor: Option<&str>,
    ts: DateTime<Utc>,
) -> Bytes {
    let frame = serde_json::json!({
        "type": "event",
        "channel": channel,
        "event": event,
        "data": data,
        "actor": actor,
        "ts": ts.to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    Bytes::from(frame.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn client_frames_parse_with_their_ref() {
        let frame =
            ClientFrame::parse(r#"{"type":"subscribe","channel":"project:x","since":7,"ref":"1"}"#)
                .unwrap();
        assert_eq!(
            frame,
            ClientFrame::Subscribe {
                channel: "project:x".into(),
                since: Some(7),
                meta: None,
                reference: Some("1".into())
            }
        );
        assert_eq!(frame.reference(), Some("1"));
        let publish =
            ClientFrame::parse(r#"{"type":"publish","channel":"workspace:w","event":"cursor"}"#)
                .unwrap();
        assert!(matches!(
            publish,
            ClientFrame::Publish {
                data: Value::Null,
                ..
            }
        ));
        assert_eq!(
            ClientFrame::parse(r#"{"type":"ping"}"#)
                .unwrap()
                .reference(),
            None
        );
    }

    #[test]
    fn a_bad_frame_is_reported_under_its_ref() {
        let unknown = ClientFrame::parse(r#"{"type":"shout","ref":"9"}"#).unwrap_err();
        assert_eq!(
            (unknown.code, unknown.reference.as_deref()),
            ("invalid_frame", Some("9"))
        );
        let missing = ClientFrame::parse(r#"{"type":"subscribe","ref":"3"}"#).unwrap_err();
        assert_eq!(missing.reference.as_deref(), Some("3"));
        let extra = ClientFrame::parse(r#"{"type":"ping","colour":"red"}"#).unwrap_err();
        assert_eq!(extra.code, "invalid_frame");
        let garbage = ClientFrame::parse("{not json").unwrap_err();
        assert_eq!((garbage.code, garbage.reference), ("malformed_frame", None));
    }

    #[test]
    fn only_ephemeral_names_may_be_published() {
        for name in [
            "cursor",
            "selection",
            "typing",
            "client.highlight",
            "client.a-b_c.d",
        ] {
            assert!(is_ephemeral_event(name), "{name}");
        }
        for name in ["member.added", "client.", "client.bad name", "Cursor", ""] {
            assert!(!is_ephemeral_event(name), "{name}");
        }
        assert!(!is_ephemeral_event(&format!("client.{}", "x".repeat(65))));
    }

    #[test]
    fn a_durable_event_frame_is_valid_json_once_its_seq_is_in() {
        let ts = "2026-11-23T10:00:00Z".parse().unwrap();
        let template = durable_event(
            "project:p\"q",
            "member.added",
            &json!({"role": "editor"}),
            Some("u1"),
            ts,
        );
        let frame: Value = serde_json::from_slice(&template.render(12)).unwrap();
        assert_eq!(
            frame,
            json!({
                "type": "event", "channel": "project:p\"q", "seq": 12, "event": "member.added",
                "data": {"role": "editor"}, "actor": "u1", "ts": "2026-11-23T10:00:00.000000Z"
            })
        );
    }

    #[test]
    fn server_frames_and_close_codes_are_stable() {
        let error = ServerFrame::Error {
            reference: Some("4"),
            code: "forbidden",
            message: "no",
        };
        assert_eq!(
            serde_json::from_slice::<Value>(&error.to_bytes()).unwrap(),
            json!({"type": "error", "ref": "4", "code": "forbidden", "message": "no"})
        );
        assert_eq!(
            ServerFrame::Ack {
                reference: None,
                data: None
            }
            .to_bytes(),
            Bytes::from_static(br#"{"type":"ack"}"#)
        );
        let codes = [
            CloseCode::GoingAway,
            CloseCode::TooBig,
            CloseCode::Unauthenticated,
            CloseCode::Forbidden,
            CloseCode::SlowConsumer,
        ];
        assert_eq!(codes.map(CloseCode::code), [1001, 1009, 4401, 4403, 4008]);
    }
}
