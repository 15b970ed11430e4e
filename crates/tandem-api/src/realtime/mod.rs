//! The realtime gateway: `GET /api/v1/realtime` upgrades to one multiplexed WebSocket per
//! client. Durable domain events reach channels through `routing`, with a per-channel
//! `seq` kept in the history; clients publish ephemeral events on workspaces, and post,
//! and say they are typing, in chat rooms; presence says who is on each project,
//! workspace and room channel (`presence` serves it over REST).

mod authorize;
mod connection;
pub mod control;
mod last_seen;
mod presence;
mod room;
mod routing;
mod session;
pub mod typing;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use tandem_realtime::{Bus, Departure, History, Hub, Presence};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The read buffer each socket starts with.
const READ_BUFFER_BYTES: usize = 1024;

/// Limits of each realtime connection.
#[derive(Debug, Clone, Copy)]
pub struct RealtimeConfig {
    /// How long an unauthenticated socket may take to send its `auth` frame.
    pub auth_timeout: Duration,
    /// The largest frame a client may send.
    pub max_frame_bytes: usize,
    /// The most bytes queued towards one client before it is closed as a slow consumer.
    pub outbox_bytes: usize,
    /// Ephemeral events one connection may publish per second.
    pub publishes_per_second: u32,
    /// How long a chat "typing" lasts unless the client repeats it.
    pub typing_ttl: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            auth_timeout: Duration::from_secs(5),
            max_frame_bytes: 64 * 1024,
            outbox_bytes: 1024 * 1024,
            publishes_per_second: 50,
            typing_ttl: Duration::from_secs(6),
        }
    }
}

/// The node's realtime machinery.
#[derive(Debug, Clone)]
pub struct Realtime {
    pub hub: Arc<Hub>,
    pub bus: Arc<dyn Bus>,
    pub history: Arc<dyn History>,
    pub presence: Arc<Presence>,
    pub config: RealtimeConfig,
    /// This node's live connections, for access changes.
    pub registry: control::Registry,
    /// Who is typing in each chat room, as every node knows it.
    pub typing: typing::Typing,
    /// Cancelled at shutdown: sockets close with 1001 and background tasks stop.
    pub stop: CancellationToken,
    /// Every open socket's task (realtime and collaborative), so that shutdown can wait
    /// for them to close before it stores what they leave behind.
    pub sockets: TaskTracker,
}

/// Starts the node's background tasks: bus → hub delivery, domain events → channels,
/// access changes → sockets, presence, and presence departures → last seen.
/// They run on `tasks`, so that shutdown can wait for them.
pub fn start(state: &AppState, departures: UnboundedReceiver<Departure>, tasks: &TaskTracker) {
    let realtime = &state.realtime;
    let control_state = state.clone();
    tasks.spawn(realtime.hub.clone().run_with(
        realtime.bus.clone(),
        realtime.stop.clone(),
        move |envelope| control::dispatch(&control_state, envelope),
    ));
    tasks.spawn(routing::route_events(state.clone()));
    tasks.spawn(typing::listen(state.clone()));
    tasks.spawn(realtime.presence.clone().run(realtime.stop.clone()));
    tasks.spawn(last_seen::record(state.clone(), departures));
}

/// The JSON Schema of every realtime frame, rendered once.
pub async fn schema() -> Response {
    static SCHEMA: OnceLock<Bytes> = OnceLock::new();
    let body = SCHEMA.get_or_init(|| {
        serde_json::to_vec_pretty(&tandem_realtime::schema::json_schema())
            .expect("a schema serializes")
            .into()
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/schema+json")],
        body.clone(),
    )
        .into_response()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(realtime))
        .routes(routes!(presence::workspace_presence))
        .routes(routes!(presence::room_presence))
}

/// Credentials for the socket, for clients that cannot set headers.
#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    /// An access token (alternatively `Authorization: Bearer`, or a first `auth` frame).
    pub token: Option<String>,
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned)
}

/// Open the realtime WebSocket. The protocol (frames, error and close codes) is in
/// `docs/REALTIME.md`.
#[utoipa::path(get, path = "/api/v1/realtime", tag = "realtime",
    params(("token" = Option<String>, Query, description = "An access token, for clients that cannot set `Authorization`")),
    responses((status = 101, description = "Switching to the realtime WebSocket protocol")))]
pub async fn realtime(
    State(state): State<AppState>,
    Query(query): Query<SocketQuery>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let token = bearer(&headers).or(query.token);
    let max = state.realtime.config.max_frame_bytes;
    upgrade
        // The default (128 KiB) is zero-filled on the first read, so every idle socket
        // would hold 128 KiB; client frames are small, and a large one grows the buffer
        // for as long as it needs.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            let sockets = state.realtime.sockets.clone();
            sockets.track_future(connection::run(state, socket, token))
        })
}
