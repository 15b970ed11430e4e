//! Accounts: the validated inputs to registration and the stored user.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::validation::parse_name;
use crate::{FieldError, UserId};

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest address SMTP can carry (RFC 5321, section 4.5.3.1.3).
    const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = |message: &str| Err(FieldError::new("email", message));
        if email.is_empty() {
            return invalid("is required");
        }
        if email.len() > Self::MAX_LEN {
            return invalid("must be at most 254 characters");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("must not contain spaces");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("must look like name@example.com");
        };
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || !domain_ok {
            return invalid("must look like name@example.com");
        }
        Ok(Self(email))
    }

    /// Rebuilds an address read from storage, where it was validated on the way in.
    pub fn from_storage(email: String) -> Self {
        Self(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown to collaborators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        parse_name(raw, "name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password a user chose, checked against the strength rules; never stored as is.
///
/// Not `Serialize` and its `Debug` is redacted, so it cannot leak into a log or a body.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    /// Bounds the work an attacker can make one hash cost.
    pub const MAX_CHARS: usize = 256;
    /// The whole rule as an ECMA-262 regular expression, for the OpenAPI schema.
    pub const PATTERN: &'static str =
        r"^(?![a-z]*$)(?![A-Z]*$)(?![0-9]*$)(?![^a-zA-Z0-9]*$)[\s\S]{10,256}$";

    /// Checks `raw` for the field named `field` (`password` or `new_password`).
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        // The classes are ASCII-defined (with everything else one class) so that the rule
        // is exactly `PATTERN`, which clients can check before sending.
        let class = |c: char| match c {
            'a'..='z' => 0,
            'A'..='Z' => 1,
            '0'..='9' => 2,
            _ => 3,
        };
        let mut chars = raw.chars().map(class);
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(FieldError::new(
                field,
                "must mix at least two of: lower-case letters a-z, upper-case letters A-Z, digits, other characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: DisplayName,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Rebuilds a user from trusted storage, where the fields were validated on the way in.
    pub fn from_storage(
        id: UserId,
        email: String,
        name: String,
        password_hash: String,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            email: Email(email),
            name: DisplayName(name),
            password_hash,
            created_at,
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for raw in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@ex..com",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse(" Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("bell\u{7}").is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn short_passwords_are_rejected() {
        let err = NewPassword::parse("Ab1!", "password").unwrap_err();
        assert_eq!(err.field, "password");
        assert!(err.message.contains("at least 10"));
    }

    #[test]
    fn passwords_of_one_character_class_are_rejected() {
        for raw in [
            "aaaaaaaaaaaa",
            "ABCDEFGHIJKL",
            "123456789012",
            "!@#$%^&*()_+",
            "éééééééééé",
        ] {
            assert!(NewPassword::parse(raw, "password").is_err(), "{raw}");
        }
    }

    #[test]
    fn mixed_passwords_are_accepted() {
        assert!(NewPassword::parse("correct horse battery", "password").is_ok());
        assert!(NewPassword::parse("tandem2026pass", "password").is_ok());
        assert!(NewPassword::parse("passwörter", "password").is_ok());
        assert!(NewPassword::parse("ééééééééé1", "password").is_ok());
    }

    #[test]
    fn password_debug_is_redacted() {
        let pw = NewPassword::parse("tandem2026pass", "password").unwrap();
        assert!(!format!("{pw:?}").contains("tandem"));
    }
}
