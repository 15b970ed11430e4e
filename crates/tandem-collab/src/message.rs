//! The y-websocket wire format: each binary WebSocket frame holds y-protocol messages
//! (sync step 1, sync step 2, update, awareness, query awareness, auth), and the server
//! sends one message per frame, as `y-websocket` clients expect. Between nodes, awareness
//! messages also say which socket holds each entry.

use std::collections::HashMap;

use bytes::Bytes;
use tandem_domain::UserId;
use uuid::Uuid;
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::DecoderV1;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, StateVector};

use crate::awareness::{Changed, Holding};

/// The tag of the custom message that, between nodes, names the socket holding each
/// entry of the awareness message that follows it. Never sent to clients.
const HOLDERS: u8 = 100;

/// WebSocket close codes of the collaboration endpoint. y-websocket clients reconnect
/// after any close; the 44xx codes say why they should not expect a different answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// A frame that is not y-protocol messages, or an update that does not decode.
    BadMessage,
    /// No valid token.
    Unauthenticated,
    /// The caller may not open this file (or lost access while connected).
    Forbidden,
    /// The file does not exist (or was deleted while open).
    NotFound,
    /// An update or the document would pass the size limit.
    TooLarge,
    /// The connection could not keep up with the document's traffic.
    SlowConsumer,
    /// The server could not store an update; nothing was acknowledged. Reconnect.
    StorageFailed,
    /// The server is shutting down.
    GoingAway,
    /// The client broke the WebSocket protocol (an unmasked frame, say).
    ProtocolError,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        match self {
            Self::BadMessage => 4400,
            Self::Unauthenticated => 4401,
            Self::Forbidden => 4403,
            Self::NotFound => 4404,
            Self::TooLarge => 4413,
            Self::SlowConsumer => 4008,
            Self::StorageFailed => 1011,
            Self::GoingAway => 1001,
            Self::ProtocolError => 1002,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Self::BadMessage => "malformed message",
            Self::Unauthenticated => "not authenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "file not found",
            Self::TooLarge => "too large",
            Self::SlowConsumer => "slow consumer",
            Self::StorageFailed => "storage failed",
            Self::GoingAway => "server shutting down",
            Self::ProtocolError => "protocol error",
        }
    }
}

/// Every message in a frame, in order; `None` if any of it is malformed.
pub fn decode(frame: &[u8]) -> Option<Vec<Message>> {
    let mut decoder = DecoderV1::new(Cursor::new(frame));
    MessageReader::new(&mut decoder)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|messages| !messages.is_empty())
}

pub fn encode(message: &Message) -> Bytes {
    Bytes::from(message.encode_v1())
}

pub fn sync_step1(state_vector: StateVector) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep1(state_vector)))
}

pub fn sync_step2(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep2(update)))
}

pub fn update(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::Update(update)))
}

pub fn awareness(update: AwarenessUpdate) -> Bytes {
    encode(&Message::Awareness(update))
}

/// An awareness message that changes nothing. y-websocket clients drop a connection that
/// has been silent for 30 s, and WebSocket pings do not count, so idle clients get this.
pub fn keepalive() -> Bytes {
    awareness(AwarenessUpdate {
        clients: Default::default(),
    })
}

/// An awareness message between nodes: who holds each entry, then the entries. A node
/// that does not know the holders message skips it.
pub fn awareness_between_nodes(changed: Changed) -> Bytes {
    let mut holders = Vec::new();
    holders.write_var(changed.holders.len());
    for (client, holding) in &changed.holders {
        holders.write_var(client.get());
        holders.write_var(holding.peer);
        holders.write_all(holding.user.0.as_bytes());
        holders.write_var(holding.since);
    }
    let mut bytes = Message::Custom(HOLDERS, holders).encode_v1();
    bytes.extend(Message::Awareness(changed.update).encode_v1());
    bytes.into()
}

/// The holders an awareness message between nodes names, if `message` is that part.
pub fn holders(message: &Message) -> Option<HashMap<ClientID, Holding>> {
    let Message::Custom(HOLDERS, data) = message else {
        return None;
    };
    let mut cursor = Cursor::new(data);
    let count: usize = cursor.read_var().ok()?;
    let mut holders = HashMap::new();
    for _ in 0..count {
        let client = ClientID::new(cursor.read_var().ok()?);
        let peer = cursor.read_var().ok()?;
        let user = UserId(Uuid::from_slice(cursor.read_exact(16).ok()?).ok()?);
        let since = cursor.read_var().ok()?;
        holders.insert(client, Holding { peer, user, since });
    }
    Some(holders)
}

/// A node that opened a document asks the others for the states their sockets hold.
pub fn awareness_query() -> Bytes {
    encode(&Message::AwarenessQuery)
}

#[cfg(test)]
mod tests {
    use yrs::sync::awareness::AwarenessUpdateEntry;
    use yrs::{ClientID, Doc, ReadTxn, Transact};

    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let doc = Doc::new();
        let sv = doc.transact().state_vector();
        let step1 = sync_step1(sv.clone());
        assert_eq!(
            decode(&step1),
            Some(vec![Message::Sync(SyncMessage::SyncStep1(sv))])
        );
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(7),
            AwarenessUpdateEntry {
                clock: 1,
                json: r#"{"user":"ada"}"#.into(),
            },
        );
        let aware = awareness(AwarenessUpdate { clients });
        let decoded = decode(&aware).unwrap();
        assert!(
            matches!(&decoded[..], [Message::Awareness(u)] if u.clients.len() == 1),
            "{decoded:?}"
        );
        assert!(decode(&keepalive()).is_some());
        let holding = Holding {
            peer: 9,
            user: UserId(Uuid::from_u128(5)),
            since: 1_700_000_000_000,
        };
        let changed = Changed {
            update: AwarenessUpdate {
                clients: [(
                    ClientID::new(7),
                    AwarenessUpdateEntry {
                        clock: 3,
                        json: "{}".into(),
                    },
                )]
                .into(),
            },
            holders: [(ClientID::new(7), holding)].into(),
        };
        let between = decode(&awareness_between_nodes(changed)).unwrap();
        assert_eq!(
            holders(&between[0]),
            Some([(ClientID::new(7), holding)].into())
        );
        assert!(
            matches!(&between[1], Message::Awareness(u) if u.clients[&ClientID::new(7)].clock == 3)
        );
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[0, 9, 1]), None, "an unknown sync message type");
    }
}
