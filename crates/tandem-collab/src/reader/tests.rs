//! The reader against hand-made client frames: split anywhere, fragmented, malformed,
//! over the limit, cut off, and read with the future dropped halfway.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const LIMIT: usize = 4 << 20;

/// A client frame: masked, as RFC 6455 requires of clients.
fn frame(opcode: OpCode, is_final: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final,
        opcode,
        mask: Some(MASK),
        ..FrameHeader::default()
    };
    let mut bytes = Vec::new();
    header.format(payload.len() as u64, &mut bytes).unwrap();
    let mut masked = payload.to_vec();
    unmask(&mut masked, MASK);
    bytes.extend_from_slice(&masked);
    bytes
}

fn binary(payload: &[u8]) -> Vec<u8> {
    frame(OpCode::Data(Data::Binary), true, payload)
}

fn pair() -> (DuplexStream, PeerReader<DuplexStream>) {
    let (client, server) = duplex(64 << 20);
    (client, PeerReader::new(server, &[], LIMIT))
}

async fn next(reader: &mut PeerReader<DuplexStream>) -> Result<Option<Incoming>, ReadError> {
    tokio::time::timeout(Duration::from_secs(5), reader.next())
        .await
        .expect("the reader answered")
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn frames_split_anywhere_come_out_whole_and_in_order() {
    let (mut client, mut reader) = pair();
    let big = pattern(70_000);
    let mut wire = binary(b"\x00\x02\x01\x05");
    wire.extend(frame(OpCode::Control(Control::Ping), true, b"hi"));
    wire.extend(binary(&big));
    wire.extend(frame(OpCode::Control(Control::Pong), true, b""));
    wire.extend(frame(OpCode::Control(Control::Close), true, b"\x03\xe8bye"));
    // Written in odd-sized pieces, so headers and payloads are cut at every kind of place.
    let writer = tokio::spawn(async move {
        for piece in wire.chunks(13) {
            client.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
        client
    });
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(Bytes::from_static(b"\x00\x02\x01\x05")))
    );
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Ping(Bytes::from_static(b"hi")))
    );
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(big.into()))
    );
    assert_eq!(next(&mut reader).await.unwrap(), Some(Incoming::Pong));
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Close(Some(1000)))
    );
    drop(writer.await.unwrap());
    assert!(
        next(&mut reader).await.unwrap().is_none(),
        "ended between frames"
    );
}

#[tokio::test]
async fn a_fragmented_message_is_joined_around_a_ping() {
    let (mut client, mut reader) = pair();
    let mut wire = frame(OpCode::Data(Data::Binary), false, b"abc");
    wire.extend(frame(OpCode::Control(Control::Ping), true, b""));
    wire.extend(frame(OpCode::Data(Data::Continue), false, b"def"));
    wire.extend(frame(OpCode::Data(Data::Continue), true, b"g"));
    wire.extend(frame(OpCode::Data(Data::Text), true, b"text"));
    client.write_all(&wire).await.unwrap();
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Ping(Bytes::new()))
    );
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(Bytes::from_static(b"abcdefg")))
    );
    assert_eq!(next(&mut reader).await.unwrap(), Some(Incoming::Text));
}

#[tokio::test]
async fn a_large_message_leaves_the_read_buffer_its_starting_size() {
    let (mut client, mut reader) = pair();
    let paste = pattern(3 << 20);
    client.write_all(&binary(&paste)).await.unwrap();
    client.write_all(&binary(b"\x00\x00\x01")).await.unwrap();
    let Some(Incoming::Binary(received)) = next(&mut reader).await.unwrap() else {
        panic!("the paste arrives as one binary message");
    };
    assert_eq!(received, paste);
    drop(received);
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(Bytes::from_static(b"\x00\x00\x01")))
    );
    // Nothing of the paste is held: the buffer never grew, and no frame is in progress.
    assert_eq!(reader.buffer.len(), BUFFER_BYTES);
    assert!(reader.frame.is_none() && reader.message.is_none());
}

#[tokio::test]
async fn a_dropped_read_loses_nothing() {
    let (mut client, mut reader) = pair();
    let payload = pattern(5_000);
    let wire = binary(&payload);
    // Half a frame, then the read is abandoned (as a `select!` does), then the rest.
    client.write_all(&wire[..2_500]).await.unwrap();
    let abandoned = tokio::time::timeout(Duration::from_millis(50), reader.next()).await;
    assert!(abandoned.is_err(), "half a frame is not a message");
    client.write_all(&wire[2_500..]).await.unwrap();
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(payload.into()))
    );
}

#[tokio::test]
async fn a_frame_over_the_limit_is_refused_from_its_header() {
    let (mut client, mut reader) = pair();
    // Only the header of a 5 MiB frame: refused without waiting for its payload.
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Binary),
        mask: Some(MASK),
        ..FrameHeader::default()
    };
    let mut wire = Vec::new();
    header.format(5 << 20, &mut wire).unwrap();
    client.write_all(&wire).await.unwrap();
    let error = next(&mut reader).await.unwrap_err();
    assert!(matches!(error, ReadError::TooLarge { size, .. } if size == 5 << 20));
}

#[tokio::test]
async fn fragments_together_over_the_limit_are_refused() {
    let (client_end, server) = duplex(1 << 20);
    let mut client = client_end;
    let mut reader = PeerReader::new(server, &[], 100);
    let mut wire = frame(OpCode::Data(Data::Binary), false, &[1; 60]);
    wire.extend(frame(OpCode::Data(Data::Continue), true, &[2; 60]));
    client.write_all(&wire).await.unwrap();
    let error = next(&mut reader).await.unwrap_err();
    assert!(matches!(
        error,
        ReadError::TooLarge {
            size: 120,
            limit: 100
        }
    ));
}

#[tokio::test]
async fn protocol_violations_are_refused() {
    let unmasked = {
        let mut bytes = Vec::new();
        FrameHeader {
            opcode: OpCode::Data(Data::Binary),
            ..FrameHeader::default()
        }
        .format(3, &mut bytes)
        .unwrap();
        bytes.extend_from_slice(b"abc");
        bytes
    };
    let mut reserved_bit = binary(b"abc");
    reserved_bit[0] |= 0x40;
    let mut bad_opcode = binary(b"abc");
    bad_opcode[0] = (bad_opcode[0] & 0xf0) | 0x3;
    let cases = [
        ("unmasked", unmasked),
        ("reserved bit", reserved_bit),
        ("reserved opcode", bad_opcode),
        (
            "long ping",
            frame(OpCode::Control(Control::Ping), true, &[0; 126]),
        ),
        (
            "fragmented ping",
            frame(OpCode::Control(Control::Ping), false, b""),
        ),
        (
            "stray continuation",
            frame(OpCode::Data(Data::Continue), true, b"abc"),
        ),
        ("new message inside a fragmented one", {
            let mut wire = frame(OpCode::Data(Data::Binary), false, b"abc");
            wire.extend(binary(b"def"));
            wire
        }),
        (
            "close code 1005",
            frame(OpCode::Control(Control::Close), true, b"\x03\xed"),
        ),
        (
            "one-byte close",
            frame(OpCode::Control(Control::Close), true, b"\x03"),
        ),
        (
            "close reason not UTF-8",
            frame(OpCode::Control(Control::Close), true, b"\x03\xe8\xff"),
        ),
    ];
    for (case, wire) in cases {
        let (mut client, mut reader) = pair();
        client.write_all(&wire).await.unwrap();
        let outcome = next(&mut reader).await;
        assert!(
            matches!(outcome, Err(ReadError::Protocol(_))),
            "{case}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_connection_ending_inside_a_frame_is_an_error() {
    let (mut client, mut reader) = pair();
    client.write_all(&binary(b"abcdef")[..5]).await.unwrap();
    drop(client);
    let error = next(&mut reader).await.unwrap_err();
    assert!(matches!(error, ReadError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof));
}

#[tokio::test]
async fn bytes_read_with_the_handshake_come_first() {
    let (mut client, server) = duplex(1 << 16);
    let mut wire = binary(b"early");
    let late = wire.split_off(4);
    let mut reader = PeerReader::new(server, &wire, LIMIT);
    client.write_all(&late).await.unwrap();
    client.write_all(&binary(b"later")).await.unwrap();
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(Bytes::from_static(b"early")))
    );
    assert_eq!(
        next(&mut reader).await.unwrap(),
        Some(Incoming::Binary(Bytes::from_static(b"later")))
    );
}

#[test]
fn unmasking_is_its_own_inverse_at_every_length_and_alignment() {
    for len in 0..40 {
        let original = pattern(len);
        let mut bytes = original.clone();
        unmask(&mut bytes, MASK);
        let by_byte: Vec<u8> = original
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ MASK[i % 4])
            .collect();
        assert_eq!(bytes, by_byte, "length {len}");
        unmask(&mut bytes, MASK);
        assert_eq!(bytes, original);
    }
}
