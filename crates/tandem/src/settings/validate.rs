//! The checks on settings' values, made once they are loaded: each names the setting
//! and the bound it breaks.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::Settings;

impl Settings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.access_token_ttl >= Duration::from_secs(1),
            "access_token_ttl must be at least 1s"
        );
        anyhow::ensure!(
            self.refresh_token_ttl > self.access_token_ttl,
            "refresh_token_ttl must be longer than access_token_ttl"
        );
        anyhow::ensure!(
            self.auth_rate_limit_per_minute > 0,
            "auth_rate_limit_per_minute must be at least 1"
        );
        anyhow::ensure!(
            self.login_max_failures > 0
                && self.login_failure_window >= Duration::from_secs(1)
                && self.login_lockout >= Duration::from_secs(1)
                && self.login_lockout_max >= self.login_lockout,
            "login_max_failures must be at least 1, login_failure_window and login_lockout \
             at least 1s, and login_lockout_max at least login_lockout"
        );
        anyhow::ensure!(
            self.body_limit_bytes > 0,
            "body_limit_bytes must be positive"
        );
        anyhow::ensure!(
            self.http_header_timeout >= Duration::from_millis(100),
            "http_header_timeout must be at least 100ms"
        );
        anyhow::ensure!(
            self.http_max_header_bytes >= 1024,
            "http_max_header_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.presence_heartbeat >= Duration::from_millis(100),
            "presence_heartbeat must be at least 100ms"
        );
        anyhow::ensure!(
            self.chat_typing_ttl >= Duration::from_secs(1),
            "chat_typing_ttl must be at least 1s"
        );
        anyhow::ensure!(
            self.presence_ttl >= self.presence_heartbeat * 2,
            "presence_ttl must be at least twice presence_heartbeat"
        );
        anyhow::ensure!(
            self.collab_max_update_bytes > 0
                && self.collab_max_update_bytes as u64 <= self.collab_max_document_bytes,
            "collab_max_update_bytes must be positive and at most collab_max_document_bytes"
        );
        // The largest update, relayed to a client that is otherwise caught up, must fit.
        anyhow::ensure!(
            self.collab_socket_queue_bytes >= self.collab_max_update_bytes + 64 * 1024,
            "collab_socket_queue_bytes must be at least collab_max_update_bytes + 64 KiB"
        );
        anyhow::ensure!(
            (1..=self.collab_max_update_bytes).contains(&self.collab_max_awareness_bytes),
            "collab_max_awareness_bytes must be positive and at most collab_max_update_bytes"
        );
        anyhow::ensure!(
            self.collab_updates_per_second > 0,
            "collab_updates_per_second must be at least 1"
        );
        // An idle client hears from the server at most twice this apart (`collab`'s
        // maintenance skips clients that were sent something since the previous round).
        anyhow::ensure!(
            self.collab_keepalive >= Duration::from_millis(100)
                && self.collab_keepalive <= Duration::from_secs(14),
            "collab_keepalive must be between 100ms and 14s (y-websocket clients drop a connection silent for 30 s)"
        );
        anyhow::ensure!(
            self.jobs_heartbeat >= Duration::from_millis(10)
                && self.jobs_lease >= self.jobs_heartbeat * 2,
            "jobs_lease must be at least twice jobs_heartbeat (and jobs_heartbeat at least 10ms)"
        );
        anyhow::ensure!(
            self.jobs_poll >= Duration::from_millis(10)
                && self.jobs_reap_every >= Duration::from_millis(10),
            "jobs_poll and jobs_reap_every must be at least 10ms"
        );
        anyhow::ensure!(
            self.chat_messages_per_second > 0 && self.chat_messages_per_minute > 0,
            "chat_messages_per_second and chat_messages_per_minute must be at least 1"
        );
        anyhow::ensure!(
            self.tables_max_per_workspace > 0,
            "tables_max_per_workspace must be at least 1"
        );
        // Every deployment promises room for this many fields; both backends' row
        // tables hold far more columns.
        anyhow::ensure!(
            self.tables_max_fields >= 300,
            "tables_max_fields must be at least 300"
        );
        // A cell larger than a request body could never be written.
        anyhow::ensure!(
            (1024..=self.body_limit_bytes).contains(&self.tables_max_cell_bytes),
            "tables_max_cell_bytes must be at least 1024 and at most body_limit_bytes"
        );
        anyhow::ensure!(
            self.tables_query_timeout >= Duration::from_millis(10),
            "tables_query_timeout must be at least 10ms"
        );
        anyhow::ensure!(
            self.tables_max_body_bytes >= self.tables_max_cell_bytes,
            "tables_max_body_bytes must be at least tables_max_cell_bytes"
        );
        anyhow::ensure!(
            self.tables_trash_retention >= Duration::from_secs(60),
            "tables_trash_retention must be at least 1m"
        );
        anyhow::ensure!(
            (1024..=1024 * 1024 * 1024).contains(&self.tables_import_max_bytes),
            "tables_import_max_bytes must be at least 1024 and at most 1 GiB"
        );
        if let Some(secret) = &self.signing_secret {
            anyhow::ensure!(
                secret.expose_secret().len() >= 32,
                "signing_secret must be at least 32 bytes"
            );
        }
        Ok(())
    }
}
