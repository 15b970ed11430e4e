//! Tandem's code sandbox: runs untrusted python, javascript and bash programs for real, in
//! a Linux sandbox built to hold against hostile programs.
//!
//! # How a run works
//!
//! The host (this crate, inside Tandem's tokio process) never builds the sandbox itself:
//! heavy work after `fork()` in a multi-threaded process is unsound. Instead [`Sandbox::run`]
//! spawns a fresh, single-threaded *supervisor* ([`InitProgram`], which calls
//! [`init_main`]) with an empty environment, hands it the program over a socket on its
//! stdin, and reads the program's stdout and stderr from pipes. The supervisor:
//!
//! 1. joins a per-run cgroup (memory + pids) that the host created, when cgroups are
//!    writable;
//! 2. enters new user, mount, network, IPC, UTS, PID and cgroup namespaces, with the one
//!    inside user id 1000 mapped to an unprivileged outer id;
//! 3. forks PID 1 of the new PID namespace, which builds a fresh root on a tmpfs (the
//!    system directories bound read-only, a fresh `/proc`, a few device nodes, a
//!    size-capped `/work` and `/tmp`), pivots into it and stages the code in `/work`;
//! 4. forks the program, which sets rlimits, `setsid`, `no_new_privs` and a seccomp
//!    filter, then `execve`s the interpreter.
//!
//! PID 1 enforces the wall-clock limit and exits as soon as the program does, which makes
//! the kernel kill everything left in the namespace. Every level dies with its parent
//! (`PR_SET_PDEATHSIG`), so killing the supervisor tears the whole tree down.
//!
//! A program that fails, times out or runs out of memory is an [`Outcome`], not an error:
//! [`SandboxError`] is only for faults of the sandbox itself.
//!
//! # What it does not do
//!
//! - It is not a VM: the kernel is shared, so a kernel exploit reachable through the
//!   allowed system calls escapes. The seccomp filter is a deny list.
//! - Without writable cgroups (level `"minimal"`, e.g. Tandem running unprivileged
//!   outside a delegated cgroup) memory is capped per process (`RLIMIT_DATA`) and not
//!   for the run as a whole, total CPU is bounded only by the wall clock, and
//!   [`Outcome::oom_killed`] is never set.
//! - `RLIMIT_CPU` counts per process; [`Outcome::cpu_ms`] covers the processes reaped
//!   before the program ended, and is zero when the host had to kill the supervisor.
//! - Unprivileged, the program runs as Tandem's own host user (nothing else can be
//!   mapped) and keeps its supplementary groups.
//! - The supervisor dies with the *thread* that spawned it (`PR_SET_PDEATHSIG`): call
//!   [`Sandbox::run`] from a long-lived runtime, not a throwaway thread.
//! - The program's stdin is a private read-only file (a memfd), not a pipe.
//!
//! # Measuring overhead
//!
//! [`measure_overhead`] runs `print(1)` sandboxed and bare and returns both medians;
//! `tandem-bench sandbox` reports it (docs/BENCHMARKS.md).
//!
//! # The supervisor entry point
//!
//! A binary that embeds this crate must call [`init_main`] first thing in `main` (before
//! starting a tokio runtime or any thread) when it is started as the supervisor, e.g. when
//! `argv[1] == "__sandbox-init"`, which is what [`InitProgram::default`] passes.

mod bench;
mod cgroup;
mod config;
mod error;
mod exec;
mod init;
mod mounts;
mod outcome;
mod pid1;
mod probe;
mod protocol;
mod run;
mod seccomp;
mod sys;

pub use bench::{Overhead, measure_overhead};
pub use config::{InitProgram, Language, Limits, Program, RunAs, SandboxConfig};
pub use error::SandboxError;
pub use init::init_main;
pub use outcome::Outcome;
pub use probe::{CgroupKind, Isolation};
pub use run::Sandbox;
