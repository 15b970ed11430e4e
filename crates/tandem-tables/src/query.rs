//! The query AST and its parsers.
