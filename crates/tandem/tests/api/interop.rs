//! Stock Yjs clients against the real binary: runs the Node suite in `interop/` (npm
//! `yjs` + `y-websocket` `WebsocketProvider`s) on the backend this test run uses. Node and
//! npm are required; their absence fails the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Output;

use secrecy::ExposeSecret;
use tokio::process::Command;

use crate::helpers::spawn_app;

const BINARY: &str = env!("CARGO_BIN_EXE_tandem");

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

async fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .await
        .unwrap_or_else(|error| panic!("{what} could not start (is Node.js installed?): {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Installs the locked packages once per checkout (`npm ci`), as `.ci/run` does.
async fn install(dir: &Path) {
    if dir.join("node_modules/.package-lock.json").exists() {
        return;
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
        "npm ci",
    )
    .await;
}

#[tokio::test]
async fn stock_yjs_clients_pass_the_interop_suite() {
    // The app only lends its throwaway database and Redis prefix to the Node suite's
    // server, which the suite starts, kills and restarts itself.
    let app = spawn_app().await;
    let dir = interop_dir();
    install(&dir).await;
    let mut node = Command::new("node");
    node.args(["--test", "--test-concurrency=1", "tests/"])
        .current_dir(&dir)
        .env("TANDEM_BIN", BINARY)
        .env_remove("TANDEM_DATABASE_URL")
        .env_remove("TANDEM_REDIS_URL")
        .env_remove("TANDEM_REDIS_PREFIX")
        .kill_on_drop(true);
    if let Some(url) = &app.settings.database_url {
        node.env("TANDEM_DATABASE_URL", url.expose_secret());
    }
    if let Some(url) = &app.settings.redis_url {
        node.env("TANDEM_REDIS_URL", url.expose_secret())
            .env("TANDEM_REDIS_PREFIX", &app.settings.redis_prefix);
    }
    let output = run(&mut node, "the Node interop suite").await;
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("# fail 0"), "{report}");
    assert!(!report.contains("# pass 0"), "{report}");
}
