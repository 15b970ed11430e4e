//! Field types and the rules their values follow: names, types and settings,
//! validating a client's value, the API and storage forms of a value, and what a
//! value becomes when its field changes type.
//!
//! Nothing here knows SQL: [`FieldType::sql_kind`] says which column kind a type
//! needs and [`Stored`] is the scalar storage binds; storage picks the backend types.

mod convert;
mod name;
mod stored;
mod syntax;
mod types;
mod value;

pub use convert::{Conversion, convert};
pub use name::{FieldName, MAX_NAME_CHARS, NameError};
pub use stored::{Stored, StoredError};
pub use types::{
    Color, FieldType, MAX_OPTION_ID_LEN, MAX_OPTIONS, MAX_PRECISION, OptionId, OptionName,
    Precision, SelectOption, SelectOptions, SettingsError, SqlKind,
};
pub use value::{CellValue, Limits, MAX_NUMBER, ValueError, validate};
