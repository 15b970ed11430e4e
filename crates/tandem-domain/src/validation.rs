//! The one shape of a validation failure: which field, and what is wrong with it.

use std::borrow::Cow;

use serde::Serialize;

/// One invalid input field, reported to clients as `{field, message}`, with a stable
/// `code` where the rule broken has one (a live table's cell: `wrong_type`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field name, as the client sent it (a dotted path when nested).
    pub field: Cow<'static, str>,
    /// A sentence a person can act on.
    pub message: String,
    /// The stable machine code of the rule broken, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    /// The same error carrying the stable code of the rule broken.
    #[must_use]
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

/// The rule every human-chosen name follows (accounts, projects, workspaces): trimmed,
/// 1 to 100 characters, no control characters. Returns the trimmed name.
pub(crate) fn parse_name(raw: &str, field: &'static str) -> Result<String, FieldError> {
    const MAX_CHARS: usize = 100;
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if name.chars().count() > MAX_CHARS {
        return Err(FieldError::new(field, "must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}
