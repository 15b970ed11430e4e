//! One client socket: authenticate, then read frames (answered by the `Session`) while a
//! writer task drains the connection's byte-bounded outbox to the socket.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use tandem_realtime::protocol::{ClientFrame, CloseCode, ServerFrame};
use tandem_realtime::{OutboxReceiver, outbox};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::session::Session;
use crate::extract::AuthUser;
use crate::state::AppState;

/// How often the server pings an idle client, and how long it waits for any sign of life.
const PING_EVERY: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// The most frames one flush carries, and about the most bytes: what a flush has handed
/// to tungstenite still goes out before a close.
const MAX_BATCH: usize = 64;
const MAX_BATCH_BYTES: usize = 64 * 1024;
/// How long a busy socket's writer waits for more frames before writing.
const LINGER: Duration = Duration::from_millis(5);
/// How long a close frame may take to go out, and the client's answer to come back,
/// before the connection is simply dropped. A client cut off as a slow consumer has to
/// read again within it to be told why.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
/// What a socket's task waits beyond it for its writer (and the client's answer).
const CLOSE_MARGIN: Duration = Duration::from_secs(1);

pub async fn run(state: AppState, socket: WebSocket, token: Option<String>) {
    let (mut sink, mut stream) = socket.split();
    let (user, auth_ref) = match authenticate(&state, &mut stream, token).await {
        Ok(authenticated) => authenticated,
        Err(reason) => {
            let _ = sink
                .send(close(CloseCode::Unauthenticated.code(), reason))
                .await;
            return;
        }
    };
    let _counted = state.metrics.realtime_connection();
    let realtime = state.realtime.clone();
    let connection = realtime.hub.connect();
    let mut control = realtime
        .registry
        .register(connection, user.user_id, user.session_id);
    let (outbox, receiver, overflow) = outbox(realtime.config.outbox_bytes);
    let (closer, close_request) = oneshot::channel();
    let writer = tokio::spawn(write(
        sink,
        receiver,
        overflow.clone(),
        close_request,
        realtime.stop.clone(),
    ));
    let rate = NonZeroU32::new(realtime.config.publishes_per_second).unwrap_or(NonZeroU32::MIN);
    let name = match state.store.user_by_id(user.user_id).await {
        Ok(Some(account)) => account.name.as_str().to_owned(),
        Ok(None) => String::new(),
        Err(error) => {
            tracing::warn!(error = ?error, "reading the user's name for presence failed");
            String::new()
        }
    };
    let mut session = Session {
        state,
        user,
        name,
        connection,
        outbox,
        subscriptions: HashMap::new(),
        publishes: RateLimiter::direct(Quota::per_second(rate)),
        typing_in: Default::default(),
    };
    if let Some(reference) = auth_ref {
        session.send(
            ServerFrame::Ack {
                reference: Some(&reference),
                data: None,
            }
            .to_bytes(),
        );
    }
    loop {
        let message = tokio::select! {
            () = overflow.cancelled() => break,
            () = realtime.stop.cancelled() => break,
            Some(change) = control.recv() => {
                if session.apply(change).await {
                    continue;
                }
                let _ = closer.send(Closing::With(CloseCode::Forbidden.code(), "session revoked"));
                break;
            }
            message = tokio::time::timeout(IDLE_LIMIT, stream.next()) => message,
        };
        match message {
            Ok(Some(Ok(Message::Text(text)))) => session.handle(text.as_str()).await,
            Ok(Some(Ok(Message::Binary(_)))) => {
                session.error(None, "invalid_frame", "frames are JSON text");
            }
            Ok(Some(Ok(Message::Close(_)))) => {
                // tungstenite has queued the answer: the client's code echoed, or 1002
                // for a code no one may send.
                let _ = closer.send(Closing::Answer);
                break;
            }
            Ok(None) => break,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Err(error))) => {
                // axum does not expose tungstenite's typed error; its capacity error
                // is the one that reads "too long".
                let too_big = error.to_string().contains("too long");
                let code = if too_big {
                    CloseCode::TooBig.code()
                } else {
                    1002
                };
                let _ = closer.send(Closing::With(
                    code,
                    if too_big {
                        "frame too large"
                    } else {
                        "protocol error"
                    },
                ));
                break;
            }
            Err(_) => {
                let _ = closer.send(Closing::With(1001, "no sign of life"));
                break;
            }
        }
    }
    realtime.registry.deregister(connection);
    session.end_all().await;
    drop(session);
    let abort = writer.abort_handle();
    let closing = async {
        // The writer sends the close, if there is one.
        let _ = writer.await;
        // Then the client's frames are read until it answers the close: a connection
        // closed with frames of the client's unread is reset by the kernel, which drops
        // what it still holds for the client (the close, and the frames before it).
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    if tokio::time::timeout(CLOSE_WAIT + CLOSE_MARGIN, closing)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// The user behind the socket, and the `ref` of their `auth` frame if they sent one.
async fn authenticate(
    state: &AppState,
    stream: &mut SplitStream<WebSocket>,
    token: Option<String>,
) -> Result<(AuthUser, Option<String>), &'static str> {
    let invalid = "the access token is not valid";
    if let Some(token) = token {
        let user = AuthUser::authenticate(state, &token)
            .await
            .map_err(|_| invalid)?;
        return Ok((user, None));
    }
    let first = tokio::time::timeout(state.realtime.config.auth_timeout, stream.next())
        .await
        .map_err(|_| "no auth frame in time")?;
    let Some(Ok(Message::Text(text))) = first else {
        return Err("the first frame must be auth");
    };
    match ClientFrame::parse(text.as_str()) {
        Ok(ClientFrame::Auth { token, reference }) => {
            let user = AuthUser::authenticate(state, &token)
                .await
                .map_err(|_| invalid)?;
            Ok((user, reference))
        }
        _ => Err("the first frame must be auth"),
    }
}

/// Drains the outbox to the socket; closes it on request, on overflow (4008) or at
/// shutdown (1001); pings an idle client.
///
/// Every send races the overflow and stop tokens: a client that stops reading fills the
/// TCP buffers and blocks the send, and must still be cut off. A close is attempted for a
/// bounded time only ([`CLOSE_WAIT`]), since such a client may never read it.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut receiver: OutboxReceiver,
    overflow: CancellationToken,
    mut close_request: oneshot::Receiver<Closing>,
    stop: CancellationToken,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut last_flush = None;
    let reason = loop {
        let mut batch = Vec::new();
        tokio::select! {
            biased;
            request = &mut close_request => match request {
                Ok(Closing::With(code, reason)) => break Some((code, reason)),
                Ok(Closing::Answer) => {
                    // Flushing sends the answer tungstenite queued.
                    let _ = tokio::time::timeout(CLOSE_WAIT, sink.close()).await;
                    return;
                }
                Err(_) => break None,
            },
            () = overflow.cancelled() => break Some((CloseCode::SlowConsumer.code(), "slow consumer")),
            () = stop.cancelled() => break Some((CloseCode::GoingAway.code(), "server shutting down")),
            _ = ping.tick() => batch.push(Message::Ping(Bytes::new())),
            frame = receiver.recv() => {
                let Some(frame) = frame else { break None };
                // A socket that was flushed moments ago is on a busy channel: let a few
                // more frames gather so one write carries them all. Each write is a
                // syscall per subscriber, and on a busy channel those are what the
                // server's cores spend their time on; a quiet socket is written at once.
                if let Some(since) = last_flush.map(|at: Instant| at.elapsed())
                    && since < LINGER
                {
                    tokio::time::sleep(LINGER - since).await;
                }
                let mut bytes = frame.len();
                batch.extend(text(frame));
                // Whatever else is already queued goes in the same flush: one write for
                // many frames when a channel is busy.
                while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                    let Some(frame) = receiver.try_recv() else { break };
                    bytes += frame.len();
                    batch.extend(text(frame));
                }
            }
        }
        let written = async {
            for message in batch {
                sink.feed(message).await?;
            }
            sink.flush().await
        };
        last_flush = Some(Instant::now());
        tokio::select! {
            written = written => if written.is_err() { return },
            () = overflow.cancelled() => break Some((CloseCode::SlowConsumer.code(), "slow consumer")),
            () = stop.cancelled() => break Some((CloseCode::GoingAway.code(), "server shutting down")),
        }
    };
    if let Some((code, reason)) = reason {
        // What the outbox holds will not be sent: free it now, not after the wait.
        drop(receiver);
        // The close follows what the socket already has on its way, which cannot be
        // taken back: the rest of the batch tungstenite was writing (a frame it began
        // must be finished first) and the kernel's send buffer. A client that stopped
        // reading gets them, then the close, if it reads again within the wait.
        let _ = tokio::time::timeout(CLOSE_WAIT, sink.send(close(code, reason))).await;
    }
}

/// How the reader asks the writer to end the socket.
enum Closing {
    /// Close with this code and reason.
    With(u16, &'static str),
    /// Answer the client's close frame.
    Answer,
}

/// A queued frame as a text message (frames are JSON, so always UTF-8).
fn text(frame: Bytes) -> Option<Message> {
    Utf8Bytes::try_from(frame).ok().map(Message::Text)
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}
