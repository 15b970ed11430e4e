//! The layering of settings and the checks on their values.

#![expect(
    clippy::result_large_err,
    reason = "figment::Jail fixes the closures' error type to figment::Error"
)]

use secrecy::ExposeSecret;

use super::*;

#[test]
fn layers_apply_in_order_flags_env_file_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "tandem.toml",
            r#"
            listen = "127.0.0.1:9000"
            data_dir = "/from/file"
            log_format = "json"
            access_token_ttl = "5m"
            cors_origins = ["https://a.example"]
            "#,
        )?;
        jail.set_env("TANDEM_DATA_DIR", "/from/env");
        jail.set_env(
            "TANDEM_CORS_ORIGINS",
            "https://b.example, https://c.example",
        );
        let flags = Overrides {
            log_format: Some(LogFormat::Pretty),
            ..Overrides::default()
        };
        let s = Settings::load(None, &flags).map_err(|e| e.to_string())?;
        assert_eq!(s.listen.port(), 9000, "file beats default");
        assert_eq!(s.data_dir, PathBuf::from("/from/env"), "env beats file");
        assert_eq!(s.log_format, LogFormat::Pretty, "flag beats file");
        assert_eq!(s.access_token_ttl, Duration::from_secs(300));
        assert_eq!(s.cors_origins, ["https://b.example", "https://c.example"]);
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(7 * 24 * 3600));
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_in_debug() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "TANDEM_DATABASE_URL",
            "postgres://u:hunter2hunter2@db/tandem",
        );
        jail.set_env("TANDEM_SIGNING_SECRET", "s".repeat(40));
        let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"));
        let flags = Overrides {
            database_url: Some("postgres://u:hunter2hunter2@db/tandem".into()),
            ..Overrides::default()
        };
        assert!(!format!("{flags:?}").contains("hunter2"));
        assert!(!debug.contains("ssssssss"));
        Ok(())
    });
}

#[test]
fn the_default_database_is_sqlite_in_the_data_dir() {
    let s = Settings {
        data_dir: PathBuf::from("/srv/tandem"),
        ..Settings::default()
    };
    assert_eq!(
        s.database_url().expose_secret(),
        "sqlite:///srv/tandem/tandem.db"
    );
}

#[test]
fn bad_values_are_rejected() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TANDEM_SIGNING_SECRET", "short");
        assert!(Settings::load(None, &Overrides::default()).is_err());
        jail.set_env("TANDEM_SIGNING_SECRET", "s".repeat(40));
        jail.set_env("TANDEM_ACCESS_TOKEN_TTL", "not a duration");
        assert!(Settings::load(None, &Overrides::default()).is_err());
        jail.set_env("TANDEM_ACCESS_TOKEN_TTL", "15m");
        assert!(Settings::load(None, &Overrides::default()).is_ok());
        // The largest update must fit in a collaborative socket's queue.
        jail.set_env("TANDEM_COLLAB_SOCKET_QUEUE_BYTES", "4194304");
        assert!(Settings::load(None, &Overrides::default()).is_err());
        Ok(())
    });
}

#[test]
fn the_login_backoff_is_configured_by_env_and_checked() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(s.login_max_failures, 5);
        assert_eq!(s.login_failure_window, Duration::from_secs(15 * 60));
        assert_eq!(s.login_lockout, Duration::from_secs(60));
        assert_eq!(s.login_lockout_max, Duration::from_secs(15 * 60));
        jail.set_env("TANDEM_LOGIN_MAX_FAILURES", "3");
        jail.set_env("TANDEM_LOGIN_FAILURE_WINDOW", "1h");
        jail.set_env("TANDEM_LOGIN_LOCKOUT", "30s");
        jail.set_env("TANDEM_LOGIN_LOCKOUT_MAX", "2h");
        let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(s.login_max_failures, 3);
        assert_eq!(s.login_failure_window, Duration::from_secs(3600));
        assert_eq!(s.login_lockout, Duration::from_secs(30));
        assert_eq!(s.login_lockout_max, Duration::from_secs(7200));
        jail.set_env("TANDEM_LOGIN_LOCKOUT_MAX", "10s");
        assert!(Settings::load(None, &Overrides::default()).is_err());
        jail.set_env("TANDEM_LOGIN_LOCKOUT_MAX", "2h");
        jail.set_env("TANDEM_LOGIN_MAX_FAILURES", "0");
        assert!(Settings::load(None, &Overrides::default()).is_err());
        Ok(())
    });
}

#[test]
fn the_live_tables_limits_are_configured_by_env_and_checked() {
    figment::Jail::expect_with(|jail| {
        let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(
            (
                s.tables_max_per_workspace,
                s.tables_max_fields,
                s.tables_max_cell_bytes
            ),
            (500, 500, 100 * 1024)
        );
        jail.set_env("TANDEM_TABLES_MAX_PER_WORKSPACE", "20");
        jail.set_env("TANDEM_TABLES_MAX_FIELDS", "300");
        jail.set_env("TANDEM_TABLES_MAX_CELL_BYTES", "4096");
        let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(
            (
                s.tables_max_per_workspace,
                s.tables_max_fields,
                s.tables_max_cell_bytes
            ),
            (20, 300, 4096)
        );
        for (name, bad) in [
            ("TANDEM_TABLES_MAX_PER_WORKSPACE", "0"),
            ("TANDEM_TABLES_MAX_FIELDS", "299"),
            ("TANDEM_TABLES_MAX_CELL_BYTES", "1023"),
            // Larger than the largest request body.
            ("TANDEM_TABLES_MAX_CELL_BYTES", "2000000"),
        ] {
            let good = std::env::var(name).expect("set above");
            jail.set_env(name, bad);
            assert!(
                Settings::load(None, &Overrides::default()).is_err(),
                "{name}={bad}"
            );
            jail.set_env(name, good);
        }
        Ok(())
    });
}
