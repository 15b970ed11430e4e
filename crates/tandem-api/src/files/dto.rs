//! The JSON shapes of files and versions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::{File, FileVersion, VersionKind};
use utoipa::ToSchema;
use uuid::Uuid;

/// A file's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Relative, `/`-separated; folders are implied by paths.
    pub path: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// When the file was created, moved, or its text last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<File> for FileView {
    fn from(file: File) -> Self {
        Self {
            id: file.id.0,
            workspace_id: file.workspace_id.0,
            path: file.path.as_str().to_owned(),
            created_by: file.created_by.0,
            created_at: file.created_at,
            updated_at: file.updated_at,
        }
    }
}

/// A file with its current text (the `Y.Text` named `content` of its document).
#[derive(Debug, Serialize, ToSchema)]
pub struct FileContentView {
    #[serde(flatten)]
    pub file: FileView,
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFileRequest {
    /// Relative path: no leading `/`, no `.` or `..` or empty segments, at most 1,024
    /// characters.
    pub path: String,
    /// The initial text.
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveFileRequest {
    /// The new path (a rename, a move, or both).
    pub path: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceContentRequest {
    /// The whole new text; applied as one edit merged with live editors' changes.
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVersionRequest {
    /// A name for the version, 1 to 100 characters.
    pub name: String,
}

/// A saved version of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub id: Uuid,
    pub file_id: Uuid,
    /// `named` (saved by a person) or `auto` (taken while the file was edited).
    #[schema(value_type = String, example = "named")]
    pub kind: VersionKind,
    pub name: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<FileVersion> for VersionView {
    fn from(version: FileVersion) -> Self {
        Self {
            id: version.id.0,
            file_id: version.file_id.0,
            kind: version.kind,
            name: version.name,
            created_by: version.created_by.map(|u| u.0),
            created_at: version.created_at,
        }
    }
}

/// A version with its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionContentView {
    #[serde(flatten)]
    pub version: VersionView,
    pub content: String,
}
