//! Validated names: a field's name and a select option's name share one rule set.

use serde::{Deserialize, Serialize};

/// The longest name, in characters (not bytes), after trimming.
pub const MAX_NAME_CHARS: usize = 255;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was left after trimming.
    #[error("a name cannot be empty")]
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters.
    #[error("a name can hold at most {MAX_NAME_CHARS} characters, this one has {chars}")]
    TooLong {
        /// The trimmed name's length in characters.
        chars: usize,
    },
    /// A control character (tab, newline, NUL…) would break single-line display.
    #[error("a name cannot contain control characters")]
    ControlCharacter,
}

impl NameError {
    /// The stable machine code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            NameError::Empty => "name_empty",
            NameError::TooLong { .. } => "name_too_long",
            NameError::ControlCharacter => "name_control_character",
        }
    }
}

/// Trims and checks a name; shared by [`FieldName`] and option names.
pub(crate) fn check_name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    let chars = trimmed.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { chars });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

/// The comparison key of a name: uniqueness is case-insensitive, so "Status" and
/// "STATUS" collide. Full Unicode lowercase, so "Ä" and "ä" collide too.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A field's display name: trimmed, 1..=255 characters, no control characters.
/// Unique within a table case-insensitively; compare with [`FieldName::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldName(String);

impl FieldName {
    /// Trims `raw` and checks it.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        check_name(raw).map(FieldName)
    }

    /// The name as the user wrote it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key two names are compared by for uniqueness (case-insensitive).
    pub fn key(&self) -> String {
        name_key(&self.0)
    }
}

impl TryFrom<String> for FieldName {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Self, NameError> {
        FieldName::parse(&raw)
    }
}

impl From<FieldName> for String {
    fn from(name: FieldName) -> String {
        name.0
    }
}

impl std::fmt::Display for FieldName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(FieldName::parse("  Status ").unwrap().as_str(), "Status");
    }

    #[test]
    fn an_empty_or_blank_name_is_refused() {
        assert_eq!(FieldName::parse("").unwrap_err().code(), "name_empty");
        assert_eq!(FieldName::parse(" \t ").unwrap_err(), NameError::Empty);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(FieldName::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            FieldName::parse(&"é".repeat(256)).unwrap_err(),
            NameError::TooLong { chars: 256 }
        );
    }

    #[test]
    fn control_characters_inside_are_refused() {
        assert_eq!(
            FieldName::parse("a\nb").unwrap_err().code(),
            "name_control_character"
        );
        assert!(FieldName::parse("a\0b").is_err());
    }

    #[test]
    fn names_differing_only_in_case_share_a_key() {
        let a = FieldName::parse("Due Date").unwrap();
        let b = FieldName::parse("DUE date").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<FieldName>("\"  \"").is_err());
        let name: FieldName = serde_json::from_str("\" x \"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"x\"");
    }

    proptest! {
        #[test]
        fn any_string_parses_or_errors_and_a_parsed_name_reparses_to_itself(s in ".*") {
            if let Ok(name) = FieldName::parse(&s) {
                prop_assert_eq!(FieldName::parse(name.as_str()).unwrap(), name);
            }
        }
    }
}
