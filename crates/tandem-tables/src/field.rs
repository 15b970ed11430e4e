//! Field types and the rules their values follow.
