//! The storage contract for projects, members, invitations, workspaces and the audit log.
//!
//! Every mutation takes an `AuditContext` and writes its audit row, with the target's
//! state before and after, in the same transaction as the change: an audit log that can
//! miss a change, or record one that rolled back, is worse than none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tandem_domain::{
    AuditContext, AuditEntry, AuditFilter, AuditId, Description, Email, Invitation, InvitationId,
    Member, Membership, Name, NewInvitation, Project, ProjectId, Role, TokenHash, UserId,
    Workspace, WorkspaceId,
};

use crate::StoreError;

/// A project with the role of the user it was listed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectWithRole {
    pub project: Project,
    pub role: Role,
}

/// Projects. Audit actions: `project.created`, `project.updated`.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates `project` with `owner` as its only owner.
    async fn create_project(
        &self,
        project: &Project,
        owner: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    async fn project_by_id(&self, id: ProjectId) -> Result<Option<Project>, StoreError>;
    /// The projects `user` is a member of, by id, starting after `after`.
    async fn list_projects_for_user(
        &self,
        user: UserId,
        after: Option<ProjectId>,
        limit: u32,
    ) -> Result<Vec<ProjectWithRole>, StoreError>;
    /// Changes the fields given; `NotFound` if there is no such project.
    async fn update_project(
        &self,
        id: ProjectId,
        name: Option<&Name>,
        description: Option<&Description>,
        audit: &AuditContext,
    ) -> Result<Project, StoreError>;
    /// Deletes the project and everything under it: workspaces, memberships,
    /// invitations and its audit log. `NotFound` if there is no such project.
    async fn delete_project(&self, id: ProjectId) -> Result<(), StoreError>;
}

/// Memberships. Audit actions: `member.added`, `member.role_changed`, `member.removed`,
/// `project.ownership_transferred`.
#[async_trait]
pub trait MemberStore: Send + Sync {
    async fn membership(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError>;
    /// Members with their account's name and email, by user id, starting after `after`.
    async fn list_members(
        &self,
        project: ProjectId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError>;
    /// `Conflict("members.user")` if the user is a member already.
    async fn add_member(
        &self,
        membership: &Membership,
        audit: &AuditContext,
    ) -> Result<Member, StoreError>;
    /// `NotFound` if the user is not a member.
    async fn change_role(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        audit: &AuditContext,
    ) -> Result<Member, StoreError>;
    /// `NotFound` if the user is not a member.
    async fn remove_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    /// Makes `to` (a member) the owner and the current owner an admin, atomically.
    /// `NotFound` if `to` is not a member.
    async fn transfer_ownership(
        &self,
        project: ProjectId,
        to: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
}

/// What accepting an invitation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// The caller joined `project_id` with the invitation's role.
    Joined {
        project_id: ProjectId,
        member: Member,
    },
    /// The caller was a member already; their role is unchanged, the invitation is used.
    AlreadyMember {
        project_id: ProjectId,
        member: Member,
    },
    /// No invitation has this token.
    Unknown,
    /// The invitation was accepted before.
    Used,
    Revoked,
    Expired,
    /// The invitation names another email.
    WrongEmail,
}

/// Invitations. Audit actions: `invitation.created`, `invitation.revoked`,
/// `invitation.accepted` (with `member.added` when someone joins).
#[async_trait]
pub trait InvitationStore: Send + Sync {
    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    async fn invitation_by_id(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError>;
    /// Invitations neither accepted, revoked nor expired at `now`, by id after `after`.
    async fn list_pending_invitations(
        &self,
        project: ProjectId,
        now: DateTime<Utc>,
        after: Option<InvitationId>,
        limit: u32,
    ) -> Result<Vec<Invitation>, StoreError>;
    /// Revokes an invitation that was neither accepted nor revoked (an expired one too);
    /// `NotFound` otherwise.
    async fn revoke_invitation(
        &self,
        id: InvitationId,
        audit: &AuditContext,
    ) -> Result<Invitation, StoreError>;
    /// Accepts the invitation whose token hashes to `token` for the acting user (whose
    /// email is `email`), in one transaction; `audit.at` is the time of acceptance.
    async fn accept_invitation(
        &self,
        token: &TokenHash,
        email: &Email,
        audit: &AuditContext,
    ) -> Result<Acceptance, StoreError>;
}

/// Workspaces. Audit actions: `workspace.created`, `workspace.updated`,
/// `workspace.deleted`.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// `Conflict("workspaces.name")` if the project has a workspace of that name.
    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    async fn workspace_by_id(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError>;
    async fn list_workspaces(
        &self,
        project: ProjectId,
        after: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<Workspace>, StoreError>;
    /// Changes the fields given; `NotFound` or `Conflict("workspaces.name")`.
    async fn update_workspace(
        &self,
        id: WorkspaceId,
        name: Option<&Name>,
        settings: Option<&Map<String, Value>>,
        audit: &AuditContext,
    ) -> Result<Workspace, StoreError>;
    /// `NotFound` if there is no such workspace.
    async fn delete_workspace(
        &self,
        id: WorkspaceId,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
}

/// Reading the audit log; it is written only by the mutations above.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// A project's entries matching `filter`, oldest first, by id after `after`.
    async fn list_audit(
        &self,
        project: ProjectId,
        filter: &AuditFilter,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
