//! Domain events: what changed, published after the transaction that changed it commits.
//! The realtime gateway turns them into channel events.

use serde::Serialize;

use crate::{
    File, FileId, FilePath, Invitation, JobStatus, Member, Project, ProjectId, Role, UserId,
    Workspace, WorkspaceId,
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
}

impl DomainEvent {
    /// The project whose channel carries this event.
    pub fn project_id(&self) -> ProjectId {
        match self {
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
        }
    }
}
