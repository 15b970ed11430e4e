//! One client socket: authenticate, then read frames and answer them while a writer task
//! drains the connection's byte-bounded outbox to the socket.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tandem_domain::Action;
use tandem_realtime::protocol::{
    ClientFrame, CloseCode, ServerFrame, ephemeral_event, is_ephemeral_event,
};
use tandem_realtime::{Channel, ConnectionId, Envelope, Outbox, OutboxReceiver, Replay, outbox};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::authorize::{Standing, authorize};
use super::control::Control;
use crate::extract::AuthUser;
use crate::state::AppState;

/// How often the server pings an idle client, and how long it waits for any sign of life.
const PING_EVERY: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// How long a close frame may take to go out before the socket is simply dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

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
    let realtime = state.realtime.clone();
    let connection = realtime.hub.connect();
    let mut control = realtime
        .registry
        .register(connection, user.user_id, user.session_id);
    let (outbox, receiver, overflow) = outbox(realtime.config.outbox_bytes);
    let (closer, close_requests) = mpsc::channel(1);
    let writer = tokio::spawn(write(
        sink,
        receiver,
        overflow.clone(),
        close_requests,
        realtime.stop.clone(),
    ));
    let rate = NonZeroU32::new(realtime.config.publishes_per_second).unwrap_or(NonZeroU32::MIN);
    let mut session = Session {
        state,
        user,
        connection,
        outbox,
        subscriptions: HashMap::new(),
        publishes: RateLimiter::direct(Quota::per_second(rate)),
    };
    if let Some(reference) = auth_ref {
        session.send(
            ServerFrame::Ack {
                reference: Some(&reference),
            }
            .to_bytes(),
        );
    }
    loop {
        let message = tokio::select! {
            () = overflow.cancelled() => break,
            () = realtime.stop.cancelled() => break,
            Some(change) = control.recv() => {
                if session.apply(change) {
                    continue;
                }
                let _ = closer.try_send((CloseCode::Forbidden.code(), "session revoked"));
                break;
            }
            message = tokio::time::timeout(IDLE_LIMIT, stream.next()) => message,
        };
        match message {
            Ok(Some(Ok(Message::Text(text)))) => session.handle(text.as_str()).await,
            Ok(Some(Ok(Message::Binary(_)))) => {
                session.error(None, "invalid_frame", "frames are JSON text");
            }
            Ok(Some(Ok(Message::Close(_))) | None) => break,
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
                let _ = closer.try_send((
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
                let _ = closer.try_send((1001, "no sign of life"));
                break;
            }
        }
    }
    realtime.registry.deregister(connection);
    for topic in session.subscriptions.keys() {
        realtime.hub.unsubscribe(topic, connection);
    }
    drop(session);
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(5), writer)
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
/// bounded time only, since such a client will not read it either.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut receiver: OutboxReceiver,
    overflow: CancellationToken,
    mut close_requests: mpsc::Receiver<(u16, &'static str)>,
    stop: CancellationToken,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let reason = loop {
        let message = tokio::select! {
            biased;
            request = close_requests.recv() => break request,
            () = overflow.cancelled() => break Some((CloseCode::SlowConsumer.code(), "slow consumer")),
            () = stop.cancelled() => break Some((CloseCode::GoingAway.code(), "server shutting down")),
            _ = ping.tick() => Message::Ping(Bytes::new()),
            frame = receiver.recv() => {
                let Some(frame) = frame else { break None };
                let Ok(text) = Utf8Bytes::try_from(frame) else { continue };
                Message::Text(text)
            }
        };
        tokio::select! {
            sent = sink.send(message) => if sent.is_err() { return },
            () = overflow.cancelled() => break Some((CloseCode::SlowConsumer.code(), "slow consumer")),
            () = stop.cancelled() => break Some((CloseCode::GoingAway.code(), "server shutting down")),
        }
    };
    if let Some((code, reason)) = reason {
        let _ = tokio::time::timeout(CLOSE_WAIT, sink.send(close(code, reason))).await;
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// What one authenticated connection knows about itself.
struct Session {
    state: AppState,
    user: AuthUser,
    connection: ConnectionId,
    outbox: Outbox,
    /// Subscribed topics, with the caller's standing there.
    subscriptions: HashMap<String, Standing>,
    publishes: DefaultDirectRateLimiter,
}

impl Session {
    fn send(&self, frame: Bytes) {
        self.outbox.push(frame);
    }

    fn error(&self, reference: Option<&str>, code: &str, message: &str) {
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
        self.send(ServerFrame::Ack { reference }.to_bytes());
    }

    /// Applies an access change; false when the socket must close (its session is gone).
    fn apply(&mut self, change: Control) -> bool {
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
                    self.subscriptions.remove(&topic);
                    self.state.realtime.hub.unsubscribe(&topic, self.connection);
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

    async fn handle(&mut self, text: &str) {
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
                reference,
            } => {
                self.subscribe(&channel, since, reference.as_deref()).await;
            }
            ClientFrame::Unsubscribe { channel, reference } => {
                if self.subscriptions.remove(&channel).is_some() {
                    self.state
                        .realtime
                        .hub
                        .unsubscribe(&channel, self.connection);
                }
                self.ack(reference.as_deref());
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

    async fn subscribe(&mut self, name: &str, since: Option<u64>, reference: Option<&str>) {
        let channel: Channel = match name.parse() {
            Ok(channel) => channel,
            Err(e) => return self.error(reference, e.code(), &e.to_string()),
        };
        let topic = channel.to_string();
        if self.subscriptions.contains_key(&topic) {
            return self.ack(reference);
        }
        let action = match channel {
            Channel::Workspace(_) => Action::ReadWorkspace,
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
        let ack = ServerFrame::Ack { reference }.to_bytes();
        match since {
            None => subscription.go_live([ack], 0),
            Some(since) => match realtime
                .history
                .since(&topic, since, self.state.clock.now())
                .await
            {
                Ok(Replay::Events(events)) => {
                    let last = events.last().map_or(since, |e| e.seq);
                    let frames = std::iter::once(ack).chain(events.into_iter().map(|e| e.frame));
                    subscription.go_live(frames, last);
                }
                Ok(Replay::Resync) => {
                    let resync = ServerFrame::Resync { channel: &topic }.to_bytes();
                    subscription.go_live([ack, resync], 0);
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
            },
        }
        self.subscriptions.insert(topic, standing);
    }

    async fn publish(&mut self, name: &str, event: &str, data: &Value, reference: Option<&str>) {
        let channel: Channel = match name.parse() {
            Ok(channel @ Channel::Workspace(_)) => channel,
            Ok(_) => {
                return self.error(
                    reference,
                    "invalid_channel",
                    "ephemeral events go on workspace channels",
                );
            }
            Err(e) => return self.error(reference, e.code(), &e.to_string()),
        };
        if !is_ephemeral_event(event) {
            return self.error(
                reference,
                "invalid_event",
                "publish cursor, selection, typing or client.*",
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
        let frame = ephemeral_event(&topic, event, data, &actor, self.state.clock.now());
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
