//! Who may subscribe to or publish on a channel, decided by the one tenancy policy.

use tandem_domain::{
    Action, ProjectId, Role, RoomId, TableId, UserId, Visibility, WorkspaceId, allows,
};
use tandem_realtime::Channel;

use crate::state::AppState;

/// Why a subscription or publication is refused, as an `error` frame code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such channel for this caller (not a member: indistinguishable from missing).
    NotFound,
    /// A member whose role does not allow it.
    Forbidden,
    /// The store failed; logged.
    Unavailable,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Forbidden => "forbidden",
            Refusal::Unavailable => "service_unavailable",
        }
    }
}

/// Where a caller stands on a channel they may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The project the channel belongs to (none for the caller's own user channel).
    pub project: Option<ProjectId>,
    pub role: Option<Role>,
}

/// The caller's standing on `channel` if it may take `action` there.
pub async fn authorize(
    state: &AppState,
    user: UserId,
    channel: Channel,
    action: Action,
) -> Result<Standing, Refusal> {
    let own = Standing {
        project: None,
        role: None,
    };
    let project = match channel {
        Channel::User(id) if id == user => return Ok(own),
        Channel::User(_) => return Err(Refusal::NotFound),
        Channel::Project(id) => id,
        Channel::Workspace(id) => workspace_project(state, id).await?,
        Channel::Table(id) => table_project(state, id).await?,
        Channel::Room(id) => return authorize_room(state, user, id, action).await,
    };
    let membership = state
        .store
        .membership(project, user)
        .await
        .map_err(unavailable)?
        .ok_or(Refusal::NotFound)?;
    if allows(membership.role, action) {
        Ok(Standing {
            project: Some(project),
            role: Some(membership.role),
        })
    } else {
        Err(Refusal::Forbidden)
    }
}

/// The project a workspace belongs to.
async fn workspace_project(state: &AppState, id: WorkspaceId) -> Result<ProjectId, Refusal> {
    let workspace = state.store.workspace_by_id(id).await.map_err(unavailable)?;
    Ok(workspace.ok_or(Refusal::NotFound)?.project_id)
}

/// The project a live table belongs to, through its workspace.
async fn table_project(state: &AppState, id: TableId) -> Result<ProjectId, Refusal> {
    let table = state.store.table_by_id(id).await.map_err(unavailable)?;
    workspace_project(state, table.ok_or(Refusal::NotFound)?.workspace_id).await
}

/// A room's channel: as its project's channel, and a private room only for its members
/// (to anyone else it does not exist).
async fn authorize_room(
    state: &AppState,
    user: UserId,
    room: RoomId,
    action: Action,
) -> Result<Standing, Refusal> {
    let room = state
        .store
        .room_by_id(room)
        .await
        .map_err(unavailable)?
        .ok_or(Refusal::NotFound)?;
    if room.visibility == Visibility::Private
        && state
            .store
            .room_member(room.id, user)
            .await
            .map_err(unavailable)?
            .is_none()
    {
        return Err(Refusal::NotFound);
    }
    Box::pin(authorize(
        state,
        user,
        Channel::Project(room.project_id),
        action,
    ))
    .await
}

fn unavailable(error: tandem_store::StoreError) -> Refusal {
    tracing::error!(error = ?error, "authorising a realtime channel failed");
    Refusal::Unavailable
}
