//! `GET /api/v1/collab/{file_id}`: the Yjs WebSocket of one file, wire-compatible with
//! `y-websocket` clients. The token comes by `?token=` or `Authorization`; failures close
//! the socket with a 44xx code after the upgrade, since a y-websocket client sees nothing
//! of an HTTP error but retries forever.

use std::io::ErrorKind;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Response;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use governor::{Quota, RateLimiter};
use tandem_collab::{
    CloseCode, CollabError, Document, Frame, Incoming, PeerId, PeerWriter, ReadError, Submitted,
};
use tandem_domain::{Action, FileId, ProjectId, Role, SessionId, UserId, allows};
use tokio::time::Instant;
use uuid::Uuid;
use yrs::sync::{Message as YMessage, SyncMessage};

use super::access::FileAccess;
use super::socket;
use super::upgrade::{BareConnection, BareUpgrade};
use crate::extract::{Actor, AuthUser, PathParams};
use crate::realtime::SocketQuery;
use crate::realtime::control::Control;
use crate::state::AppState;

/// A client that sends nothing for this long is gone (y-websocket clients renew their
/// awareness every 15 s).
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A socket that takes none of what waits for it for this long has stopped reading, and
/// is closed as a slow consumer (4008). A y-websocket client itself gives up on a server
/// it heard nothing from for 30 s.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// How long a closing socket's last frames and the client's answer to our close may take.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
/// Updates a socket may have waiting to be stored before it is read no further.
const MAX_IN_FLIGHT: usize = 64;

/// Open a file's Yjs document over the y-websocket protocol: sync and awareness, one
/// binary message per frame. Close codes: 4401 not authenticated, 4403 access lost, 4404 no
/// such file, 4400 malformed message, 4413 too large, 4008 slow consumer,
/// 1011 storage failure, 1001 shutdown (see docs/COLLAB.md). A client sending faster than
/// `updates_per_second` is throttled, not closed: its socket is not read until it may go on.
#[utoipa::path(get, path = "/api/v1/collab/{file_id}", tag = "files",
    params(
        ("file_id" = Uuid, Path),
        ("token" = Option<String>, Query, description = "An access token, for clients that cannot set `Authorization`"),
    ),
    responses((status = 101, description = "Switching to the y-websocket protocol")))]
pub async fn collab(
    State(state): State<AppState>,
    params: PathParams,
    Query(query): Query<SocketQuery>,
    headers: axum::http::HeaderMap,
    upgrade: BareUpgrade,
) -> Response {
    let token = crate::realtime::bearer(&headers).or(query.token);
    // Not UTF-8 is not an id either: the socket closes with 4404 like for any unknown file.
    let file_id = params.get("file_id").unwrap_or_default().to_owned();
    // Boxed: the task holds its callback's captures for as long as the socket is open.
    let asked = Box::new(Asked { file_id, token });
    let sockets = state.realtime.sockets.clone();
    upgrade.on_upgrade(move |connection| {
        sockets.track_future(run(state, Box::new(Upgraded { connection, asked })))
    })
}

/// The file and token the client asked with, until the socket is opened.
struct Asked {
    file_id: String,
    token: Option<String>,
}

/// What a socket's task starts with. Boxed: a task keeps what it was started with for as
/// long as it runs.
struct Upgraded {
    connection: BareConnection,
    asked: Box<Asked>,
}

async fn run(state: AppState, upgraded: Box<Upgraded>) {
    let Upgraded { connection, asked } = *upgraded;
    let Asked { file_id, token } = *asked;
    // Boxed, and keeping only what the socket needs afterwards: its database reads and
    // records would otherwise size this socket's task for as long as it stays open.
    let opened = match Box::pin(open(&state, file_id, token)).await {
        Ok(opened) => opened,
        Err(code) => return socket::refuse(connection, code).await,
    };
    let Opened {
        user_id,
        session_id,
        role,
        project,
        document,
    } = *opened;
    let mut can_write = allows(role, Action::EditFiles);
    let collab = state.collab.clone();
    let peer = collab.next_peer();
    // Cancelled when the file is deleted, the server stops or the socket is cut off.
    let closing = document.closing();
    let max = collab.config.max_update_bytes.saturating_add(1024);
    let (mut socket, writer) = socket::split(
        connection,
        max,
        collab.config.socket_queue_bytes,
        closing.clone(),
    );
    let connection = state.realtime.hub.connect();
    let mut control = state
        .realtime
        .registry
        .register(connection, user_id, session_id);
    document.join(peer, writer.clone());
    let rate = NonZeroU32::new(collab.config.updates_per_second).unwrap_or(NonZeroU32::MIN);
    let updates = RateLimiter::direct(Quota::per_second(rate));
    // This socket's updates waiting to be stored: it goes on reading meanwhile (so its
    // keystrokes are stored together) but closes if one fails.
    let mut in_flight = InFlight::default();
    // Made once, not on every wake-up: each relayed frame wakes this task.
    let mut closed = pin!(closing.cancelled());
    let mut idle = pin!(tokio::time::sleep(IDLE_LIMIT));
    let why_closed = || {
        if state.realtime.stop.is_cancelled() {
            Some(CloseCode::GoingAway)
        } else if document.is_deleted() {
            Some(CloseCode::NotFound)
        } else if writer.is_broken() {
            None
        } else {
            Some(CloseCode::SlowConsumer)
        }
    };

    // One task reads the socket and writes on what it did not take at once (a second
    // task would cost its memory in every open editor); while it writes, it does not
    // read. Frames mostly go out from whoever sends them (see `PeerWriter`).
    let reason = loop {
        let message = tokio::select! {
            () = &mut closed => break why_closed(),
            () = &mut idle => break None,
            Some(stored) = in_flight.next(), if !in_flight.is_empty() => match stored {
                Ok(()) => continue,
                Err(error) => break Some(error.close_code()),
            },
            Some(change) = control.recv() => match change {
                Control::RoleChanged { project_id, role, .. } if project_id == project => {
                    can_write = allows(role, Action::EditFiles);
                    continue;
                }
                Control::MemberRemoved { project_id, .. } if project_id != project => continue,
                Control::RoleChanged { .. } => continue,
                _ => break Some(CloseCode::Forbidden),
            },
            () = writer.has_pending() => {
                let started = Instant::now();
                let drained = tokio::select! {
                    drained = writer.drain(STALL_LIMIT) => drained,
                    () = &mut closed => break why_closed(),
                };
                match drained {
                    Ok(()) => {
                        // The client was not read meanwhile: that time is not its silence.
                        let deadline = idle.deadline() + started.elapsed();
                        idle.as_mut().reset(deadline);
                        continue;
                    }
                    Err(error) if error.kind() == ErrorKind::TimedOut => {
                        break Some(CloseCode::SlowConsumer);
                    }
                    Err(_) => break None,
                }
            },
            message = socket.next(), if in_flight.len() < MAX_IN_FLIGHT => message,
        };
        idle.as_mut().reset(Instant::now() + IDLE_LIMIT);
        let frame = match message {
            Ok(Some(Incoming::Binary(frame))) => frame,
            Ok(Some(Incoming::Ping(payload))) => {
                writer.send(&Frame::pong(&payload));
                continue;
            }
            Ok(Some(Incoming::Pong)) => continue,
            Ok(Some(Incoming::Text)) => break Some(CloseCode::BadMessage),
            Ok(Some(Incoming::Close(code))) => {
                writer.reply_to_close(code);
                break None;
            }
            Ok(None) => break None,
            Err(error) => break read_failure(&error),
        };
        let Some(messages) = tandem_collab::message::decode(&frame) else {
            break Some(CloseCode::BadMessage);
        };
        let mut outcome = Ok(());
        let from = Peer {
            id: peer,
            user: user_id,
            writer: &writer,
            can_write,
            updates: &updates,
        };
        for message in messages {
            // Boxed for the same reason: most sockets wait idle far longer than they handle.
            outcome = Box::pin(handle(&state, &document, &from, &mut in_flight, message)).await;
            if outcome.is_err() {
                break;
            }
        }
        if let Err(code) = outcome {
            break Some(code);
        }
    };
    state.realtime.registry.deregister(connection);
    if let Some(removal) = document.leave(peer) {
        collab.publish_awareness(document.file_id, removal).await;
    }
    if let Some(code) = reason {
        writer.close(code);
    }
    // The close, or the answer to the client's, after the rest of a frame already begun
    // (what else waited was dropped). A client that stopped reading and reads again
    // within the wait gets what its kernel buffers hold, then the close.
    let deadline = Instant::now() + CLOSE_WAIT;
    let sent = tokio::time::timeout_at(deadline, writer.drain(CLOSE_WAIT)).await;
    if reason.is_some() && matches!(sent, Ok(Ok(()))) {
        // Closing the connection with the client's frames unread would make the kernel
        // reset it, dropping whatever of ours it still holds, the close included: read
        // on until the client answers the close.
        let _ = tokio::time::timeout_at(deadline, linger(&mut socket)).await;
    }
}

/// Reads and drops the client's frames until its close, or the end of the connection.
async fn linger(socket: &mut socket::Reader) {
    while let Ok(Some(incoming)) = socket.next().await {
        if matches!(incoming, Incoming::Close(_)) {
            return;
        }
    }
}

/// Who opened a document, their role in its project, and the document.
struct Opened {
    user_id: UserId,
    session_id: SessionId,
    role: Role,
    project: ProjectId,
    document: Arc<Document>,
}

/// The caller, their access to the file, and its document; or how to close.
async fn open(
    state: &AppState,
    file_id: String,
    token: Option<String>,
) -> Result<Box<Opened>, CloseCode> {
    let token = token.ok_or(CloseCode::Unauthenticated)?;
    let user = AuthUser::authenticate(state, &token)
        .await
        .map_err(|_| CloseCode::Unauthenticated)?;
    let file_id = Uuid::parse_str(&file_id)
        .map(FileId)
        .map_err(|_| CloseCode::NotFound)?;
    let actor = Actor {
        user_id: user.user_id,
        request_id: None,
    };
    let file = FileAccess::load(state, actor, file_id)
        .await
        .map_err(|_| CloseCode::NotFound)?;
    if !allows(file.access.role, Action::ReadWorkspace) {
        return Err(CloseCode::Forbidden);
    }
    let document = state.collab.open(file_id).await.map_err(|error| {
        tracing::warn!(file = %file_id, error = ?error, "opening a document failed");
        CloseCode::StorageFailed
    })?;
    Ok(Box::new(Opened {
        user_id: user.user_id,
        session_id: user.session_id,
        role: file.access.role,
        project: file.workspace.project_id,
        document,
    }))
}

/// A socket's updates waiting to be stored. The set is made on the first update and
/// dropped once empty: viewers and idle editors, most sockets, never send one.
#[derive(Default)]
struct InFlight(Option<FuturesUnordered<Submitted>>);

impl InFlight {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesUnordered::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, stored: Submitted) {
        self.0
            .get_or_insert_with(FuturesUnordered::new)
            .push(stored);
    }

    /// The next outcome; `None` at once if nothing waits.
    async fn next(&mut self) -> Option<Result<(), CollabError>> {
        let waiting = self.0.as_mut()?;
        let outcome = waiting.next().await;
        if waiting.is_empty() {
            self.0 = None;
        }
        outcome
    }
}

/// The socket a message came from.
struct Peer<'a> {
    id: PeerId,
    user: UserId,
    writer: &'a PeerWriter,
    can_write: bool,
    /// Its update rate.
    updates: &'a governor::DefaultDirectRateLimiter,
}

/// One y-protocol message from the peer. Updates are queued to be stored (their outcome
/// joins `in_flight`).
async fn handle(
    state: &AppState,
    document: &Arc<Document>,
    peer: &Peer<'_>,
    in_flight: &mut InFlight,
    message: YMessage,
) -> Result<(), CloseCode> {
    let Peer {
        id: peer,
        user,
        writer,
        can_write,
        updates,
    } = *peer;
    match message {
        YMessage::Sync(SyncMessage::SyncStep1(state_vector)) => {
            if writer.answering() {
                // One answer at a time, so a client that does not read cannot make the
                // server hold a copy of the document per sync step 1. The answer on its
                // way and the updates relayed behind it hold all this one would.
                tracing::debug!(file = %document.file_id, "a sync step 1 while the previous answer is on its way");
                return Ok(());
            }
            for frame in document.sync_step2(&state_vector).iter() {
                writer.send_answer(frame);
            }
        }
        YMessage::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
            if !can_write {
                // Viewers sync and see awareness; their edits go nowhere.
                return Ok(());
            }
            updates.until_ready().await;
            let stored = state
                .collab
                .submit(document, peer, update)
                .await
                .map_err(|error| error.close_code())?;
            if let Some(stored) = stored {
                in_flight.push(stored);
            }
        }
        YMessage::Awareness(update) => {
            updates.until_ready().await;
            // Only the client ids this socket introduced, and states within the size
            // limit; the rest of the message is dropped, not the socket.
            state.collab.awareness(document, peer, user, update).await;
        }
        YMessage::AwarenessQuery => {
            writer.send(&document.awareness_states());
        }
        YMessage::Auth(_) | YMessage::Custom(..) => {}
    }
    Ok(())
}

/// How to close after the socket failed to read: 4413 for a message over the size limit,
/// refused before any of it is read; 1002 for a broken protocol; otherwise the connection
/// is broken and there is no one to tell.
fn read_failure(error: &ReadError) -> Option<CloseCode> {
    match error {
        ReadError::TooLarge { .. } => Some(CloseCode::TooLarge),
        ReadError::Protocol(why) => {
            tracing::debug!(why, "a collaborative client broke the WebSocket protocol");
            Some(CloseCode::ProtocolError)
        }
        ReadError::Io(_) => None,
    }
}
