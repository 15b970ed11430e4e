//! PID 1 of the sandbox's PID namespace: builds the filesystem, stages the code, starts
//! the program, reaps everything, enforces the wall-clock limit, and reports how the
//! program ended. When PID 1 exits the kernel kills whatever is left in the namespace,
//! which is how a backgrounded `sleep 1000` dies with the program.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::prctl;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, pipe2, sethostname};

use crate::exec::{ProgramSetup, exec_program};
use crate::mounts;
use crate::protocol::{Failure, Finished, Report, Spec, Stage, send_report};
use crate::sys;

/// How long PID 1 waits for the program to die after killing it at the deadline.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Runs as PID 1; never returns. `report` is the write end of the pipe to the supervisor.
pub(crate) fn run(spec: &Spec, stdin: &OwnedFd, report: OwnedFd) -> ! {
    let mut report = File::from(report);
    let outcome = match supervise(spec, stdin, &report) {
        Ok(finished) => Report::Finished(finished),
        Err(failure) => failure.into(),
    };
    send_report(&mut report, &outcome);
    std::process::exit(0)
}

fn supervise(spec: &Spec, stdin: &OwnedFd, report: &File) -> Result<Finished, Failure> {
    prctl::set_pdeathsig(Signal::SIGKILL).stage("pdeathsig")?;
    if supervisor_gone(report) {
        // It died before the death signal was armed: nobody would ever kill us.
        std::process::exit(1);
    }
    // Nothing inside may read this process's memory or open its files via /proc.
    prctl::set_dumpable(false).stage("dumpable")?;
    sethostname("sandbox").stage("sethostname")?;
    mounts::enter_new_root(&spec.system_paths, spec.limits.work_dir_mb)?;
    stage_code(spec).stage("stage code")?;
    mounts::seal_root()?;

    let filters = crate::seccomp::build().map_err(|message| Failure {
        stage: "seccomp",
        message,
    })?;
    // SIGCHLD is read from a signalfd, so the wait below can have a deadline without a
    // signal handler. It is blocked before the fork so no exit is missed.
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    chld.thread_block().stage("block SIGCHLD")?;
    let signals = SignalFd::with_flags(&chld, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .stage("signalfd")?;
    let (error_read, error_write) = pipe2(OFlag::O_CLOEXEC).stage("pipe")?;

    let setup = ProgramSetup {
        interpreter: &spec.interpreter,
        language: spec.language,
        limits: &spec.limits,
        stdin,
        filters: &filters,
    };
    let program = match sys::fork().stage("fork program")? {
        ForkResult::Child => exec_program(&setup, &error_write),
        ForkResult::Parent { child } => child,
    };
    drop(error_write);
    let started = Instant::now();

    // EOF means the exec succeeded (the pipe is close-on-exec); anything else is the
    // child's account of the step that failed.
    let mut exec_error = String::new();
    let _ = File::from(error_read).read_to_string(&mut exec_error);
    if !exec_error.is_empty() {
        let _ = waitpid(program, None);
        let (stage, message) = exec_error.split_once('\n').unwrap_or(("exec", &exec_error));
        return Err(Failure {
            stage: "exec",
            message: format!("{stage}: {message}"),
        });
    }

    let deadline = started + Duration::from_millis(spec.limits.wall_ms);
    let (status, wall_timed_out) = wait_for(program, &signals, deadline)?;
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).stage("getrusage")?;
    let cpu = usage.user_time() + usage.system_time();
    let cpu_ms = u64::try_from(cpu.tv_sec()).unwrap_or(0) * 1000
        + u64::try_from(cpu.tv_usec()).unwrap_or(0) / 1000;
    let (exit_code, signal) = match status {
        WaitStatus::Exited(_, code) => (Some(code), None),
        WaitStatus::Signaled(_, signal, _) => (None, Some(signal as i32)),
        _ => (None, None),
    };
    let cpu_limit_ms = spec.limits.cpu_ms.div_ceil(1000).max(1) * 1000;
    let cpu_timed_out = signal == Some(Signal::SIGXCPU as i32)
        || (signal == Some(Signal::SIGKILL as i32) && !wall_timed_out && cpu_ms >= cpu_limit_ms);
    Ok(Finished {
        exit_code,
        signal,
        cpu_ms,
        max_rss_kb: u64::try_from(usage.max_rss()).unwrap_or(0),
        wall_timed_out,
        cpu_timed_out,
    })
}

/// Whether the supervisor, which holds the read end of the report pipe, has exited.
fn supervisor_gone(report: &File) -> bool {
    let mut fds = [PollFd::new(report.as_fd(), PollFlags::POLLOUT)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0]
            .revents()
            .is_some_and(|events| events.contains(PollFlags::POLLERR)),
        Err(_) => false,
    }
}

/// Writes the code where the interpreter will find it. `create_new` with no symlink
/// following: the directory is fresh, so anything already there is a bug.
fn stage_code(spec: &Spec) -> std::io::Result<()> {
    let path = Path::new("/work").join(spec.language.file_name());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(spec.code.as_bytes())
}

/// Reaps children until `program` exits, killing everything at `deadline`. Returns the
/// program's status and whether the deadline killed it.
fn wait_for(
    program: Pid,
    signals: &SignalFd,
    deadline: Instant,
) -> Result<(WaitStatus, bool), Failure> {
    let mut timed_out = false;
    let mut give_up = None;
    loop {
        if let Some(status) = reap(program).stage("waitpid")? {
            return Ok((status, timed_out));
        }
        let now = Instant::now();
        if !timed_out && now >= deadline {
            // -1 from PID 1 means every other process in the namespace.
            let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
            timed_out = true;
            give_up = Some(now + KILL_GRACE);
        }
        let until = give_up.unwrap_or(deadline);
        if now >= until && timed_out {
            return Err(Failure {
                stage: "wait",
                message: "program survived SIGKILL".into(),
            });
        }
        // Wake at least every few seconds; poll's timeout is an i32 of milliseconds.
        let wait_ms = until.saturating_duration_since(now).as_millis().min(5_000);
        let timeout = PollTimeout::from(u16::try_from(wait_ms).unwrap_or(5_000));
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(error) => return Err(error).stage("poll"),
        }
        // Drain the signalfd; the reap above collects the exits it announced.
        while let Ok(Some(_)) = signals.read_signal() {}
    }
}

/// Reaps every child that has exited; returns the program's status if it was among them.
fn reap(program: Pid) -> nix::Result<Option<WaitStatus>> {
    let mut found = None;
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(found),
            Ok(status) => {
                if status.pid() == Some(program)
                    && matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..))
                {
                    found = Some(status);
                }
            }
            Err(Errno::EINTR) => {}
            Err(error) => return Err(error),
        }
    }
}
