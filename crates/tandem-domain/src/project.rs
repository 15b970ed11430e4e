//! Projects, their members, workspaces and invitations.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::validation::parse_name;
use crate::{Email, FieldError, InvitationId, ProjectId, Role, TokenHash, UserId, WorkspaceId};

/// A project or workspace name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        parse_name(raw, field).map(Self)
    }

    /// Rebuilds a name read from storage, where it was validated on the way in.
    pub fn from_storage(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A project description: at most 2,000 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 2_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "description",
                "must be at most 2000 characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn from_storage(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A project: the unit of membership and permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: Name,
    pub description: Description,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's membership of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// A member as listed: the membership with the account's name and email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// A workspace inside a project; it inherits the project's membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub project_id: ProjectId,
    pub name: Name,
    /// Free-form settings; always a JSON object.
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An invitation to join a project with a role; its token is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub project_id: ProjectId,
    /// If set, only the account with this email may accept.
    pub email: Option<Email>,
    pub role: Role,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Where an invitation stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl Invitation {
    pub fn state(&self, now: DateTime<Utc>) -> InvitationState {
        if self.accepted_at.is_some() {
            InvitationState::Accepted
        } else if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }
}

/// What the store needs to create an invitation.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub invitation: Invitation,
    /// The hash of the single-use token handed to the inviter once.
    pub token_hash: TokenHash,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn names_follow_the_shared_rule_and_report_their_field() {
        assert_eq!(Name::parse("  Apollo ", "name").unwrap().as_str(), "Apollo");
        assert_eq!(Name::parse("", "name").unwrap_err().field, "name");
        assert!(Name::parse(&"n".repeat(101), "name").is_err());
        assert!(Name::parse("tab\there", "name").is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::parse(&"d".repeat(2_000)).is_ok());
        assert_eq!(
            Description::parse(&"d".repeat(2_001)).unwrap_err().field,
            "description"
        );
    }

    #[test]
    fn an_invitation_moves_through_its_states() {
        let now = Utc::now();
        let mut invitation = Invitation {
            id: InvitationId::new(now),
            project_id: ProjectId::new(now),
            email: None,
            role: Role::Editor,
            created_by: UserId::new(now),
            created_at: now,
            expires_at: now + Duration::hours(1),
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        assert_eq!(invitation.state(now), InvitationState::Pending);
        assert_eq!(
            invitation.state(now + Duration::hours(1)),
            InvitationState::Expired
        );
        invitation.revoked_at = Some(now);
        assert_eq!(invitation.state(now), InvitationState::Revoked);
        invitation.accepted_at = Some(now);
        assert_eq!(invitation.state(now), InvitationState::Accepted);
    }
}
