//! Domain events: what changed, published after the transaction that changed it commits.
//! The realtime gateway turns them into channel events.

use serde::Serialize;

use crate::{
    Emoji, File, FileId, FilePath, Invitation, JobStatus, LiveTable, Member, Message, MessageId,
    Project, ProjectId, Reaction, Role, Room, RoomId, RowsEvent, TableField, TableId, UserId,
    Visibility, Workspace, WorkspaceId,
};

/// Something that happened in a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    #[serde(rename = "project.created")]
    ProjectCreated(Project),
    #[serde(rename = "project.updated")]
    ProjectUpdated(Project),
    #[serde(rename = "project.deleted")]
    ProjectDeleted { project_id: ProjectId },
    #[serde(rename = "member.added")]
    MemberAdded {
        project_id: ProjectId,
        member: Member,
    },
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged {
        project_id: ProjectId,
        user_id: UserId,
        role: Role,
    },
    #[serde(rename = "member.removed")]
    MemberRemoved {
        project_id: ProjectId,
        user_id: UserId,
    },
    #[serde(rename = "project.ownership_transferred")]
    OwnershipTransferred {
        project_id: ProjectId,
        from: UserId,
        to: UserId,
    },
    #[serde(rename = "invitation.created")]
    InvitationCreated(Invitation),
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked(Invitation),
    #[serde(rename = "workspace.created")]
    WorkspaceCreated(Workspace),
    #[serde(rename = "workspace.updated")]
    WorkspaceUpdated(Workspace),
    #[serde(rename = "workspace.deleted")]
    WorkspaceDeleted {
        project_id: ProjectId,
        workspace_id: WorkspaceId,
    },
    #[serde(rename = "file.created")]
    FileCreated { project_id: ProjectId, file: File },
    #[serde(rename = "file.renamed")]
    FileRenamed {
        project_id: ProjectId,
        file: File,
        from: FilePath,
    },
    #[serde(rename = "file.deleted")]
    FileDeleted {
        project_id: ProjectId,
        workspace_id: WorkspaceId,
        file_id: FileId,
        path: FilePath,
    },
    /// The file's text was written through the API (a replace or a restore).
    #[serde(rename = "file.saved")]
    FileSaved { project_id: ProjectId, file: File },
    /// A job was submitted.
    #[serde(rename = "job.created")]
    JobCreated(JobStatus),
    /// A job changed state: started, succeeded, failed (to retry), cancelled, dead,
    /// queued again.
    #[serde(rename = "job.updated")]
    JobUpdated(JobStatus),
    /// A running job reported progress.
    #[serde(rename = "job.progress")]
    JobProgress(JobStatus),
    /// A chat room was created (on the project's channel when it is public).
    #[serde(rename = "room.created")]
    RoomCreated(Room),
    /// A room was renamed, archived, restored or had its settings changed.
    #[serde(rename = "room.updated")]
    RoomUpdated(Room),
    /// A room was deleted with its messages; the room as it was.
    #[serde(rename = "room.deleted")]
    RoomDeleted(Room),
    #[serde(rename = "member.joined")]
    RoomMemberJoined(RoomMembership),
    /// A member left, or was removed from, a room.
    #[serde(rename = "member.left")]
    RoomMemberLeft(RoomMembership),
    #[serde(rename = "message.created")]
    MessageCreated(Message),
    #[serde(rename = "message.updated")]
    MessageUpdated(Message),
    /// A message was deleted: its tombstone.
    #[serde(rename = "message.deleted")]
    MessageDeleted(Message),
    /// Someone toggled an emoji on a message: every reaction it now has.
    #[serde(rename = "reaction.changed")]
    ReactionChanged(ReactionChange),
    /// A member's read marker moved forward ("seen by").
    #[serde(rename = "room.read")]
    RoomRead(ReadMarker),
    /// A live table was created (on its workspace's channel).
    #[serde(rename = "table.created")]
    TableCreated(LiveTable),
    /// A table was renamed, described or given another primary field.
    #[serde(rename = "table.updated")]
    TableUpdated(LiveTable),
    /// A table was deleted with its fields and rows; the table as it was.
    #[serde(rename = "table.deleted")]
    TableDeleted(LiveTable),
    #[serde(rename = "field.created")]
    FieldCreated(TableField),
    /// A field was renamed, moved, indexed or not, or changed type (its cells converted).
    #[serde(rename = "field.updated")]
    FieldUpdated(TableField),
    /// A field was deleted with its cells; the field as it was.
    #[serde(rename = "field.deleted")]
    FieldDeleted(TableField),
    /// Rows were created by one call.
    #[serde(rename = "row.created")]
    RowsCreated(RowsEvent),
    /// Rows were changed by one call: only the cells that changed.
    #[serde(rename = "row.updated")]
    RowsUpdated(RowsEvent),
    /// Rows went to the trash by one call.
    #[serde(rename = "row.deleted")]
    RowsDeleted(RowsEvent),
    /// Rows came back from the trash by one call, whole.
    #[serde(rename = "row.restored")]
    RowsRestored(RowsEvent),
}

/// Who joined or left which room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomMembership {
    pub room_id: RoomId,
    pub user_id: UserId,
    /// The room's visibility: leaving a private room ends its reader's access to it.
    pub visibility: Visibility,
}

/// One reaction toggled, with the message's reactions after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionChange {
    pub room_id: RoomId,
    pub message_id: MessageId,
    pub user_id: UserId,
    pub emoji: Emoji,
    /// True when the toggle added the emoji, false when it took it away.
    pub added: bool,
    pub reactions: Vec<Reaction>,
}

/// A member's read marker in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadMarker {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub seq: u64,
}

impl DomainEvent {
    /// The project whose channel carries this event; `None` for what only a chat room's
    /// members hear (messages, reactions, read markers, joins and leaves) and for live
    /// tables' changes, which their table's and workspace's channels carry.
    pub fn project_id(&self) -> Option<ProjectId> {
        let project = match self {
            DomainEvent::ProjectCreated(p) | DomainEvent::ProjectUpdated(p) => p.id,
            DomainEvent::InvitationCreated(i) | DomainEvent::InvitationRevoked(i) => i.project_id,
            DomainEvent::WorkspaceCreated(w) | DomainEvent::WorkspaceUpdated(w) => w.project_id,
            DomainEvent::ProjectDeleted { project_id }
            | DomainEvent::MemberAdded { project_id, .. }
            | DomainEvent::MemberRoleChanged { project_id, .. }
            | DomainEvent::MemberRemoved { project_id, .. }
            | DomainEvent::OwnershipTransferred { project_id, .. }
            | DomainEvent::WorkspaceDeleted { project_id, .. }
            | DomainEvent::FileCreated { project_id, .. }
            | DomainEvent::FileRenamed { project_id, .. }
            | DomainEvent::FileDeleted { project_id, .. }
            | DomainEvent::FileSaved { project_id, .. } => *project_id,
            DomainEvent::JobCreated(j)
            | DomainEvent::JobUpdated(j)
            | DomainEvent::JobProgress(j) => j.project_id,
            DomainEvent::RoomCreated(room)
            | DomainEvent::RoomUpdated(room)
            | DomainEvent::RoomDeleted(room)
                if room.visibility == Visibility::Public =>
            {
                room.project_id
            }
            DomainEvent::RoomCreated(_)
            | DomainEvent::RoomUpdated(_)
            | DomainEvent::RoomDeleted(_)
            | DomainEvent::RoomMemberJoined(_)
            | DomainEvent::RoomMemberLeft(_)
            | DomainEvent::MessageCreated(_)
            | DomainEvent::MessageUpdated(_)
            | DomainEvent::MessageDeleted(_)
            | DomainEvent::ReactionChanged(_)
            | DomainEvent::RoomRead(_)
            | DomainEvent::TableCreated(_)
            | DomainEvent::TableUpdated(_)
            | DomainEvent::TableDeleted(_)
            | DomainEvent::FieldCreated(_)
            | DomainEvent::FieldUpdated(_)
            | DomainEvent::FieldDeleted(_)
            | DomainEvent::RowsCreated(_)
            | DomainEvent::RowsUpdated(_)
            | DomainEvent::RowsDeleted(_)
            | DomainEvent::RowsRestored(_) => return None,
        };
        Some(project)
    }

    /// The chat room whose channel carries this event, if it is a chat event.
    pub fn room_id(&self) -> Option<RoomId> {
        match self {
            DomainEvent::RoomCreated(room)
            | DomainEvent::RoomUpdated(room)
            | DomainEvent::RoomDeleted(room) => Some(room.id),
            DomainEvent::RoomMemberJoined(m) | DomainEvent::RoomMemberLeft(m) => Some(m.room_id),
            DomainEvent::MessageCreated(m)
            | DomainEvent::MessageUpdated(m)
            | DomainEvent::MessageDeleted(m) => Some(m.room_id),
            DomainEvent::ReactionChanged(r) => Some(r.room_id),
            DomainEvent::RoomRead(r) => Some(r.room_id),
            _ => None,
        }
    }

    /// The live table whose channel carries this event: every change to a table or its
    /// schema after its creation (a new table is announced on its workspace's channel,
    /// before anyone can have subscribed to its own).
    pub fn table_id(&self) -> Option<TableId> {
        match self {
            DomainEvent::TableUpdated(table) | DomainEvent::TableDeleted(table) => Some(table.id),
            DomainEvent::FieldCreated(field)
            | DomainEvent::FieldUpdated(field)
            | DomainEvent::FieldDeleted(field) => Some(field.table_id),
            DomainEvent::RowsCreated(rows)
            | DomainEvent::RowsUpdated(rows)
            | DomainEvent::RowsDeleted(rows)
            | DomainEvent::RowsRestored(rows) => Some(rows.table_id),
            _ => None,
        }
    }
}
