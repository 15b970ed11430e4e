//! `GET /api/v1/workspaces/{workspace_id}/presence` and `GET /api/v1/rooms/{room_id}/presence`:
//! who is in a workspace or chat room now (on any node), and when each absent member was
//! last there.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tandem_domain::{Action, ProjectId, UserId};
use tandem_realtime::{Channel, Member};
use tandem_store::Place;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::chat::access::RoomAccess;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, WorkspaceAccess};
use crate::state::AppState;

/// Members read per page while matching last-seen times to current members.
const MEMBER_PAGE: u32 = 500;

/// A workspace's presence.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspacePresence {
    pub workspace_id: Uuid,
    /// Members present now, longest present first.
    pub online: Vec<OnlineMember>,
    /// Current project members who are not present, most recently seen first; members
    /// never seen in this workspace are not listed.
    pub last_seen: Vec<LastSeenMember>,
}

/// A chat room's presence.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomPresence {
    pub room_id: Uuid,
    /// Users on the room's channel now, longest present first.
    pub online: Vec<OnlineMember>,
    /// Members of the room who are not present, most recently seen first; members never
    /// seen in the room are not listed.
    pub last_seen: Vec<LastSeenMember>,
}

/// A user present in the workspace or room, however many connections (tabs) they have open.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnlineMember {
    pub user_id: Uuid,
    pub name: String,
    /// Open connections (tabs, devices) on the channel.
    pub connections: usize,
    /// When the earliest of those connections joined.
    pub since: DateTime<Utc>,
    /// What the most recently updated connection says about itself (e.g. its open file).
    pub meta: Value,
}

/// When an absent member was last there.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastSeenMember {
    pub user_id: Uuid,
    pub name: String,
    pub seen_at: DateTime<Utc>,
}

impl From<Member> for OnlineMember {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user_id.0,
            name: member.name,
            connections: member.connections,
            since: member.since,
            meta: member.meta,
        }
    }
}

/// Who is in a workspace now, and when absent members were last there.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/presence", tag = "realtime",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The workspace's presence", body = WorkspacePresence),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: presence could not be read", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn workspace_presence(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
) -> ApiResult<ApiJson<WorkspacePresence>> {
    ws.access.require(Action::ReadWorkspace)?;
    let workspace_id = ws.workspace.id;
    let (online, last_seen) = presence(
        &state,
        Channel::Workspace(workspace_id),
        Place::Workspace(workspace_id),
        ws.workspace.project_id,
        |_| true,
    )
    .await?;
    Ok(ApiJson(WorkspacePresence {
        workspace_id: workspace_id.0,
        online,
        last_seen,
    }))
}

/// Who is in a chat room now, and when its absent members were last there (anyone who
/// may read the room).
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}/presence", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The room's presence", body = RoomPresence),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: presence could not be read", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn room_presence(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<ApiJson<RoomPresence>> {
    let room_id = access.room.id;
    let members: HashSet<UserId> = state
        .store
        .room_members(room_id)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let (online, last_seen) = presence(
        &state,
        Channel::Room(room_id),
        Place::Room(room_id),
        access.room.project_id,
        |user| members.contains(&user),
    )
    .await?;
    Ok(ApiJson(RoomPresence {
        room_id: room_id.0,
        online,
        last_seen,
    }))
}

/// Who is on `channel` now, and the last-seen times at `place` of the absent project
/// members `listed` keeps.
async fn presence(
    state: &AppState,
    channel: Channel,
    place: Place,
    project: ProjectId,
    listed: impl Fn(UserId) -> bool,
) -> ApiResult<(Vec<OnlineMember>, Vec<LastSeenMember>)> {
    let online = state
        .realtime
        .presence
        .members(&channel.to_string())
        .await
        .map_err(|error| {
            tracing::error!(error = ?error, "reading presence failed");
            ApiError::Unavailable("presence".into())
        })?;
    let names = member_names(state, project).await?;
    let last_seen = state
        .store
        .last_seen(place)
        .await?
        .into_iter()
        .filter(|seen| !online.iter().any(|m| m.user_id == seen.user_id))
        .filter(|seen| listed(seen.user_id))
        .filter_map(|seen| {
            Some(LastSeenMember {
                user_id: seen.user_id.0,
                name: names.get(&seen.user_id)?.clone(),
                seen_at: seen.seen_at,
            })
        })
        .collect();
    let online = online.into_iter().map(OnlineMember::from).collect();
    Ok((online, last_seen))
}

/// The project's current members and their names.
async fn member_names(state: &AppState, project: ProjectId) -> ApiResult<HashMap<UserId, String>> {
    let mut names = HashMap::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_members(project, after, MEMBER_PAGE)
            .await?;
        after = page.last().map(|m| m.user_id);
        let full = page.len() == MEMBER_PAGE as usize;
        names.extend(page.into_iter().map(|m| (m.user_id, m.name)));
        if !full {
            return Ok(names);
        }
    }
}
