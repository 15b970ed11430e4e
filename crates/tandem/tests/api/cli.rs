//! The real `tandem` binary: its commands, and a serve → SIGTERM → clean exit cycle.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_tandem");

/// The binary, run in `dir` with none of this process's `TANDEM_*` settings.
pub fn tandem(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("RUST_LOG", "info")
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TANDEM_") {
            command.env_remove(name);
        }
    }
    command
}

/// Starts `tandem serve` on a free port with `env` settings; returns the child and its
/// base URL once it listens. Its logs are drained so it never stalls on a full pipe.
pub async fn serve(dir: &Path, env: &[(&str, String)]) -> (Child, String) {
    let mut command = tandem(dir);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the server starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("the server announces itself within 30 s")
        .expect("stdout is readable")
        .expect("a line on stdout");
    let address = first_line
        .strip_prefix("tandem listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first_line}"))
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    (child, address)
}

/// Starts `tandem worker` with `env` settings; returns the child once it runs.
pub async fn worker(dir: &Path, env: &[(&str, String)]) -> Child {
    let mut command = tandem(dir);
    command
        .args(["worker", "--data-dir"])
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the worker starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("the worker announces itself within 30 s")
        .expect("stdout is readable")
        .expect("a line on stdout");
    assert!(
        first_line.starts_with("tandem worker running"),
        "{first_line}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    child
}

async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the command finishes within a minute")
        .expect("the binary runs")
}

/// `tandem migrate` on `data_dir`, run in `dir`.
async fn migrate(dir: &Path, data_dir: &Path) -> Output {
    run(tandem(dir).arg("migrate").arg("--data-dir").arg(data_dir)).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn help_lists_the_serve_worker_and_migrate_commands() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(tandem(dir.path()).arg("--help")).await;
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in ["serve", "worker", "migrate"] {
        assert!(commands.contains(&command), "{command} missing: {help}");
    }
}

#[tokio::test]
async fn migrate_creates_the_embedded_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let output = migrate(dir.path(), &data_dir).await;
    assert!(output.status.success(), "{output:?}");
    assert!(
        text(&output.stdout).contains("migrations applied (sqlite)"),
        "{output:?}"
    );
    let database = std::fs::read(data_dir.join("tandem.db")).expect("tandem.db exists");
    assert!(
        database.starts_with(b"SQLite format 3\0"),
        "tandem.db is a SQLite file"
    );

    // A second run finds everything applied and changes nothing.
    let again = migrate(dir.path(), &data_dir).await;
    assert!(again.status.success(), "{again:?}");
}

/// Sends SIGTERM with `kill`, so the test needs no signal crate.
pub fn terminate(child: &Child) {
    let pid = child.id().expect("the server is running");
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM {pid}");
}

#[tokio::test]
async fn serve_listens_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = tandem(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    // Drain the logs so a full pipe can never stall the server; keep them for failures.
    let logs = tokio::spawn(async move {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });

    let first_line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("the server announces itself within 30 s")
        .expect("stdout is readable")
        .expect("a line on stdout");
    let address = first_line
        .strip_prefix("tandem listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first_line}"));
    let port: u16 = address
        .strip_prefix("http://127.0.0.1:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected address: {address}"));
    assert_ne!(port, 0);
    let stdout_rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = stdout.next_line().await {
            rest.push(line);
        }
        rest
    });

    let response = reqwest::get(format!("{address}/healthz"))
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);

    let key = std::fs::metadata(data_dir.join("signing.key")).expect("signing.key exists");
    assert_eq!(key.permissions().mode() & 0o777, 0o600, "signing.key mode");
    assert!(key.len() >= 32);
    // Private to the server's user: the database holds password and token hashes.
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700, "data folder mode");
    for name in ["tandem.db", "tandem.db-wal", "tandem.db-shm"] {
        assert_eq!(mode(&data_dir.join(name)), 0o600, "{name} mode");
    }

    terminate(&child);
    // The server's own drain deadline is 10 s; an idle server must not need it, which the
    // logs show ("shutdown timeout reached"), so the wait here only bounds a hang.
    let status = match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
        Ok(status) => status.expect("waiting for the server"),
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            panic!(
                "the server did not exit within 60 s of SIGTERM; logs:\n{}",
                logs.await.unwrap()
            );
        }
    };
    let logs = logs.await.unwrap();
    assert!(status.success(), "exit status {status}; logs:\n{logs}");
    assert!(logs.contains("stopped"), "{logs}");
    assert!(
        !logs.contains("shutdown timeout reached"),
        "an idle server drains at once: {logs}"
    );
    let rest = stdout_rest.await.unwrap();
    assert!(
        rest.iter().any(|l| l.contains("/api/docs")),
        "the docs address is printed: {rest:?}"
    );
    assert!(
        reqwest::get(format!("{address}/healthz")).await.is_err(),
        "the port is closed after exit"
    );
}

#[tokio::test]
async fn a_data_folder_open_to_others_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = migrate(dir.path(), &data_dir).await;
    assert!(output.status.success(), "{output:?}");
    assert!(
        text(&output.stderr).contains("the data folder is open to other users"),
        "{output:?}"
    );
    let mode = std::fs::metadata(data_dir.join("tandem.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the database is created private");
}
