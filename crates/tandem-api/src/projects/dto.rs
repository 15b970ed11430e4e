//! The JSON bodies of the project, member, invitation, workspace and audit routes.
//! Request bodies reject unknown fields, so a typo is an error, not a silent no-op.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tandem_domain::{AuditEntry, Invitation, Member, Project, Role, Workspace};
use utoipa::ToSchema;
use uuid::Uuid;

/// A project role. `collaborator` is accepted on input as `editor`; output says `editor`.
#[derive(Debug, ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "documents the role strings in the OpenAPI document"
)]
pub enum RoleSchema {
    Owner,
    Admin,
    Editor,
    Viewer,
    Collaborator,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    #[schema(example = "Apollo", min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(max_length = 2000)]
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// A project, with the caller's role in it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProjectView {
    pub fn new(project: Project, role: Role) -> Self {
        Self {
            id: project.id.0,
            name: project.name.as_str().to_owned(),
            description: project.description.as_str().to_owned(),
            role,
            created_at: project.created_at,
            updated_at: project.updated_at,
        }
    }
}

/// A member of a project.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user_id.0,
            name: member.name,
            email: member.email,
            role: member.role,
            joined_at: member.joined_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// The email of an existing account.
    pub email: String,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    #[schema(value_type = RoleSchema)]
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The member who becomes owner; the current owner becomes an admin.
    pub user_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    /// If given, only the account with this email may accept.
    pub email: Option<String>,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// Hours until the invitation expires: 1 to 720, default 72.
    #[schema(minimum = 1, maximum = 720)]
    pub expires_in_hours: Option<u32>,
}

/// A pending (or just changed) invitation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub email: Option<String>,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<Invitation> for InvitationView {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id.0,
            project_id: i.project_id.0,
            email: i.email.map(|e| e.as_str().to_owned()),
            role: i.role,
            created_by: i.created_by.0,
            created_at: i.created_at,
            expires_at: i.expires_at,
            revoked_at: i.revoked_at,
        }
    }
}

/// A new invitation with its token: shown this once, stored only as a hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    pub token: String,
    /// Where the invited person accepts (POST, logged in).
    #[schema(example = "/api/v1/invitations/3q2-…/accept")]
    pub accept_url: String,
}

/// The membership an accepted invitation gave (or the one the caller already had).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AcceptedInvitation {
    pub project_id: Uuid,
    pub member: MemberView,
    /// False when the caller was a member already (their role is unchanged).
    pub joined: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceRequest {
    #[schema(example = "Design", min_length = 1, max_length = 100)]
    pub name: String,
    /// A JSON object; default `{}`.
    #[serde(default)]
    pub settings: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspaceRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Replaces the whole settings object.
    pub settings: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub settings: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Workspace> for WorkspaceView {
    fn from(w: Workspace) -> Self {
        Self {
            id: w.id.0,
            project_id: w.project_id.0,
            name: w.name.as_str().to_owned(),
            settings: w.settings,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// One audit-log entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub id: Uuid,
    pub actor: Uuid,
    #[schema(example = "member.role_changed")]
    pub action: String,
    #[schema(example = "member")]
    pub target_type: String,
    pub target_id: String,
    pub request_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.0,
            actor: e.actor.0,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            before: e.before,
            after: e.after,
            at: e.at,
        }
    }
}
