//! The host side of a run, on tokio: spawn the supervisor with an empty environment, send
//! it the program, collect capped stdout and stderr, enforce a backstop deadline and
//! cancellation, always reap, and turn the supervisor's report into an [`Outcome`].

use std::os::fd::OwnedFd;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::SandboxError;
use crate::cgroup::{CgroupRoot, CgroupStats, RunCgroup};
use crate::config::{Language, Limits, Program, SandboxConfig};
use crate::outcome::{Outcome, output_text};
use crate::probe::{Isolation, probe};
use crate::protocol::{Finished, MAX_REPORT_BYTES, Report, Spec, encode_spec};

/// PID 1 enforces the wall-clock limit; the host kills the supervisor only if this much
/// more has passed (setup, teardown, a wedged supervisor).
const HOST_GRACE: Duration = Duration::from_secs(3);

/// After killing, or after the supervisor exits, how long the pipes may take to close.
const TEARDOWN: Duration = Duration::from_secs(5);

/// Output read past the limit (and discarded) before the host stops reading, which gives
/// a flooding writer `EPIPE`/`SIGPIPE` rather than host CPU for the whole wall-clock limit.
const DRAIN_BYTES: u64 = 8 * 1024 * 1024;

/// Runs untrusted programs. Cheap to share: [`Sandbox::run`] takes `&self` and runs are
/// independent.
#[derive(Debug)]
pub struct Sandbox {
    config: SandboxConfig,
    isolation: Isolation,
    cgroups: Option<CgroupRoot>,
}

impl Sandbox {
    /// Validates `config` and probes the isolation once, by really running a trivial
    /// sandboxed program. Returns a sandbox even when isolation is unavailable (so that
    /// readiness checks can report it); [`Sandbox::run`] then refuses.
    pub async fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        config.validate()?;
        let (isolation, cgroups) = probe(&config).await;
        match isolation.level() {
            "unavailable" => tracing::error!(
                detail = isolation.detail.as_deref().unwrap_or(""),
                "code sandbox unavailable: runs will be refused"
            ),
            level => tracing::info!(
                level,
                cgroup = ?isolation.cgroup,
                detail = isolation.detail.as_deref().unwrap_or(""),
                "code sandbox ready"
            ),
        }
        Ok(Sandbox {
            config,
            isolation,
            cgroups,
        })
    }

    /// The isolation found by the probe.
    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// A program with no input and the configured default limits.
    pub fn program(&self, language: Language, code: impl Into<String>) -> Program {
        Program {
            limits: self.config.limits.clone(),
            ..Program::new(language, code)
        }
    }

    /// Runs `program` to completion, or until its limits stop it.
    ///
    /// Cancelling `cancel` kills the whole process tree at once and returns
    /// [`SandboxError::Cancelled`] once everything is reaped. Dropping the future also
    /// kills the tree (the supervisor is killed on drop and everything below dies with
    /// it), without waiting.
    pub async fn run(
        &self,
        program: Program,
        cancel: CancellationToken,
    ) -> Result<Outcome, SandboxError> {
        if !self.isolation.usable() {
            return Err(SandboxError::Unavailable(
                self.isolation.detail.clone().unwrap_or_default(),
            ));
        }
        execute(&self.config, self.cgroups.as_ref(), program, cancel).await
    }
}

/// One run, with or without a cgroup (the probe uses this directly).
pub(crate) async fn execute(
    config: &SandboxConfig,
    cgroups: Option<&CgroupRoot>,
    program: Program,
    cancel: CancellationToken,
) -> Result<Outcome, SandboxError> {
    let limits = program.limits.clamped(&config.max);
    let cgroup = match cgroups {
        Some(root) => Some(root.create_run(&limits).map_err(SandboxError::Cgroup)?),
        None => None,
    };
    let collected = supervise(config, cgroup.as_ref(), &program, &limits, cancel).await;
    let stats = cgroup.as_ref().map(|cgroup| {
        cgroup.kill_all();
        cgroup.stats()
    });
    if let Some(cgroup) = cgroup {
        cgroup.remove().await;
    }
    let outcome = interpret(collected?, stats)?;
    tracing::debug!(
        exit_code = ?outcome.exit_code,
        signal = ?outcome.signal,
        wall_ms = outcome.wall_ms,
        cpu_ms = outcome.cpu_ms,
        timed_out = outcome.timed_out,
        oom_killed = outcome.oom_killed,
        "sandboxed run finished"
    );
    Ok(outcome)
}

/// Turns what the host collected into an outcome. A missing or failed report is an
/// infrastructure fault, except when the host killed the run at its deadline or the
/// out-of-memory killer picked the supervisor or PID 1 (the run's fault, not ours).
fn interpret(run: Collected, stats: Option<CgroupStats>) -> Result<Outcome, SandboxError> {
    let oom_kills = stats.map_or(0, |stats| stats.oom_kills);
    let finished = match run.report {
        Some(Report::Finished(finished)) => finished,
        _ if oom_kills > 0 || run.killed == Some(Kill::Deadline) => Finished {
            signal: Some(Signal::SIGKILL as i32),
            wall_timed_out: run.killed == Some(Kill::Deadline),
            ..Finished::default()
        },
        Some(Report::Failed { stage, message }) => {
            return Err(SandboxError::Setup { stage, message });
        }
        None => {
            return Err(SandboxError::Supervisor(format!(
                "exited without a report ({:?}): {}",
                run.status,
                String::from_utf8_lossy(&run.stderr.0)
            )));
        }
    };
    let ((stdout, stdout_truncated), (stderr, stderr_truncated)) = (run.stdout, run.stderr);
    Ok(Outcome {
        exit_code: finished.exit_code,
        signal: finished.signal,
        stdout: output_text(stdout, stdout_truncated),
        stderr: output_text(stderr, stderr_truncated),
        stdout_truncated,
        stderr_truncated,
        wall_ms: run.wall_ms,
        cpu_ms: finished.cpu_ms,
        peak_memory_kb: stats.map_or(finished.max_rss_kb, |stats| stats.peak_kb),
        timed_out: finished.wall_timed_out || finished.cpu_timed_out,
        oom_killed: oom_kills > 0,
    })
}

/// What the host saw of a run.
#[derive(Debug)]
struct Collected {
    status: Option<ExitStatus>,
    stdout: (Vec<u8>, bool),
    stderr: (Vec<u8>, bool),
    report: Option<Report>,
    wall_ms: u64,
    killed: Option<Kill>,
}

/// Why the host killed the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    Deadline,
    Cancelled,
}

async fn supervise(
    config: &SandboxConfig,
    cgroup: Option<&RunCgroup>,
    program: &Program,
    limits: &Limits,
    cancel: CancellationToken,
) -> Result<Collected, SandboxError> {
    let spec = Spec {
        host_pid: std::process::id(),
        language: program.language,
        interpreter: config.interpreter(program.language).to_path_buf(),
        code: program.code.clone(),
        limits: limits.clone(),
        cgroup_procs: cgroup.map(RunCgroup::procs_files).unwrap_or_default(),
        run_as: (config.run_as.uid, config.run_as.gid),
        system_paths: config.system_paths.clone(),
        stdin_len: program.stdin.len() as u64,
    };
    let frame = encode_spec(&spec)?;

    let (control, supervisor_end) = std::os::unix::net::UnixStream::pair()?;
    let started = Instant::now();
    let mut child = {
        // The command owns the supervisor's end of the socket: dropping it right after
        // the spawn matters, or the report would never see EOF.
        let mut command = Command::new(&config.init.path);
        command
            .args(&config.init.args)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::from(OwnedFd::from(supervisor_end)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        command.spawn().map_err(SandboxError::Spawn)?
    };
    let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
        (Some(stdout), Some(stderr)) => (stdout, stderr),
        _ => return Err(SandboxError::Supervisor("no output pipes".into())),
    };
    control.set_nonblocking(true)?;
    let control = tokio::net::UnixStream::from_std(control)?;

    let stdin = &program.stdin;
    let talk = async move {
        let (mut read, mut write) = control.into_split();
        // A supervisor that failed early stops reading; its report says why, so a write
        // error here is not worth more than that report.
        let sent = async {
            write.write_all(&frame).await?;
            write.write_all(stdin).await?;
            write.shutdown().await
        };
        let _ = sent.await;
        let mut report = Vec::new();
        let _ = (&mut read)
            .take(MAX_REPORT_BYTES)
            .read_to_end(&mut report)
            .await;
        report
    };
    let out = read_capped(stdout, limits.output_bytes);
    let err = read_capped(stderr, limits.output_bytes);
    tokio::pin!(talk, out, err);

    let wall = Duration::from_millis(limits.wall_ms);
    let deadline = tokio::time::Instant::now() + wall + HOST_GRACE;
    let mut teardown = deadline + Duration::from_secs(3600);
    let mut status: Option<ExitStatus> = None;
    let mut exited_at = None;
    let (mut stdout, mut stderr, mut report) = (None, None, None);
    let mut killed = None;
    while status.is_none() || stdout.is_none() || stderr.is_none() || report.is_none() {
        tokio::select! {
            waited = child.wait(), if status.is_none() => {
                status = Some(waited?);
                exited_at = Some(Instant::now());
                teardown = teardown.min(tokio::time::Instant::now() + TEARDOWN);
            }
            read = &mut out, if stdout.is_none() => stdout = Some(read),
            read = &mut err, if stderr.is_none() => stderr = Some(read),
            bytes = &mut talk, if report.is_none() => report = Some(bytes),
            () = tokio::time::sleep_until(deadline), if killed.is_none() => {
                kill_tree(&mut child, status.is_none(), cgroup);
                killed = Some(Kill::Deadline);
                teardown = teardown.min(tokio::time::Instant::now() + TEARDOWN);
            }
            () = cancel.cancelled(), if killed.is_none() => {
                kill_tree(&mut child, status.is_none(), cgroup);
                killed = Some(Kill::Cancelled);
                teardown = teardown.min(tokio::time::Instant::now() + TEARDOWN);
            }
            () = tokio::time::sleep_until(teardown) => {
                if status.is_none() {
                    return Err(SandboxError::Supervisor("supervisor survived SIGKILL".into()));
                }
                // Something outlived the supervisor with a pipe open; the cgroup (if
                // any) kills it. Take the output read so far.
                tracing::warn!("sandbox output pipes still open after the supervisor exited");
                kill_tree(&mut child, false, cgroup);
                break;
            }
        }
    }
    let elapsed = exited_at.unwrap_or_else(Instant::now) - started;
    let wall_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    if killed == Some(Kill::Cancelled) {
        return Err(SandboxError::Cancelled);
    }
    Ok(Collected {
        status,
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        report: report.and_then(|bytes| Report::parse(&bytes)),
        wall_ms,
        killed,
    })
}

/// SIGKILLs the supervisor and its process group (PID 1 and the program die with it
/// through their death signals) and anything in the run's cgroup.
fn kill_tree(child: &mut Child, alive: bool, cgroup: Option<&RunCgroup>) {
    if alive {
        // Only while unreaped is the pid certainly still ours.
        if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = child.start_kill();
    }
    if let Some(cgroup) = cgroup {
        cgroup.kill_all();
    }
}

/// Reads a stream to its end, keeping the first `cap` bytes. Past the cap it reads on
/// and discards (a writer must never block on a full pipe) up to [`DRAIN_BYTES`] more,
/// then closes the pipe.
async fn read_capped(mut reader: impl AsyncRead + Unpin, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::with_capacity(cap.min(64 * 1024));
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    let mut truncated = false;
    loop {
        let n = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        total += n as u64;
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
        if n > room {
            truncated = true;
            if total > cap as u64 + DRAIN_BYTES {
                break;
            }
        }
    }
    (kept, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn capped_reads_keep_the_head_and_flag_truncation() {
        let data = vec![b'y'; 100_000];
        let (kept, truncated) = read_capped(data.as_slice(), 10).await;
        assert_eq!(kept, b"yyyyyyyyyy");
        assert!(truncated);
        let (kept, truncated) = read_capped(&b"short"[..], 10).await;
        assert_eq!(kept, b"short");
        assert!(!truncated);
    }
}
