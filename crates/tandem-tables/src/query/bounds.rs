//! The bounds every query is held to, whichever grammar it came in.

/// Deepest nesting of `and`/`or` groups (`or=(…)` is 1).
pub const MAX_DEPTH: usize = 16;
/// Most conditions in one query.
pub const MAX_CONDITIONS: usize = 100;
/// Most items in one `in` list.
pub const MAX_IN_ITEMS: usize = 1000;
/// Longest value, field reference or search text, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most sort keys, and most selected fields.
pub const MAX_FIELDS: usize = 1000;
/// Largest `limit`; the API may clamp lower.
pub const MAX_LIMIT: u32 = 10_000;
/// Longest cursor token, in bytes.
pub const MAX_CURSOR_BYTES: usize = 256 * 1024;
