//! Measuring the sandbox's overhead: `print(1)` in the sandbox against the same program
//! run bare, for benchmarks (Tandem's jobs bench) and for curiosity.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::config::Language;
use crate::{Sandbox, SandboxError};

/// Median wall-clock times of `print(1)` in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overhead {
    /// Runs of each kind.
    pub runs: usize,
    /// Median of [`Sandbox::run`] as the caller sees it (probe excluded, cgroup creation
    /// and removal included).
    pub sandboxed_median: Duration,
    /// Median of `python3 -c 'print(1)'` spawned directly.
    pub bare_median: Duration,
}

impl Overhead {
    /// What the sandbox adds to each run, by median.
    pub fn added(&self) -> Duration {
        self.sandboxed_median.saturating_sub(self.bare_median)
    }
}

/// Runs `print(1)` `runs` times sandboxed and `runs` times bare (alternating, so both see
/// the same machine load) and returns the medians.
pub async fn measure_overhead(sandbox: &Sandbox, runs: usize) -> Result<Overhead, SandboxError> {
    let runs = runs.max(1);
    let mut sandboxed = Vec::with_capacity(runs);
    let mut bare = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let outcome = sandbox
            .run(
                sandbox.program(Language::Python, "print(1)"),
                CancellationToken::new(),
            )
            .await?;
        sandboxed.push(start.elapsed());
        if outcome.stdout != "1\n" {
            return Err(SandboxError::Supervisor(format!(
                "print(1) printed {:?}",
                outcome.stdout
            )));
        }

        let start = Instant::now();
        let status = Command::new(&sandbox.config().python)
            .args(["-u", "-c", "print(1)"])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .await?;
        bare.push(start.elapsed());
        if !status.status.success() {
            return Err(SandboxError::Supervisor("bare python failed".into()));
        }
    }
    Ok(Overhead {
        runs,
        sandboxed_median: median(&mut sandboxed),
        bare_median: median(&mut bare),
    })
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
