//! The conversation between the host and the supervisor over the control socket (the
//! supervisor's stdin): the host sends a length-prefixed JSON [`Spec`] followed by the
//! program's stdin bytes; the supervisor answers with one JSON [`Report`] line.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{Language, Limits};

/// The largest spec accepted: the code is inside it, and anything bigger is a mistake.
const MAX_SPEC_BYTES: u32 = 64 * 1024 * 1024;

/// The largest report the host reads.
pub(crate) const MAX_REPORT_BYTES: u64 = 1024 * 1024;

/// Everything the supervisor needs to build the sandbox and start the program.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    /// The host's pid: the supervisor checks it is still its parent after arming
    /// `PR_SET_PDEATHSIG`, closing the race where the host dies first.
    pub host_pid: u32,
    pub language: Language,
    pub interpreter: PathBuf,
    pub code: String,
    /// Already clamped to the configured maximum.
    pub limits: Limits,
    /// `cgroup.procs` files of the run's cgroups, which the supervisor joins first.
    pub cgroup_procs: Vec<PathBuf>,
    /// Host uid and gid for inside id 1000 when the supervisor runs as root.
    pub run_as: (u32, u32),
    pub system_paths: Vec<PathBuf>,
    /// Length of the stdin bytes that follow the spec.
    pub stdin_len: u64,
}

/// What the supervisor tells the host at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Report {
    /// The program ran (whatever became of it).
    Finished(Finished),
    /// The sandbox could not be built or the interpreter not started.
    Failed { stage: String, message: String },
}

/// How the program ended, as seen by PID 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Finished {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// User + system CPU of the program and every descendant that was reaped.
    pub cpu_ms: u64,
    /// Largest resident set of any reaped process.
    pub max_rss_kb: u64,
    /// PID 1 killed the program at the wall-clock limit.
    pub wall_timed_out: bool,
    /// The program died of its CPU limit.
    pub cpu_timed_out: bool,
}

impl Report {
    /// A failure at `stage`.
    pub(crate) fn failed(stage: &str, message: impl ToString) -> Self {
        Self::Failed {
            stage: stage.to_owned(),
            message: message.to_string(),
        }
    }

    /// The report as one line of JSON.
    pub(crate) fn to_line(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail; fall back to a fixed failure line
        // rather than panic should that ever change.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"kind":"failed","stage":"report","message":"unserialisable report"}"#.to_vec()
        });
        line.push(b'\n');
        line
    }

    /// Parses the last non-empty line of what the supervisor sent.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        let line = bytes
            .split(|&b| b == b'\n')
            .rev()
            .find(|line| !line.is_empty())?;
        serde_json::from_slice(line).ok()
    }
}

/// A step of building the sandbox that failed, on its way to becoming [`Report::Failed`].
#[derive(Debug)]
pub(crate) struct Failure {
    pub stage: &'static str,
    pub message: String,
}

impl From<Failure> for Report {
    fn from(failure: Failure) -> Self {
        Report::failed(failure.stage, failure.message)
    }
}

/// Labels an error with the step it happened in.
pub(crate) trait Stage<T> {
    fn stage(self, stage: &'static str) -> Result<T, Failure>;
}

impl<T, E: std::fmt::Display> Stage<T> for Result<T, E> {
    fn stage(self, stage: &'static str) -> Result<T, Failure> {
        self.map_err(|error| Failure {
            stage,
            message: error.to_string(),
        })
    }
}

/// Encodes the spec frame: a big-endian `u32` length, then the JSON.
pub(crate) fn encode_spec(spec: &Spec) -> io::Result<Vec<u8>> {
    let json = serde_json::to_vec(spec)?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|&len| len <= MAX_SPEC_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "program is too large"))?;
    let mut frame = Vec::with_capacity(json.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&json);
    Ok(frame)
}

/// Reads the spec frame (not the stdin bytes after it).
pub(crate) fn read_spec(reader: &mut impl Read) -> io::Result<Spec> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_SPEC_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "spec too large"));
    }
    let mut json = vec![0u8; len as usize];
    reader.read_exact(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// Writes a report line, ignoring a host that has gone away (nobody is left to tell).
pub(crate) fn send_report(writer: &mut impl Write, report: &Report) {
    let _ = writer.write_all(&report.to_line());
    let _ = writer.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_through_a_frame() {
        let spec = Spec {
            host_pid: 7,
            language: Language::Bash,
            interpreter: "/usr/bin/bash".into(),
            code: "echo hi".into(),
            limits: Limits::default(),
            cgroup_procs: vec![],
            run_as: (65534, 65534),
            system_paths: vec!["/usr".into()],
            stdin_len: 3,
        };
        let frame = encode_spec(&spec).unwrap();
        let back = read_spec(&mut frame.as_slice()).unwrap();
        assert_eq!(back.code, "echo hi");
        assert_eq!(back.stdin_len, 3);
    }

    #[test]
    fn report_parse_takes_the_last_line_and_rejects_garbage() {
        let finished = Report::Finished(Finished {
            exit_code: Some(3),
            ..Finished::default()
        });
        let mut bytes = Report::failed("x", "y").to_line();
        bytes.extend(finished.to_line());
        assert_eq!(Report::parse(&bytes), Some(finished));
        assert_eq!(Report::parse(b"not json\n"), None);
        assert_eq!(Report::parse(b""), None);
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut frame = (MAX_SPEC_BYTES + 1).to_be_bytes().to_vec();
        frame.extend_from_slice(b"{}");
        assert!(read_spec(&mut frame.as_slice()).is_err());
    }
}
