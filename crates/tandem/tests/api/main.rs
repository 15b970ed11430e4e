//! Integration tests: the real server on 127.0.0.1:0, driven over real HTTP.
//!
//! The database backend is the one `tandem_store::testing` picks from the environment
//! (SQLite by default, PostgreSQL with `TANDEM_TEST_DATABASE_URL`); Redis is used when
//! `TANDEM_TEST_REDIS_URL` is set.

mod helpers;

mod account;
mod audit_log;
mod auto_versions;
mod chat;
mod chat_messages;
mod chat_nodes;
mod chat_realtime;
mod chat_social;
mod chat_socket;
mod cli;
mod client_address;
mod collab;
mod collab_awareness;
mod collab_integrity;
mod collab_limits;
mod collab_nodes;
mod collab_wire;
mod connections;
mod files;
mod foundation;
mod interop;
mod invitations;
mod jobs;
mod jobs_kinds;
mod jobs_workers;
mod login;
mod login_backoff;
mod members;
mod node_restart;
mod openapi;
mod path_params;
mod presence;
mod presence_nodes;
mod projects;
mod rate_limit;
mod realtime;
mod realtime_access;
mod realtime_schema;
mod refresh;
mod register;
mod role_matrix;
mod scale_out;
mod session_nodes;
mod sessions;
mod shutdown;
mod slow_consumers;
mod socket;
mod swagger_ui;
mod table_field_changes;
mod table_fields;
mod table_import;
mod table_query_cases;
mod table_query_diff;
mod table_query_fuzz;
mod table_row_events;
mod table_row_reads;
mod table_rows;
mod tables;
mod tables_access;
mod tables_helpers;
mod tables_realtime;
mod tenancy_helpers;
mod tokens;
mod yclient;
