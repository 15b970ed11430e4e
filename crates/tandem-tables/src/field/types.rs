//! Field types and their settings: what a field is, serde-tagged as
//! `{"type": "...", ...settings}`, and which SQL column kind it needs.

use serde::{Deserialize, Serialize};

use super::name::{NameError, check_name, name_key};

/// The most decimal places a number field keeps.
pub const MAX_PRECISION: u8 = 10;
/// The longest option id, in bytes; a UUID (36) fits.
pub const MAX_OPTION_ID_LEN: usize = 64;
/// The most options one select field holds; bounds validation and storage work.
pub const MAX_OPTIONS: usize = 1000;

/// Why a field type's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A number's precision outside 0..=10.
    #[error("precision must be between 0 and {MAX_PRECISION}, got {0}")]
    Precision(u8),
    /// An option id that is empty, too long, or not `[A-Za-z0-9_-]`.
    #[error("an option id must be 1 to {MAX_OPTION_ID_LEN} letters, digits, '-' or '_'")]
    OptionId,
    /// An option name that breaks the name rules.
    #[error("option name: {0}")]
    OptionName(NameError),
    /// A color that is empty, too long, or holds characters outside `[A-Za-z0-9#_-]`.
    #[error("a color must be 1 to 32 letters, digits, '#', '-' or '_'")]
    Color,
    /// Two options share an id.
    #[error("option id {0:?} is used twice")]
    DuplicateOptionId(String),
    /// Two options share a name, compared case-insensitively.
    #[error("option name {0:?} is used twice (names are compared ignoring case)")]
    DuplicateOptionName(String),
    /// More than [`MAX_OPTIONS`] options.
    #[error("a select field holds at most {MAX_OPTIONS} options")]
    TooManyOptions,
}

impl SettingsError {
    /// The stable machine code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            SettingsError::Precision(_) => "invalid_precision",
            SettingsError::OptionId => "invalid_option_id",
            SettingsError::OptionName(_) => "invalid_option_name",
            SettingsError::Color => "invalid_color",
            SettingsError::DuplicateOptionId(_) => "duplicate_option_id",
            SettingsError::DuplicateOptionName(_) => "duplicate_option_name",
            SettingsError::TooManyOptions => "too_many_options",
        }
    }
}

/// A number field's decimal places, 0..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Precision(u8);

impl Precision {
    /// Checks the range.
    pub fn new(places: u8) -> Result<Self, SettingsError> {
        if places > MAX_PRECISION {
            return Err(SettingsError::Precision(places));
        }
        Ok(Precision(places))
    }

    /// The number of decimal places.
    pub fn places(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Precision {
    type Error = SettingsError;
    fn try_from(places: u8) -> Result<Self, SettingsError> {
        Precision::new(places)
    }
}

impl From<Precision> for u8 {
    fn from(p: Precision) -> u8 {
        p.0
    }
}

/// A select option's stable id, chosen by the caller (a short slug or a UUID); cells
/// store it, so renaming an option rewrites no rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OptionId(String);

impl OptionId {
    /// Checks length and alphabet: the id travels in URLs and JSON filters unescaped.
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_OPTION_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(OptionId(raw.to_owned()))
        } else {
            Err(SettingsError::OptionId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OptionId {
    type Error = SettingsError;
    fn try_from(raw: String) -> Result<Self, SettingsError> {
        OptionId::parse(&raw)
    }
}

impl From<OptionId> for String {
    fn from(id: OptionId) -> String {
        id.0
    }
}

/// An option's display name: the same rules as a field name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OptionName(String);

impl OptionName {
    /// Trims `raw` and checks it.
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        check_name(raw)
            .map(OptionName)
            .map_err(SettingsError::OptionName)
    }

    /// The name as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive comparison key.
    pub fn key(&self) -> String {
        name_key(&self.0)
    }
}

impl TryFrom<String> for OptionName {
    type Error = SettingsError;
    fn try_from(raw: String) -> Result<Self, SettingsError> {
        OptionName::parse(&raw)
    }
}

impl From<OptionName> for String {
    fn from(name: OptionName) -> String {
        name.0
    }
}

/// An option's color token. The palette is the UI's business; this only keeps the
/// token short and safe to echo (a name like `blue` or a hex like `#3b82f6`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

impl Color {
    /// Checks length and alphabet.
    pub fn parse(raw: &str) -> Result<Self, SettingsError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'-' | b'_'));
        if ok {
            Ok(Color(raw.to_owned()))
        } else {
            Err(SettingsError::Color)
        }
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Color {
    type Error = SettingsError;
    fn try_from(raw: String) -> Result<Self, SettingsError> {
        Color::parse(&raw)
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        c.0
    }
}

/// One choice of a select field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectOption {
    /// Stable id, what cells store.
    pub id: OptionId,
    /// Display name, unique within the field ignoring case.
    pub name: OptionName,
    /// Optional color token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
}

/// A select field's options, in display order: ids unique, names unique ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<SelectOption>", into = "Vec<SelectOption>")]
pub struct SelectOptions(Vec<SelectOption>);

impl SelectOptions {
    /// Checks uniqueness of ids and names and the count.
    pub fn new(options: Vec<SelectOption>) -> Result<Self, SettingsError> {
        if options.len() > MAX_OPTIONS {
            return Err(SettingsError::TooManyOptions);
        }
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for option in &options {
            if !ids.insert(option.id.as_str()) {
                return Err(SettingsError::DuplicateOptionId(option.id.0.clone()));
            }
            if !names.insert(option.name.key()) {
                return Err(SettingsError::DuplicateOptionName(option.name.0.clone()));
            }
        }
        Ok(SelectOptions(options))
    }

    /// The options in display order.
    pub fn as_slice(&self) -> &[SelectOption] {
        &self.0
    }

    /// The option with this id.
    pub fn by_id(&self, id: &str) -> Option<&SelectOption> {
        self.0.iter().find(|o| o.id.as_str() == id)
    }

    /// The option whose name matches, ignoring case and surrounding spaces.
    pub fn by_name(&self, name: &str) -> Option<&SelectOption> {
        let key = name_key(name.trim());
        self.0.iter().find(|o| o.name.key() == key)
    }

    /// Resolves what a client wrote: an option id first (ids are what the API returns),
    /// then a name. Ids win so a read-modify-write round trip is stable even when one
    /// option's name happens to equal another's id.
    pub fn resolve(&self, given: &str) -> Option<&SelectOption> {
        self.by_id(given).or_else(|| self.by_name(given))
    }
}

impl TryFrom<Vec<SelectOption>> for SelectOptions {
    type Error = SettingsError;
    fn try_from(options: Vec<SelectOption>) -> Result<Self, SettingsError> {
        SelectOptions::new(options)
    }
}

impl From<SelectOptions> for Vec<SelectOption> {
    fn from(o: SelectOptions) -> Self {
        o.0
    }
}

/// A field's type and settings. JSON: `{"type": "number", "precision": 2}`.
///
/// Non-exhaustive: `link`, `lookup`, `rollup` and `formula` come next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldType {
    /// One line of text (line breaks are accepted; the UI shows one line).
    Text,
    /// Multi-line text.
    LongText,
    /// A finite number rounded to `precision` decimal places.
    Number {
        /// Decimal places kept, 0..=10.
        precision: Precision,
    },
    /// True or false.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant, RFC 3339 in, UTC with microseconds out.
    Datetime,
    /// One option of a list.
    SingleSelect {
        /// The choices.
        options: SelectOptions,
    },
    /// A set of options of a list, in the order written.
    MultiSelect {
        /// The choices.
        options: SelectOptions,
    },
    /// A project member's user id (a UUID).
    User,
    /// An email address.
    Email,
    /// An http or https URL.
    Url,
    /// Any JSON value, size-bounded.
    Json,
    /// A row number assigned by storage; read-only.
    Autonumber,
    /// When the row was created; read-only, set by storage.
    CreatedAt,
    /// When the row was last changed; read-only, set by storage.
    UpdatedAt,
    /// Who created the row; read-only, set by storage.
    CreatedBy,
    /// Who last changed the row; read-only, set by storage.
    UpdatedBy,
}

/// The SQL column kind a field type needs; storage maps each to a backend type.
///
/// | kind      | PostgreSQL         | SQLite                              |
/// |-----------|--------------------|-------------------------------------|
/// | Text      | `text`             | `TEXT`                              |
/// | Integer   | `bigint`           | `INTEGER`                           |
/// | Real      | `double precision` | `REAL`                              |
/// | Boolean   | `boolean`          | `INTEGER` 0/1                       |
/// | Date      | `date`             | `TEXT` `YYYY-MM-DD` (sorts as text) |
/// | Timestamp | `timestamptz`      | `TEXT`, fixed-width micros `Z`      |
/// | Uuid      | `uuid`             | `TEXT` hyphenated lowercase         |
/// | Json      | `jsonb`            | `TEXT` holding JSON                 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlKind {
    /// Free text.
    Text,
    /// A 64-bit integer.
    Integer,
    /// A double.
    Real,
    /// A boolean.
    Boolean,
    /// A calendar date.
    Date,
    /// An instant in UTC.
    Timestamp,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
}

impl FieldType {
    /// Every `type` tag, one per variant in declaration order: what a client may name.
    pub const TAGS: [&'static str; 17] = [
        "text",
        "long_text",
        "number",
        "boolean",
        "date",
        "datetime",
        "single_select",
        "multi_select",
        "user",
        "email",
        "url",
        "json",
        "autonumber",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
    ];

    /// The `type` tag, e.g. `"single_select"`; one of [`FieldType::TAGS`].
    pub fn tag(&self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Number { .. } => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::SingleSelect { .. } => "single_select",
            FieldType::MultiSelect { .. } => "multi_select",
            FieldType::User => "user",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Json => "json",
            FieldType::Autonumber => "autonumber",
            FieldType::CreatedAt => "created_at",
            FieldType::UpdatedAt => "updated_at",
            FieldType::CreatedBy => "created_by",
            FieldType::UpdatedBy => "updated_by",
        }
    }

    /// Whether clients may write the field; storage alone sets read-only fields.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            FieldType::Autonumber
                | FieldType::CreatedAt
                | FieldType::UpdatedAt
                | FieldType::CreatedBy
                | FieldType::UpdatedBy
        )
    }

    /// The select options, for the two select types.
    pub fn options(&self) -> Option<&SelectOptions> {
        match self {
            FieldType::SingleSelect { options } | FieldType::MultiSelect { options } => {
                Some(options)
            }
            _ => None,
        }
    }

    /// The SQL column kind this type's cells need. A single select stores its option
    /// id as text; a multi select stores a JSON array of ids so filters can test
    /// membership (`@>` / `json_each`).
    pub fn sql_kind(&self) -> SqlKind {
        match self {
            FieldType::Text
            | FieldType::LongText
            | FieldType::Email
            | FieldType::Url
            | FieldType::SingleSelect { .. } => SqlKind::Text,
            FieldType::Number { .. } => SqlKind::Real,
            FieldType::Boolean => SqlKind::Boolean,
            FieldType::Date => SqlKind::Date,
            FieldType::Datetime | FieldType::CreatedAt | FieldType::UpdatedAt => SqlKind::Timestamp,
            FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy => SqlKind::Uuid,
            FieldType::MultiSelect { .. } | FieldType::Json => SqlKind::Json,
            FieldType::Autonumber => SqlKind::Integer,
        }
    }
}

#[cfg(test)]
mod tests;
