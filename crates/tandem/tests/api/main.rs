//! Integration tests: the real server on 127.0.0.1:0, driven over real HTTP.
//!
//! The database backend is the one `tandem_store::testing` picks from the environment
//! (SQLite by default, PostgreSQL with `TANDEM_TEST_DATABASE_URL`); Redis is used when
//! `TANDEM_TEST_REDIS_URL` is set.

mod helpers;

mod account;
mod cli;
mod client_address;
mod foundation;
mod login;
mod openapi;
mod rate_limit;
mod refresh;
mod register;
mod scale_out;
mod sessions;
mod swagger_ui;
mod tokens;
