//! The program process, forked by PID 1 inside the finished sandbox: its last steps
//! before the interpreter runs (signal state, session, stdin, rlimits, `no_new_privs`,
//! seccomp — in that order, seccomp last) and the `execve` itself.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::prctl;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::SigSet;
use nix::unistd::{chdir, dup2_stdin, execve, setsid};
use seccompiler::BpfProgram;

use crate::config::{Language, Limits};
use crate::protocol::{Failure, Stage};
use crate::sys;

/// The environment of the program: nothing of the host's.
const ENVIRONMENT: &[&str] = &[
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/work",
    "LANG=C.UTF-8",
    "TMPDIR=/tmp",
    "USER=sandbox",
];

/// Processes of the inside user that are not the program's: the supervisor and PID 1 also
/// run as it, and `RLIMIT_NPROC` counts every process of the user in the namespace.
const SUPERVISOR_PROCESSES: u64 = 2;

const MIB: u64 = 1024 * 1024;

/// What the program process needs from PID 1.
#[derive(Debug)]
pub(crate) struct ProgramSetup<'a> {
    pub interpreter: &'a Path,
    pub language: Language,
    pub limits: &'a Limits,
    /// A read-only descriptor of the stdin bytes.
    pub stdin: &'a OwnedFd,
    /// Compiled before the fork, so this process allocates as little as possible.
    pub filters: &'a [BpfProgram],
}

/// Runs in the forked child: prepares and execs the interpreter. On failure the step and
/// error go to `error_pipe` (close-on-exec, so a successful exec reads as EOF) and the
/// process exits with 127.
pub(crate) fn exec_program(setup: &ProgramSetup<'_>, error_pipe: &OwnedFd) -> ! {
    let failure = match prepare_and_exec(setup) {
        Err(failure) => failure,
        Ok(never) => match never {},
    };
    let message = format!("{}\n{}", failure.stage, failure.message);
    let _ = nix::unistd::write(error_pipe, message.as_bytes());
    std::process::exit(127)
}

fn prepare_and_exec(setup: &ProgramSetup<'_>) -> Result<Infallible, Failure> {
    // PID 1 blocks SIGCHLD to read it from a signalfd, and Rust ignores SIGPIPE; a signal
    // mask and ignored signals survive exec, so both are reset.
    SigSet::empty()
        .thread_set_mask()
        .stage("reset signal mask")?;
    sys::default_sigpipe().stage("reset SIGPIPE")?;
    // A session of its own: no controlling terminal, and a process group PID 1 can kill.
    setsid().stage("setsid")?;
    dup2_stdin(setup.stdin).stage("stdin")?;
    chdir("/work").stage("chdir /work")?;

    let argv = arguments(setup.interpreter, setup.language).stage("arguments")?;
    let env = ENVIRONMENT
        .iter()
        .map(|var| CString::new(*var))
        .collect::<Result<Vec<_>, _>>()
        .stage("environment")?;

    set_limits(setup.limits).stage("setrlimit")?;
    prctl::set_no_new_privs().stage("no_new_privs")?;
    crate::seccomp::install(setup.filters).stage("seccomp")?;
    let program = &argv[0];
    execve(program, &argv, &env).stage("exec interpreter")
}

fn arguments(interpreter: &Path, language: Language) -> Result<Vec<CString>, String> {
    let mut argv = vec![interpreter.as_os_str().as_bytes().to_vec()];
    argv.extend(language.flags().iter().map(|flag| flag.as_bytes().to_vec()));
    argv.push(language.file_name().as_bytes().to_vec());
    argv.into_iter()
        .map(|arg| CString::new(arg).map_err(|e| e.to_string()))
        .collect()
}

/// Sets every rlimit, never above the inherited hard limit (raising one needs a
/// privilege the sandbox does not have).
fn set_limits(limits: &Limits) -> nix::Result<()> {
    let lower = |resource: Resource, soft: u64, hard: u64| -> nix::Result<()> {
        let (_, current_hard) = getrlimit(resource)?;
        setrlimit(resource, soft.min(current_hard), hard.min(current_hard))
    };
    let cpu_seconds = limits.cpu_ms.div_ceil(1000).max(1);
    // SIGXCPU at the soft limit, SIGKILL a second later for a program that ignores it.
    lower(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)?;
    let file_size = limits.file_size_mb.saturating_mul(MIB);
    lower(Resource::RLIMIT_FSIZE, file_size, file_size)?;
    lower(
        Resource::RLIMIT_NOFILE,
        limits.open_files,
        limits.open_files,
    )?;
    lower(Resource::RLIMIT_CORE, 0, 0)?;
    let processes = u64::from(limits.processes) + SUPERVISOR_PROCESSES;
    lower(Resource::RLIMIT_NPROC, processes, processes)?;
    // RLIMIT_DATA, not RLIMIT_AS: V8 reserves far more address space than it uses, so an
    // address-space limit breaks node, while the data limit counts what is really
    // writable. Per process; the cgroup, when there is one, caps the whole run.
    let memory = limits.memory_mb.saturating_mul(MIB);
    lower(Resource::RLIMIT_DATA, memory, memory)?;
    lower(Resource::RLIMIT_MSGQUEUE, 0, 0)?;
    Ok(())
}
