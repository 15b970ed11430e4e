//! Tandem's domain: pure types and rules shared by every other crate, with no I/O.
//!
//! Values that cross a trust boundary (an email, a name, a password, a role) are parsed
//! into newtypes once; after that the type system carries the proof that they are valid.
//! The permission policy (`role::allows`) is the one place that decides who may do what.

mod account;
mod audit;
mod chat;
mod clock;
mod events;
mod file;
mod ids;
mod job;
mod project;
mod role;
mod session;
mod table;
mod validation;

pub use account::{DisplayName, Email, NewPassword, User};
pub use audit::{AuditContext, AuditEntry, AuditFilter};
pub use chat::{
    Emoji, InviteRefusal, Mention, Message, MessageBody, NewMessage, Reaction, Room, RoomInvite,
    RoomMember, Topic, Visibility, parse_client_id,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{DomainEvent, ReactionChange, ReadMarker, RoomMembership};
pub use file::{File, FilePath, FileVersion, VersionKind};
pub use ids::{
    AuditId, FieldId, FileId, InvitationId, JobId, MessageId, ProjectId, RoomId, RoomInviteId,
    RowId, SessionId, TableId, UserId, VersionId, WorkspaceId,
};
pub use job::{Job, JobError, JobKind, JobState, JobStatus, LeaseToken, NewJob, backoff};
pub use project::{
    Description, Invitation, InvitationState, Member, Membership, Name, NewInvitation, Project,
    Workspace,
};
pub use role::{Action, MembershipRefusal, Role, allows, may_assign, may_remove};
pub use session::{NewSession, Rotation, Session, TokenHash};
pub use table::{LiveTable, RowDelta, RowsEvent, TableField};
pub use validation::FieldError;
