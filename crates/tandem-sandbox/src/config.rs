//! What a sandbox may run and with how much: languages, resource limits, interpreter paths
//! and the supervisor program, with their defaults and validation.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SandboxError;

/// The language of a [`Program`]; each maps to one configured interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python 3, run as `python3 -u main.py` (unbuffered, so output printed before a kill
    /// is not lost).
    Python,
    /// JavaScript on Node.js, run as `node main.js`.
    Javascript,
    /// Bash, run as `bash main.sh`.
    Bash,
}

impl Language {
    /// The name of the staged source file in `/work`.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Self::Python => "main.py",
            Self::Javascript => "main.js",
            Self::Bash => "main.sh",
        }
    }

    /// Interpreter flags placed before the file name.
    pub(crate) fn flags(self) -> &'static [&'static str] {
        match self {
            Self::Python => &["-u"],
            Self::Javascript | Self::Bash => &[],
        }
    }
}

/// Resource limits of one run. Every field is a ceiling for the whole run unless it says
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// CPU time of the program process, in milliseconds (`RLIMIT_CPU`, rounded up to whole
    /// seconds by the kernel's granularity).
    pub cpu_ms: u64,
    /// Wall-clock time from the program's start, in milliseconds.
    pub wall_ms: u64,
    /// Memory of the whole run in MiB: the cgroup limit when cgroups are available, and
    /// `RLIMIT_DATA` of each process in any case.
    pub memory_mb: u64,
    /// Processes and threads the program may have at once.
    pub processes: u32,
    /// Bytes kept of each of stdout and stderr.
    pub output_bytes: usize,
    /// Size of the tmpfs shared by `/work` and `/tmp`, in MiB.
    pub work_dir_mb: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Largest file a process may write, in MiB (`RLIMIT_FSIZE`).
    pub file_size_mb: u64,
}

impl Default for Limits {
    /// 5 s CPU, 10 s wall clock, 256 MiB, 64 processes, 64 KiB per output stream, a 64 MiB
    /// work dir, 64 open files and 16 MiB per file.
    fn default() -> Self {
        Self {
            cpu_ms: 5_000,
            wall_ms: 10_000,
            memory_mb: 256,
            processes: 64,
            output_bytes: 64 * 1024,
            work_dir_mb: 64,
            open_files: 64,
            file_size_mb: 16,
        }
    }
}

impl Limits {
    /// The most a request may ask for by default ([`SandboxConfig::max`]).
    pub fn default_max() -> Self {
        Self {
            cpu_ms: 60_000,
            wall_ms: 120_000,
            memory_mb: 2048,
            processes: 256,
            output_bytes: 4 * 1024 * 1024,
            work_dir_mb: 1024,
            open_files: 1024,
            file_size_mb: 256,
        }
    }

    /// These limits lowered to `max` field by field, and raised to the smallest values a
    /// run can work with (a limit of zero would only produce a confusing failure).
    pub fn clamped(&self, max: &Limits) -> Limits {
        Limits {
            cpu_ms: self.cpu_ms.min(max.cpu_ms).max(1),
            wall_ms: self.wall_ms.min(max.wall_ms).max(1),
            memory_mb: self.memory_mb.min(max.memory_mb).max(16),
            processes: self.processes.min(max.processes).max(1),
            output_bytes: self.output_bytes.min(max.output_bytes),
            work_dir_mb: self.work_dir_mb.min(max.work_dir_mb).max(1),
            open_files: self.open_files.min(max.open_files).max(16),
            file_size_mb: self.file_size_mb.min(max.file_size_mb).max(1),
        }
    }
}

/// How to start the supervisor process, which must call [`crate::init_main`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProgram {
    /// The executable.
    pub path: PathBuf,
    /// Its arguments (not counting `argv[0]`).
    pub args: Vec<OsString>,
}

impl Default for InitProgram {
    /// The running binary itself with `__sandbox-init`: Tandem's `main` dispatches on it.
    fn default() -> Self {
        Self {
            path: PathBuf::from("/proc/self/exe"),
            args: vec![OsString::from("__sandbox-init")],
        }
    }
}

/// The host user and group the sandboxed program runs as when Tandem runs as root. (When
/// it does not, the program runs as Tandem's own user: an unprivileged process can map
/// nothing else.) Inside the sandbox the program is always user and group 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// Host user id.
    pub uid: u32,
    /// Host group id.
    pub gid: u32,
}

impl Default for RunAs {
    /// `nobody:nogroup` (65534), which owns nothing on the host.
    fn default() -> Self {
        Self {
            uid: 65534,
            gid: 65534,
        }
    }
}

/// Configuration of a [`crate::Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The Python 3 interpreter (absolute; not a pyenv shim, whose tree is not mounted).
    pub python: PathBuf,
    /// The Node.js interpreter.
    pub node: PathBuf,
    /// Bash.
    pub bash: PathBuf,
    /// How to start the supervisor.
    pub init: InitProgram,
    /// Default limits of a program, used by [`crate::Sandbox::program`].
    pub limits: Limits,
    /// The most a request may ask for; larger requests are lowered to these.
    pub max: Limits,
    /// Host paths made visible read-only at the same place inside the sandbox. Symbolic
    /// links are recreated rather than followed (Debian's `/bin -> usr/bin`); missing paths
    /// are skipped. The interpreters must live under one of them.
    pub system_paths: Vec<PathBuf>,
    /// Who the program is on the host when Tandem runs as root.
    pub run_as: RunAs,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            python: PathBuf::from("/usr/bin/python3"),
            node: PathBuf::from("/usr/bin/node"),
            bash: PathBuf::from("/usr/bin/bash"),
            init: InitProgram::default(),
            limits: Limits::default(),
            max: Limits::default_max(),
            system_paths: [
                "/usr",
                "/bin",
                "/sbin",
                "/lib",
                "/lib32",
                "/lib64",
                "/libx32",
                "/etc/ld.so.cache",
                "/etc/localtime",
                "/etc/ssl/openssl.cnf",
            ]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
            run_as: RunAs::default(),
        }
    }
}

impl SandboxConfig {
    /// The interpreter for `language`.
    pub fn interpreter(&self, language: Language) -> &Path {
        match language {
            Language::Python => &self.python,
            Language::Javascript => &self.node,
            Language::Bash => &self.bash,
        }
    }

    /// Checks what can be checked without running anything.
    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        for path in &self.system_paths {
            if !path.is_absolute() || path.parent().is_none() {
                return Err(SandboxError::Config(format!(
                    "system path {} must be absolute and not /",
                    path.display()
                )));
            }
            // A path inside another would have to be created inside a read-only mount.
            if let Some(outer) = self
                .system_paths
                .iter()
                .find(|other| *other != path && path.starts_with(other))
            {
                return Err(SandboxError::Config(format!(
                    "system path {} is inside {}",
                    path.display(),
                    outer.display()
                )));
            }
        }
        if self.run_as.uid == 0 || self.run_as.gid == 0 {
            return Err(SandboxError::Config(
                "run_as must not be root: the program would be root on the host".into(),
            ));
        }
        for language in [Language::Python, Language::Javascript, Language::Bash] {
            let interpreter = self.interpreter(language);
            // The interpreter is exec'd inside the new root, so it must be under a mounted
            // path; a path outside would only fail later with a puzzling ENOENT.
            let visible = interpreter.is_absolute()
                && self
                    .system_paths
                    .iter()
                    .any(|mounted| interpreter.starts_with(mounted));
            if !visible {
                return Err(SandboxError::Config(format!(
                    "interpreter {} for {language:?} is not under a system path",
                    interpreter.display()
                )));
            }
        }
        if self.init.path.as_os_str().is_empty() {
            return Err(SandboxError::Config("init program path is empty".into()));
        }
        Ok(())
    }
}

/// One program to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Its language.
    pub language: Language,
    /// Its source code, staged as `/work/main.py`, `/work/main.js` or `/work/main.sh`.
    pub code: String,
    /// Its standard input, all of it.
    pub stdin: Vec<u8>,
    /// Its limits, lowered to [`SandboxConfig::max`] where they exceed it.
    pub limits: Limits,
}

impl Program {
    /// A program with no input and [`Limits::default`] (see also
    /// [`crate::Sandbox::program`], which uses the configured defaults).
    pub fn new(language: Language, code: impl Into<String>) -> Self {
        Self {
            language,
            code: code.into(),
            stdin: Vec::new(),
            limits: Limits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamping_lowers_to_max_and_raises_zeroes() {
        let asked = Limits {
            cpu_ms: 0,
            wall_ms: 1_000_000,
            processes: 0,
            ..Limits::default()
        };
        let clamped = asked.clamped(&Limits::default_max());
        assert_eq!(clamped.cpu_ms, 1);
        assert_eq!(clamped.wall_ms, Limits::default_max().wall_ms);
        assert_eq!(clamped.processes, 1);
        assert_eq!(clamped.memory_mb, 256);
    }

    #[test]
    fn default_config_is_valid_and_rejects_hidden_interpreters() {
        assert!(SandboxConfig::default().validate().is_ok());
        let config = SandboxConfig {
            python: PathBuf::from("/root/.pyenv/shims/python3"),
            ..SandboxConfig::default()
        };
        assert!(matches!(config.validate(), Err(SandboxError::Config(_))));
        let mut nested = SandboxConfig::default();
        nested.system_paths.push("/usr/local".into());
        assert!(matches!(nested.validate(), Err(SandboxError::Config(_))));
        let as_root = SandboxConfig {
            run_as: RunAs { uid: 0, gid: 0 },
            ..SandboxConfig::default()
        };
        assert!(matches!(as_root.validate(), Err(SandboxError::Config(_))));
    }

    #[test]
    fn language_serialises_lowercase() {
        let json = serde_json::to_string(&Language::Javascript).unwrap();
        assert_eq!(json, "\"javascript\"");
    }
}
