//! From committed domain events to channel events: each event goes to its project's
//! channel (and its workspace's, and the user's it concerns) or, for chat, to its room's
//! channel and, for live tables, to its table's channel (and its workspace's); gets the channel's next `seq` in the history, and is published on the bus to
//! every node.

use serde_json::Value;
use tandem_domain::{DomainEvent, Visibility};
use tandem_realtime::protocol::durable_event;
use tandem_realtime::{Channel, Envelope};
use tokio::sync::broadcast::error::RecvError;

use super::control::{Control, announce};
use crate::events::Published;
use crate::state::AppState;

/// Runs until the realtime stop token is cancelled.
pub async fn route_events(state: AppState) {
    let mut events = state.events.subscribe();
    let stop = state.realtime.stop.clone();
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            received = events.recv() => received,
        };
        match received {
            Ok(published) => {
                if let Err(error) = route(&state, &published).await {
                    tracing::error!(error = ?error, "could not deliver a domain event");
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::error!(missed, "the event router fell behind; events were dropped");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

async fn route(state: &AppState, published: &Published) -> anyhow::Result<()> {
    match &published.event {
        DomainEvent::MemberRemoved {
            project_id,
            user_id,
        } => {
            let (project_id, user_id) = (*project_id, *user_id);
            announce(
                state,
                Control::MemberRemoved {
                    project_id,
                    user_id,
                },
            )
            .await;
        }
        DomainEvent::MemberRoleChanged {
            project_id,
            user_id,
            role,
        } => {
            let (project_id, user_id, role) = (*project_id, *user_id, *role);
            announce(
                state,
                Control::RoleChanged {
                    project_id,
                    user_id,
                    role,
                },
            )
            .await;
        }
        _ => {}
    }
    let tagged = serde_json::to_value(&published.event)?;
    let name = tagged["type"].as_str().unwrap_or_default().to_owned();
    let data = tagged.get("data").cloned().unwrap_or(Value::Null);
    let actor = published.actor.map(|actor| actor.to_string());
    let now = state.clock.now();
    for channel in channels(&published.event) {
        let topic = channel.to_string();
        let template = durable_event(&topic, &name, &data, actor.as_deref(), now);
        let recorded = state
            .realtime
            .history
            .append(&topic, now, &template)
            .await?;
        let envelope = Envelope {
            seq: Some(recorded.seq),
            ..Envelope::new(topic, recorded.frame)
        };
        state.realtime.bus.publish(envelope).await?;
    }
    if let Some(control) = room_access_change(&published.event) {
        announce(state, control).await;
    }
    Ok(())
}

/// Whose access to a room's channel must be checked again once the event is out: the
/// member who left a private room, everyone on a room made private or deleted.
fn room_access_change(event: &DomainEvent) -> Option<Control> {
    match event {
        DomainEvent::RoomMemberLeft(left) if left.visibility == Visibility::Private => {
            Some(Control::RoomAccessChanged {
                room_id: left.room_id,
                user_id: Some(left.user_id),
            })
        }
        DomainEvent::RoomUpdated(room) if room.visibility == Visibility::Private => {
            Some(Control::RoomAccessChanged {
                room_id: room.id,
                user_id: None,
            })
        }
        DomainEvent::RoomDeleted(room) => Some(Control::RoomAccessChanged {
            room_id: room.id,
            user_id: None,
        }),
        _ => None,
    }
}

/// The channels an event belongs on.
fn channels(event: &DomainEvent) -> Vec<Channel> {
    let mut channels: Vec<Channel> = event
        .project_id()
        .map(Channel::Project)
        .into_iter()
        .collect();
    channels.extend(event.room_id().map(Channel::Room));
    channels.extend(event.table_id().map(Channel::Table));
    match event {
        DomainEvent::WorkspaceCreated(w) | DomainEvent::WorkspaceUpdated(w) => {
            channels.push(Channel::Workspace(w.id));
        }
        DomainEvent::WorkspaceDeleted { workspace_id, .. }
        | DomainEvent::FileDeleted { workspace_id, .. } => {
            channels.push(Channel::Workspace(*workspace_id));
        }
        DomainEvent::FileCreated { file, .. }
        | DomainEvent::FileRenamed { file, .. }
        | DomainEvent::FileSaved { file, .. } => {
            channels.push(Channel::Workspace(file.workspace_id));
        }
        // So that a workspace's list of tables stays current.
        DomainEvent::TableCreated(table)
        | DomainEvent::TableUpdated(table)
        | DomainEvent::TableDeleted(table) => {
            channels.push(Channel::Workspace(table.workspace_id));
        }
        DomainEvent::MemberAdded { member, .. } => channels.push(Channel::User(member.user_id)),
        DomainEvent::MemberRoleChanged { user_id, .. }
        | DomainEvent::MemberRemoved { user_id, .. } => {
            channels.push(Channel::User(*user_id));
        }
        DomainEvent::OwnershipTransferred { from, to, .. } => {
            channels.extend([Channel::User(*from), Channel::User(*to)]);
        }
        DomainEvent::JobCreated(job)
        | DomainEvent::JobUpdated(job)
        | DomainEvent::JobProgress(job) => {
            channels.extend(job.created_by.map(Channel::User));
        }
        _ => {}
    }
    channels
}
