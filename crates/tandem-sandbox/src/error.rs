//! The one error type of the crate: faults of the sandbox itself, never of the program.

use std::io;

/// Why a run could not produce an [`crate::Outcome`].
///
/// A program that exits non-zero, is killed, times out or runs out of memory is *not* an
/// error; these are infrastructure faults only.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The isolation this crate insists on (namespaces, seccomp, rlimits) is not available
    /// on this machine; the string says why.
    #[error("sandbox isolation is unavailable: {0}")]
    Unavailable(String),
    /// The configuration cannot work.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// The supervisor process could not be started.
    #[error("could not start the sandbox supervisor: {0}")]
    Spawn(#[source] io::Error),
    /// The supervisor started but could not build the sandbox or start the interpreter.
    #[error("sandbox setup failed ({stage}): {message}")]
    Setup {
        /// The step that failed, e.g. `unshare` or `exec`.
        stage: String,
        /// The failure.
        message: String,
    },
    /// The supervisor died or spoke nonsense.
    #[error("sandbox supervisor failed: {0}")]
    Supervisor(String),
    /// The per-run cgroup could not be created or configured.
    #[error("sandbox cgroup: {0}")]
    Cgroup(#[source] io::Error),
    /// The run was cancelled; everything it started has been killed.
    #[error("the sandboxed run was cancelled")]
    Cancelled,
    /// Talking to the supervisor failed.
    #[error("sandbox I/O: {0}")]
    Io(#[from] io::Error),
}
