//! Channel names: `project:{id}`, `workspace:{id}`, `user:{id}`, `room:{id}`, `table:{id}`.

use std::fmt;
use std::str::FromStr;

use tandem_domain::{ProjectId, RoomId, TableId, UserId, WorkspaceId};
use uuid::Uuid;

/// A channel a client can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Everything that happens in a project; for its members.
    Project(ProjectId),
    /// A workspace's events and its collaborators' cursors; for the project's members.
    Workspace(WorkspaceId),
    /// One user's private channel (their jobs, invitations); for that user only.
    User(UserId),
    /// A chat room's messages, reactions, read markers, typing and presence; for those
    /// who may read the room.
    Room(RoomId),
    /// A live table's changes (its schema now; its rows next) and its viewers'
    /// ephemeral events and presence; for those who may read the table's workspace's
    /// project's tables.
    Table(TableId),
}

/// Why a channel name was refused; each has a stable code for `error` frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("unknown channel kind {0:?}: use project:, workspace:, user:, room: or table:")]
    UnknownKind(String),
    #[error("the channel id {0:?} is not a UUID")]
    MalformedId(String),
}

impl ChannelError {
    /// The `code` of the `error` frame that reports this.
    pub fn code(&self) -> &'static str {
        match self {
            ChannelError::UnknownKind(_) => "unknown_channel",
            ChannelError::MalformedId(_) => "malformed_channel",
        }
    }
}

impl FromStr for Channel {
    type Err = ChannelError;

    fn from_str(name: &str) -> Result<Self, ChannelError> {
        let (kind, id) = name
            .split_once(':')
            .ok_or_else(|| ChannelError::UnknownKind(name.to_owned()))?;
        let parse = || Uuid::parse_str(id).map_err(|_| ChannelError::MalformedId(id.to_owned()));
        match kind {
            "project" => Ok(Channel::Project(ProjectId(parse()?))),
            "workspace" => Ok(Channel::Workspace(WorkspaceId(parse()?))),
            "user" => Ok(Channel::User(UserId(parse()?))),
            "room" => Ok(Channel::Room(RoomId(parse()?))),
            "table" => Ok(Channel::Table(TableId(parse()?))),
            other => Err(ChannelError::UnknownKind(other.to_owned())),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Project(id) => write!(f, "project:{id}"),
            Channel::Workspace(id) => write!(f, "workspace:{id}"),
            Channel::User(id) => write!(f, "user:{id}"),
            Channel::Room(id) => write!(f, "room:{id}"),
            Channel::Table(id) => write!(f, "table:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01900000-0000-7000-8000-000000000000";

    #[test]
    fn channel_names_round_trip() {
        for name in [
            format!("project:{ID}"),
            format!("workspace:{ID}"),
            format!("user:{ID}"),
            format!("room:{ID}"),
            format!("table:{ID}"),
        ] {
            let channel: Channel = name.parse().unwrap();
            assert_eq!(channel.to_string(), name);
        }
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        let unknown = "shelf:x".parse::<Channel>().unwrap_err();
        assert_eq!(unknown.code(), "unknown_channel");
        assert_eq!(
            "project".parse::<Channel>().unwrap_err().code(),
            "unknown_channel"
        );
        let malformed = "project:42".parse::<Channel>().unwrap_err();
        assert_eq!(malformed, ChannelError::MalformedId("42".into()));
        assert_eq!(malformed.code(), "malformed_channel");
        assert!(
            format!("Project:{ID}").parse::<Channel>().is_err(),
            "kinds are lower case"
        );
    }
}
