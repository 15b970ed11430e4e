//! Project roles and the one permission policy every handler asks.
//!
//! `owner` > `admin` > `editor` > `viewer`. All permission decisions live here, as
//! data a reviewer can read in one screen: handlers never compare roles themselves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::FieldError;

/// A member's role in a project, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Parses a role as clients send it; `collaborator` (older clients) means `editor`.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        raw.parse()
            .map_err(|()| FieldError::new(field, "must be one of owner, admin, editor, viewer"))
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(raw: &str) -> Result<Self, ()> {
        match raw {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "editor" | "collaborator" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            _ => Err(()),
        }
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse()
            .map_err(|()| serde::de::Error::custom("must be one of owner, admin, editor, viewer"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a member can try to do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadProject,
    UpdateProject,
    DeleteProject,
    ListMembers,
    ManageMembers,
    ManageInvitations,
    TransferOwnership,
    ReadWorkspace,
    CreateWorkspace,
    UpdateWorkspace,
    DeleteWorkspace,
    ReadAuditLog,
    /// Change file contents (collaborative editing).
    EditFiles,
    /// Submit background jobs.
    RunJobs,
    /// Publish ephemeral realtime events (cursor, selection, typing) on a workspace.
    PublishEphemeral,
    /// Create chat rooms.
    CreateRooms,
    /// Read live tables: their fields, rows, history and events.
    ReadTables,
    /// Create and change live tables, their fields and their rows.
    EditTables,
    /// Delete a live table with all its rows.
    DeleteTables,
}

impl Action {
    /// The least role that may take this action. The whole policy is this table.
    pub fn minimum_role(self) -> Role {
        match self {
            Action::ReadProject
            | Action::ListMembers
            | Action::ReadWorkspace
            | Action::ReadTables => Role::Viewer,
            Action::EditFiles
            | Action::RunJobs
            | Action::PublishEphemeral
            | Action::CreateRooms
            | Action::EditTables
            | Action::CreateWorkspace
            | Action::UpdateWorkspace => Role::Editor,
            Action::UpdateProject
            | Action::ManageMembers
            | Action::ManageInvitations
            | Action::DeleteWorkspace
            | Action::DeleteTables
            | Action::ReadAuditLog => Role::Admin,
            Action::DeleteProject | Action::TransferOwnership => Role::Owner,
        }
    }
}

/// The one permission check: may a member with `role` take `action`?
pub fn allows(role: Role, action: Action) -> bool {
    role >= action.minimum_role()
}

/// Why a change to someone's membership is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    #[error("you cannot grant a role above your own")]
    AboveOwnRole,
    #[error("only the owner can change or remove an admin or the owner")]
    OutranksActor,
    #[error("ownership moves only by transfer")]
    OwnershipByTransferOnly,
    #[error("the owner cannot leave or be removed; transfer ownership first")]
    OwnerMustTransfer,
}

/// May `actor` (already allowed `ManageMembers`) give `target` — currently holding
/// `current`, or not a member if `None` — the role `new`?
pub fn may_assign(actor: Role, current: Option<Role>, new: Role) -> Result<(), MembershipRefusal> {
    if new == Role::Owner || current == Some(Role::Owner) {
        return Err(MembershipRefusal::OwnershipByTransferOnly);
    }
    if new > actor {
        return Err(MembershipRefusal::AboveOwnRole);
    }
    if current.is_some_and(|c| c >= actor) && actor != Role::Owner {
        return Err(MembershipRefusal::OutranksActor);
    }
    Ok(())
}

/// May `actor` (already allowed `ManageMembers`) remove a member holding `target`?
pub fn may_remove(actor: Role, target: Role) -> Result<(), MembershipRefusal> {
    if target == Role::Owner {
        return Err(MembershipRefusal::OwnerMustTransfer);
    }
    if target >= actor && actor != Role::Owner {
        return Err(MembershipRefusal::OutranksActor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(
            Role::Owner > Role::Admin && Role::Admin > Role::Editor && Role::Editor > Role::Viewer
        );
    }

    #[test]
    fn collaborator_is_read_as_editor_and_written_as_editor() {
        let role: Role = serde_json::from_str("\"collaborator\"").unwrap();
        assert_eq!(role, Role::Editor);
        assert_eq!(serde_json::to_string(&role).unwrap(), "\"editor\"");
        assert!(Role::parse("superuser", "role").is_err());
        assert!("Owner".parse::<Role>().is_err(), "roles are lower case");
    }

    #[test]
    fn the_policy_matrix() {
        use Action::*;
        // (action, viewer, editor, admin, owner)
        let matrix = [
            (ReadProject, true, true, true, true),
            (ListMembers, true, true, true, true),
            (ReadWorkspace, true, true, true, true),
            (EditFiles, false, true, true, true),
            (RunJobs, false, true, true, true),
            (PublishEphemeral, false, true, true, true),
            (CreateWorkspace, false, true, true, true),
            (UpdateWorkspace, false, true, true, true),
            (UpdateProject, false, false, true, true),
            (ManageMembers, false, false, true, true),
            (ManageInvitations, false, false, true, true),
            (DeleteWorkspace, false, false, true, true),
            (ReadAuditLog, false, false, true, true),
            (DeleteProject, false, false, false, true),
            (TransferOwnership, false, false, false, true),
        ];
        for (action, viewer, editor, admin, owner) in matrix {
            let got = Role::ALL.map(|role| allows(role, action));
            assert_eq!(got, [viewer, editor, admin, owner], "{action:?}");
        }
    }

    #[test]
    fn nobody_grants_above_their_own_role() {
        assert_eq!(may_assign(Role::Admin, None, Role::Admin), Ok(()));
        assert_eq!(
            may_assign(Role::Admin, Some(Role::Viewer), Role::Editor),
            Ok(())
        );
        assert_eq!(
            may_assign(Role::Editor, None, Role::Admin),
            Err(MembershipRefusal::AboveOwnRole)
        );
    }

    #[test]
    fn admins_cannot_touch_other_admins_or_the_owner() {
        assert_eq!(
            may_assign(Role::Admin, Some(Role::Admin), Role::Viewer),
            Err(MembershipRefusal::OutranksActor)
        );
        assert_eq!(
            may_assign(Role::Admin, Some(Role::Owner), Role::Viewer),
            Err(MembershipRefusal::OwnershipByTransferOnly)
        );
        assert_eq!(
            may_remove(Role::Admin, Role::Admin),
            Err(MembershipRefusal::OutranksActor)
        );
        assert_eq!(may_remove(Role::Owner, Role::Admin), Ok(()));
        assert_eq!(
            may_assign(Role::Owner, Some(Role::Admin), Role::Viewer),
            Ok(())
        );
    }

    #[test]
    fn ownership_only_moves_by_transfer() {
        assert_eq!(
            may_assign(Role::Owner, Some(Role::Admin), Role::Owner),
            Err(MembershipRefusal::OwnershipByTransferOnly)
        );
        assert_eq!(
            may_remove(Role::Owner, Role::Owner),
            Err(MembershipRefusal::OwnerMustTransfer)
        );
    }
}
