//! The shared writer against a real loopback socket.

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Longer than any test waits for a socket that is being read.
const STALL: Duration = Duration::from_secs(10);

/// A writer on one end of a loopback connection, and the other end.
async fn connected(limit: usize) -> (PeerWriter, TcpStream, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (_read, write) = server.into_split();
    let closing = CancellationToken::new();
    (
        PeerWriter::new(write, limit, closing.clone()),
        client,
        closing,
    )
}

/// Reads `n` bytes from the client's end.
async fn read(client: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    client.read_exact(&mut bytes).await.unwrap();
    bytes
}

#[tokio::test]
async fn frames_sent_by_anyone_arrive_whole_and_in_order_when_the_client_lags() {
    let (writer, mut client, closing) = connected(64 << 20).await;
    // Far more than the socket's buffers hold: most of it waits in the writer.
    let frames: Vec<Frame> = (0..64u8).map(|i| Frame::binary(&[i; 100_000])).collect();
    for frame in &frames {
        assert!(writer.send(frame));
    }
    assert!(
        writer.pending_bytes() > 0,
        "the client has read nothing yet"
    );
    let expected: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
    let (drained, received) = tokio::join!(writer.drain(STALL), read(&mut client, expected.len()));
    drained.unwrap();
    assert!(received == expected, "bytes arrived out of order or torn");
    assert_eq!(writer.pending_bytes(), 0);
    assert!(!closing.is_cancelled());
}

#[tokio::test]
async fn a_client_that_falls_behind_by_the_limit_is_cut_off_and_told_4008() {
    let (writer, mut client, closing) = connected(1 << 20).await;
    let frame = Frame::binary(&[1; 100_000]);
    let mut sent = 0;
    while writer.send(&frame) {
        sent += 1;
        assert!(sent < 1_000, "never cut off");
    }
    assert!(closing.is_cancelled());
    assert!(!writer.is_broken(), "cut off, not broken");
    assert!(
        !writer.send(&Frame::binary(b"later")),
        "nothing more goes out"
    );
    writer.close(CloseCode::SlowConsumer);
    let reading = tokio::spawn(async move {
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        received
    });
    writer.drain(STALL).await.unwrap();
    // Shuts the write half: the client reads to its end.
    drop(writer);
    let received = reading.await.unwrap();
    // Whole frames, then the close: a frame the socket had begun is finished first.
    let close = Frame::close(CloseCode::SlowConsumer);
    assert!(
        received.ends_with(close.as_bytes()),
        "no close frame at the end"
    );
    let body = received.len() - close.len();
    assert_eq!(body % frame.len(), 0, "a frame was torn");
    assert!(
        received[..body]
            .chunks(frame.len())
            .all(|chunk| chunk == frame.as_bytes())
    );
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_waits_whole_but_live_frames_behind_it_count() {
    let (writer, _client, closing) = connected(350_000).await;
    // Far more than the socket's buffers and the limit: an initial state in pieces.
    let answer: Vec<Frame> = (0..100u8).map(|i| Frame::binary(&[i; 100_000])).collect();
    for frame in &answer {
        assert!(writer.send_answer(frame));
    }
    assert!(writer.answering(), "the client has read nothing yet");
    assert!(writer.pending_bytes() > 350_000);
    assert!(!closing.is_cancelled(), "an answer is not live traffic");
    // Live frames queue behind it, and count.
    let update = Frame::binary(&[9; 100_000]);
    assert!(writer.send(&update));
    assert!(writer.send(&update));
    assert!(writer.send(&update));
    assert!(!writer.send(&update), "the fourth passes the limit");
    assert!(closing.is_cancelled());
    // Cut off: what waits is dropped but for the rest of a frame the socket has begun.
    assert!(writer.pending_bytes() <= answer[0].len());
}

#[tokio::test]
async fn a_socket_that_takes_nothing_for_the_stall_time_fails_the_drain() {
    let (writer, mut client, closing) = connected(64 << 20).await;
    let frame = Frame::binary(&[1; 100_000]);
    for _ in 0..64 {
        assert!(writer.send(&frame));
    }
    let started = std::time::Instant::now();
    let stalled = writer.drain(Duration::from_millis(300)).await;
    assert_eq!(stalled.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        !closing.is_cancelled(),
        "the socket's task decides what to do"
    );
    // A client that reads again lets it go on.
    let expected = frame.len() * 64;
    let (drained, received) = tokio::join!(writer.drain(STALL), read(&mut client, expected));
    drained.unwrap();
    assert_eq!(received.len(), expected);
}

#[tokio::test]
async fn keepalives_go_only_to_sockets_that_were_sent_nothing_since_the_last() {
    let (writer, mut client, _closing) = connected(1 << 20).await;
    let keepalive = Frame::binary(b"k");
    assert!(writer.keep_alive(&keepalive), "a new socket is quiet");
    assert!(writer.keep_alive(&keepalive), "a keepalive does not count");
    assert!(writer.send(&Frame::binary(b"update")));
    assert!(!writer.keep_alive(&keepalive), "it was just sent something");
    assert!(writer.keep_alive(&keepalive), "and was quiet since");
    let expected = [
        &b"\x82\x01k"[..],
        b"\x82\x01k",
        b"\x82\x06update",
        b"\x82\x01k",
    ]
    .concat();
    assert_eq!(read(&mut client, expected.len()).await, expected);
}

#[test]
fn frames_carry_the_header_for_their_length() {
    let small = Frame::binary(&[7; 3]);
    assert_eq!(small.as_bytes(), &[0x82, 3, 7, 7, 7]);
    let medium = Frame::binary(&[0; 300]);
    assert_eq!(&medium.as_bytes()[..4], &[0x82, 126, 1, 44]);
    assert_eq!(medium.len(), 304);
    let large = Frame::binary(&[0; 70_000]);
    assert_eq!(&large.as_bytes()[..2], &[0x82, 127]);
    assert_eq!(large.len(), 70_010);
}

#[test]
fn close_frames_hold_the_code_and_reason() {
    let frame = Frame::close(CloseCode::SlowConsumer);
    let bytes = frame.as_bytes();
    assert_eq!(bytes[0], 0x88);
    assert_eq!(&bytes[2..4], &4008u16.to_be_bytes());
    assert_eq!(&bytes[4..], b"slow consumer");
}
