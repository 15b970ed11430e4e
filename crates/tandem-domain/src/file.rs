//! Files in a workspace: the path rules, a file's metadata, and its saved versions. A
//! file's text lives in its collaborative document (`tandem-collab`), not here.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{FieldError, FileId, UserId, VersionId, WorkspaceId};

/// A file's path in its workspace: relative, `/`-separated, 1 to 1,024 characters, with no
/// empty, `.` or `..` segments, no backslashes and no control characters. Folders are
/// implied by paths; there are no folder entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FilePath(String);

impl FilePath {
    pub const MAX_CHARS: usize = 1_024;

    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let fail = |message: &str| Err(FieldError::new(field, message));
        if raw.is_empty() {
            return fail("is required");
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return fail("must be at most 1024 characters");
        }
        if raw.starts_with('/') {
            return fail("must be relative (no leading /)");
        }
        if raw.chars().any(char::is_control) {
            return fail("must not contain control characters");
        }
        if raw.contains('\\') {
            return fail("must use / as the separator, not \\");
        }
        for segment in raw.split('/') {
            match segment {
                "" => return fail("must not have empty segments (// or a trailing /)"),
                "." | ".." => return fail("must not have . or .. segments"),
                _ if segment.trim() != segment => {
                    return fail("segments must not start or end with spaces");
                }
                _ => {}
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// Rebuilds a path read from storage, where it was validated on the way in.
    pub fn from_storage(path: String) -> Self {
        Self(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    pub id: FileId,
    pub workspace_id: WorkspaceId,
    pub path: FilePath,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a version was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// Asked for by a person, with a name.
    Named,
    /// Taken by the server while the file was being edited.
    Auto,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Named => "named",
            Self::Auto => "auto",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "named" => Some(Self::Named),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }
}

/// A saved version of a file. Its document state (a Yjs v1 update that rebuilds the
/// whole document as it was) is stored beside it and read on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileVersion {
    pub id: VersionId,
    pub file_id: FileId,
    pub kind: VersionKind,
    /// Set for named versions.
    pub name: Option<String>,
    /// Who asked for it; none for automatic versions.
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_paths_are_kept_as_written() {
        for path in [
            "a.rs",
            "src/main.rs",
            "docs/read me.md",
            "ünï/cödé.txt",
            ".env",
            "a/.b/c..d",
        ] {
            assert_eq!(FilePath::parse(path, "path").unwrap().as_str(), path);
        }
        let longest = "a".repeat(1_024);
        assert!(FilePath::parse(&longest, "path").is_ok());
    }

    #[test]
    fn bad_paths_are_refused_with_a_reason() {
        let bad = [
            "",
            "/etc/passwd",
            "a//b",
            "a/",
            "../a",
            "a/../b",
            "./a",
            "a/./b",
            "a\\b",
            "a\nb",
            "a\0b",
            " a/b",
            "a /b",
        ];
        for path in bad {
            let error = FilePath::parse(path, "path").unwrap_err();
            assert_eq!(error.field, "path", "{path:?}");
        }
        assert!(FilePath::parse(&"a".repeat(1_025), "path").is_err());
    }
}
