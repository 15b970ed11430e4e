//! The supervisor: a fresh single-threaded process the host starts for each run. It reads
//! the spec from the control socket, joins the run's cgroup, enters the new namespaces
//! with the inside user mapped to an unprivileged host id, forks PID 1 of the new PID
//! namespace, waits for it and relays its report to the host.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, unshare};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{
    ForkResult, Gid, Pid, Uid, dup2_stdin, getegid, geteuid, getppid, pipe2, setgroups, setresgid,
    setresuid,
};

use crate::mounts::INSIDE_ID;
use crate::pid1;
use crate::protocol::{Failure, MAX_REPORT_BYTES, Report, Spec, Stage, read_spec, send_report};
use crate::sys;

/// The supervisor's entry point: call it first thing in `main` when the process was
/// started as the supervisor (see [`crate::InitProgram`]), before any thread exists. It
/// reads its instructions from stdin, which must be the control socket the host set up,
/// and exits when the run is over.
pub fn init_main() -> ! {
    // The control socket is fd 0. Keep a close-on-exec duplicate and put /dev/null in its
    // place, so no process started later inherits the socket.
    let Ok(control) = io::stdin().as_fd().try_clone_to_owned() else {
        std::process::exit(2)
    };
    let mut control = Some(UnixStream::from(control));
    if let Ok(null) = File::open("/dev/null") {
        let _ = dup2_stdin(&null);
    }
    let report = match supervise(&mut control) {
        Ok(report) => report,
        Err(failure) => failure.into(),
    };
    if let Some(control) = control.as_mut() {
        send_report(control, &report);
    }
    std::process::exit(0)
}

/// Everything but the final report. `control` is an `Option` so that PID 1 can close its
/// inherited copy of the socket.
fn supervise(control_slot: &mut Option<UnixStream>) -> Result<Report, Failure> {
    let Some(control) = control_slot.as_mut() else {
        return Err(Failure {
            stage: "control socket",
            message: "missing".into(),
        });
    };
    // Descriptors leaked by the host process must not reach the program.
    sys::mark_inherited_cloexec().stage("close inherited descriptors")?;
    prctl::set_pdeathsig(Signal::SIGKILL).stage("pdeathsig")?;
    let spec = read_spec(control).stage("read spec")?;
    ensure_host_alive(&spec);

    // Join the cgroup before anything is allocated, the stdin copy included, so that it
    // is all charged to the run.
    for procs in &spec.cgroup_procs {
        fs::write(procs, "0").stage("join cgroup")?;
    }
    let stdin = copy_stdin(control, spec.stdin_len).stage("read stdin")?;

    let root = geteuid().is_root();
    if root {
        // Root's supplementary groups would follow the program into the sandbox.
        setgroups(&[]).stage("setgroups")?;
    }
    let (ready_read, ready_write) = pipe2(OFlag::O_CLOEXEC).stage("pipe")?;
    let (done_read, done_write) = pipe2(OFlag::O_CLOEXEC).stage("pipe")?;
    let helper = if root {
        match sys::fork().stage("fork id-map helper")? {
            ForkResult::Child => {
                drop((ready_write, done_read));
                id_map_helper(ready_read, done_write, spec.run_as)
            }
            ForkResult::Parent { child } => Some(child),
        }
    } else {
        None
    };
    drop((ready_read, done_write));

    unshare(
        CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWCGROUP,
    )
    .stage("unshare")?;
    match helper {
        Some(helper) => {
            // Only a process still in the host's user namespace, with CAP_SETUID there,
            // may map the inside user to an id other than the creator's own.
            nix::unistd::write(&ready_write, b"go").stage("id-map helper")?;
            drop(ready_write);
            let mut answer = String::new();
            let _ = File::from(done_read).read_to_string(&mut answer);
            let _ = waitpid(helper, None);
            if answer != "ok" {
                return Err(Failure {
                    stage: "uid_map",
                    message: answer,
                });
            }
        }
        None => {
            drop((ready_write, done_read));
            let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
            write_id_maps("self", uid, gid).stage("uid_map")?;
        }
    }
    let (inside_uid, inside_gid) = (Uid::from_raw(INSIDE_ID), Gid::from_raw(INSIDE_ID));
    setresgid(inside_gid, inside_gid, inside_gid).stage("setresgid")?;
    setresuid(inside_uid, inside_uid, inside_uid).stage("setresuid")?;
    // Changing credentials cleared the death signal; arm it again.
    prctl::set_pdeathsig(Signal::SIGKILL).stage("pdeathsig")?;
    ensure_host_alive(&spec);

    let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).stage("pipe")?;
    let pid1 = match sys::fork().stage("fork pid 1")? {
        ForkResult::Child => {
            // PID 1 needs neither the host's socket nor the report pipe's read end.
            drop((report_read, control_slot.take()));
            pid1::run(&spec, &stdin, report_write)
        }
        ForkResult::Parent { child } => child,
    };
    drop((report_write, stdin));
    let mut bytes = Vec::new();
    let _ = File::from(report_read)
        .take(MAX_REPORT_BYTES)
        .read_to_end(&mut bytes);
    let status = waitpid(pid1, None).stage("wait for pid 1")?;
    Report::parse(&bytes).ok_or_else(|| Failure {
        stage: "pid 1",
        message: format!("exited without a report: {status:?}"),
    })
}

/// Exits quietly if the host died before the death signal was armed.
fn ensure_host_alive(spec: &Spec) {
    if getppid() != Pid::from_raw(i32::try_from(spec.host_pid).unwrap_or(0)) {
        std::process::exit(1);
    }
}

/// Copies exactly `len` stdin bytes from the socket into a memfd and returns a read-only
/// descriptor of it: the program reads a private file it cannot change.
fn copy_stdin(control: &mut UnixStream, len: u64) -> io::Result<OwnedFd> {
    let mut memfd = File::from(memfd_create(c"stdin", MFdFlags::MFD_CLOEXEC)?);
    let copied = io::copy(&mut control.take(len), &mut memfd)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "stdin ended early",
        ));
    }
    // Opening the /proc link again gives a fresh, read-only description at offset 0.
    let read_only = File::open(format!("/proc/self/fd/{}", memfd.as_raw_fd()))?;
    Ok(read_only.into())
}

/// The helper forked before `unshare`: waits for the go-ahead, writes the supervisor's
/// id maps from the host's user namespace, answers "ok" or the error, and exits.
fn id_map_helper(ready: OwnedFd, done: OwnedFd, run_as: (u32, u32)) -> ! {
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    let mut go = [0u8; 2];
    // EOF instead of "go" means the supervisor failed before unsharing.
    let proceed = matches!(File::from(ready).read(&mut go), Ok(n) if n > 0);
    if proceed {
        let answer = match write_id_maps(&getppid().as_raw().to_string(), run_as.0, run_as.1) {
            Ok(()) => "ok".to_owned(),
            Err(error) => error.to_string(),
        };
        let _ = nix::unistd::write(&done, answer.as_bytes());
    }
    std::process::exit(0)
}

/// Maps inside user and group 1000 to `uid` and `gid` for process `pid` (a pid or
/// `self`), and denies `setgroups` inside (an unprivileged mapping requires it, and
/// dropping groups could otherwise bypass group-denied permissions).
fn write_id_maps(pid: &str, uid: u32, gid: u32) -> io::Result<()> {
    let proc = format!("/proc/{pid}");
    fs::write(format!("{proc}/setgroups"), "deny")?;
    fs::write(format!("{proc}/uid_map"), format!("{INSIDE_ID} {uid} 1\n"))?;
    fs::write(format!("{proc}/gid_map"), format!("{INSIDE_ID} {gid} 1\n"))?;
    Ok(())
}
