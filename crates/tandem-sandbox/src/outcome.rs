//! What became of a program: its exit, output, resource use and which limit stopped it.

use serde::{Deserialize, Serialize};

/// The result of running a program. Failing, timing out and running out of memory are
/// all outcomes, not errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The exit status, when the program exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that killed the program, when one did (9 for the wall-clock limit and
    /// the out-of-memory killer, 24 `SIGXCPU` for the CPU limit).
    pub signal: Option<i32>,
    /// Standard output, up to the limit, as UTF-8 (invalid sequences replaced).
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    /// Output past the limit was dropped.
    pub stdout_truncated: bool,
    /// Likewise for stderr.
    pub stderr_truncated: bool,
    /// Wall-clock time of the run as the host saw it, sandbox setup included.
    pub wall_ms: u64,
    /// CPU time (user + system) of the program and the descendants that were reaped
    /// before it ended. Zero when the host had to kill the supervisor itself.
    pub cpu_ms: u64,
    /// Peak memory: the cgroup's peak charge (the whole run, page cache and `/work` files
    /// included) when cgroups are available, else the largest process's peak RSS.
    pub peak_memory_kb: u64,
    /// The wall-clock or CPU limit stopped the program.
    pub timed_out: bool,
    /// The kernel's out-of-memory killer killed a process of the run (cgroups only;
    /// without them, running out of memory shows as an allocation failure instead).
    pub oom_killed: bool,
}

impl Outcome {
    /// The program exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Output bytes to text. A cut made by truncation may split a UTF-8 sequence: drop that
/// partial tail rather than show a replacement character for bytes that were never sent.
pub(crate) fn output_text(mut bytes: Vec<u8>, truncated: bool) -> String {
    if truncated
        && let Err(error) = std::str::from_utf8(&bytes)
        && error.error_len().is_none()
    {
        bytes.truncate(error.valid_up_to());
    }
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_output_drops_a_split_character() {
        let bytes = "ab\u{e9}".as_bytes()[..3].to_vec();
        assert_eq!(output_text(bytes.clone(), true), "ab");
        assert_eq!(output_text(bytes, false), "ab\u{fffd}");
        assert_eq!(output_text(b"ok\xff!".to_vec(), true), "ok\u{fffd}!");
    }

    #[test]
    fn outcomes_round_trip_through_json() {
        let outcome = Outcome {
            exit_code: Some(1),
            stdout: "out".into(),
            timed_out: true,
            ..Outcome::default()
        };
        let json = serde_json::to_string(&outcome).unwrap();
        assert!(json.contains("\"timed_out\":true"));
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome);
    }
}
