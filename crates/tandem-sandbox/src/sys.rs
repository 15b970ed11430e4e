//! The crate's only `unsafe` code, none of which has a safe wrapper: `fork()` in a process
//! proven single-threaded, restoring the default `SIGPIPE` disposition before exec, and
//! marking inherited descriptors close-on-exec.

use std::io;

use nix::sys::signal::{SigHandler, Signal, signal};
use nix::unistd::ForkResult;

/// Number of threads of the calling process, from `/proc/self/task`.
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// `fork()`, refused unless the calling process has exactly one thread.
///
/// Only the supervisor calls this: it is a fresh process that starts no threads, so the
/// check holds and the child may do anything the parent could.
pub(crate) fn fork() -> io::Result<ForkResult> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "refusing to fork with {threads} threads"
        )));
    }
    fork_unchecked().map_err(io::Error::from)
}

#[expect(
    unsafe_code,
    reason = "fork() has no safe wrapper; the caller has just checked the process has one thread"
)]
fn fork_unchecked() -> nix::Result<ForkResult> {
    // SAFETY: the process is single-threaded (checked by `fork` above), so no lock or
    // allocator state can be held by another thread at the moment of the fork.
    unsafe { nix::unistd::fork() }
}

/// Restores `SIGPIPE` to its default action. Rust's runtime ignores it at startup and an
/// ignored signal stays ignored across `execve`, which would make `yes | head` spin on
/// `EPIPE` instead of dying as it should.
#[expect(
    unsafe_code,
    reason = "signal() is unsafe in nix because a handler could be unsafe; SIG_DFL is none"
)]
pub(crate) fn default_sigpipe() -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler, so no code can run in signal context.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }
        .map(drop)
        .map_err(io::Error::from)
}

/// Marks every descriptor from 3 up close-on-exec, so that nothing the host process leaked
/// (a library that forgot `O_CLOEXEC`) reaches the program. Nothing is closed, so no
/// owner of a descriptor is surprised.
#[expect(
    unsafe_code,
    reason = "close_range and fcntl on descriptors this code does not own have no safe wrapper"
)]
pub(crate) fn mark_inherited_cloexec() -> io::Result<()> {
    use nix::libc;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on open descriptors;
    // it reads and writes no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.11: walk /proc/self/fd instead.
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= 3)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD only sets a flag; a descriptor that closed meanwhile (the one
        // read_dir used) just fails with EBADF, which is ignored.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}
