//! Shared helpers of the tests: a sandbox built on this crate's own
//! supervisor binary, and short-hands for programs and limits.

use std::path::Path;
use std::time::Duration;

use tandem_sandbox::{InitProgram, Language, Limits, Outcome, Program, Sandbox, SandboxConfig};
use tokio_util::sync::CancellationToken;

/// A sandbox whose supervisor is `tandem-sandbox-init`; fails the test if isolation is
/// not usable (these tests are about the real thing).
pub async fn sandbox() -> Sandbox {
    let config = SandboxConfig {
        init: InitProgram {
            path: env!("CARGO_BIN_EXE_tandem-sandbox-init").into(),
            args: vec![],
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::new(config).await.expect("sandbox config is valid");
    assert!(
        sandbox.isolation().usable(),
        "isolation unavailable: {:?}",
        sandbox.isolation()
    );
    sandbox
}

/// Limits small enough to keep the suite fast.
pub fn small_limits() -> Limits {
    Limits {
        cpu_ms: 2_000,
        wall_ms: 5_000,
        memory_mb: 128,
        processes: 32,
        output_bytes: 16 * 1024,
        work_dir_mb: 8,
        open_files: 64,
        file_size_mb: 4,
    }
}

pub fn program(language: Language, code: &str) -> Program {
    Program {
        limits: small_limits(),
        ..Program::new(language, code)
    }
}

/// Runs a program and returns its outcome, failing the test on an infrastructure error.
pub async fn run(sandbox: &Sandbox, program: Program) -> Outcome {
    sandbox
        .run(program, CancellationToken::new())
        .await
        .expect("the sandbox itself works")
}

pub async fn python(sandbox: &Sandbox, code: &str) -> Outcome {
    run(sandbox, program(Language::Python, code)).await
}

pub async fn bash(sandbox: &Sandbox, code: &str) -> Outcome {
    run(sandbox, program(Language::Bash, code)).await
}

/// Host processes whose command line contains `needle`.
pub fn host_processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let cmdline = entry.path().join("cmdline");
        if let Ok(bytes) = std::fs::read(&cmdline) {
            let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// Waits up to `patience` for no host process to contain `needle`.
pub async fn no_survivors(needle: &str, patience: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let found = host_processes_with(needle);
        if found.is_empty() || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn exists(path: &str) -> bool {
    Path::new(path).exists()
}
