//! A SQL `LIKE` pattern (escape `\`) as the SQLite `GLOB` pattern that matches the same
//! texts. SQLite's `LIKE` folds ASCII case by default, and the only switch,
//! `PRAGMA case_sensitive_like`, is deprecated and applies to a whole pooled connection;
//! `GLOB` is always case-sensitive and, like `LIKE`, matches character by character.
//!
//! `LIKE`'s `%` is `GLOB`'s `*` and `_` is `?`; `GLOB` has no escape character, so a
//! literal `*`, `?` or `[` becomes a one-character set (`[*]`, `[?]`, `[[]`). `]`
//! outside a set and `\` are literal in `GLOB` already.

use tandem_tables::bind::LIKE_ESCAPE;

/// The `GLOB` pattern matching what `like` matches under `LIKE … ESCAPE '\'`.
pub(super) fn from_like(like: &str) -> String {
    let mut glob = String::with_capacity(like.len() + 8);
    let mut chars = like.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            // A trailing lone escape stands for itself, as the reference evaluator reads it.
            c if c == LIKE_ESCAPE => chars.next().unwrap_or(LIKE_ESCAPE),
            '%' => {
                glob.push('*');
                continue;
            }
            '_' => {
                glob.push('?');
                continue;
            }
            c => c,
        };
        match literal {
            '*' | '?' | '[' => {
                glob.push('[');
                glob.push(literal);
                glob.push(']');
            }
            c => glob.push(c),
        }
    }
    glob
}
