//! Programs that attack the machine's resources: fork bombs, memory bombs, endless loops,
//! output floods, processes left behind, and runs the caller gives up on. Each must be
//! contained, reported as an outcome, and leave the host as it was.

use std::time::{Duration, Instant};

use crate::common::{bash, no_survivors, program, python, run, sandbox};
use tandem_sandbox::{Language, SandboxError};
use tokio_util::sync::CancellationToken;

const SIGKILL: i32 = 9;
const SIGPIPE: i32 = 13;
const SIGXCPU: i32 = 24;

#[tokio::test]
async fn a_fork_bomb_is_bounded_by_the_process_limit() {
    let sandbox = sandbox().await;
    // Forks until refused; every child becomes a long sleep that must not outlive the run.
    let code = "import os\n\
                n = 0\n\
                try:\n\
                \x20   while True:\n\
                \x20       if os.fork() == 0:\n\
                \x20           os.execv('/usr/bin/sleep', ['sleep', '4311.5'])\n\
                \x20       n += 1\n\
                except OSError as e:\n\
                \x20   print('forks', n, e.errno)\n";
    let mut p = program(Language::Python, code);
    p.limits.processes = 16;
    let outcome = run(&sandbox, p).await;
    let forks: u32 = outcome
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{outcome:?}"));
    assert!((5..16).contains(&forks), "{forks} forks: {outcome:?}");
    assert!(
        outcome.stdout.ends_with(" 11\n"),
        "EAGAIN expected: {outcome:?}"
    );
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(
        no_survivors("4311.5", Duration::from_secs(2)).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn the_classic_bash_fork_bomb_ends_at_the_wall_clock_and_the_host_stays_responsive() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Bash, ":(){ :|:& };:\nsleep 30");
    p.limits.processes = 24;
    p.limits.wall_ms = 2_000;
    let started = Instant::now();
    let bomb = run(&sandbox, p);
    let host = async {
        // While the bomb runs, the host can still start processes promptly.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let spawned = Instant::now();
        let status = tokio::process::Command::new("/usr/bin/true").status().await;
        (
            status.map(|s| s.success()).unwrap_or(false),
            spawned.elapsed(),
        )
    };
    let (outcome, (host_ok, host_spawn)) = tokio::join!(bomb, host);
    assert!(
        host_ok && host_spawn < Duration::from_secs(2),
        "{host_spawn:?}"
    );
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.signal, Some(SIGKILL));
    assert!(started.elapsed() < Duration::from_secs(5), "{outcome:?}");
    assert!(
        outcome.stderr.contains("retry") || outcome.stderr.contains("fork"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_memory_bomb_stops_near_the_memory_limit() {
    let sandbox = sandbox().await;
    let code = "chunks = []\n\
                while True:\n\
                \x20   chunks.append(b'x' * (8 * 1024 * 1024))\n";
    let mut p = program(Language::Python, code);
    p.limits.memory_mb = 64;
    let outcome = run(&sandbox, p).await;
    assert!(
        outcome.oom_killed || outcome.stderr.contains("MemoryError"),
        "{outcome:?}"
    );
    assert_ne!(outcome.exit_code, Some(0));
    // Near the limit, never far past it.
    assert!(outcome.peak_memory_kb > 32 * 1024, "{outcome:?}");
    assert!(outcome.peak_memory_kb < 80 * 1024, "{outcome:?}");
}

#[tokio::test]
async fn memory_spread_over_processes_is_capped_by_the_cgroup() {
    let sandbox = sandbox().await;
    if sandbox.isolation().cgroup.is_none() {
        eprintln!("no cgroup here: only per-process rlimits apply");
        return;
    }
    // Each process stays under its own rlimit; together they pass the run's limit.
    let code = "import os, time\n\
                for _ in range(6):\n\
                \x20   if os.fork() == 0:\n\
                \x20       block = b'x' * (40 * 1024 * 1024)\n\
                \x20       time.sleep(10)\n\
                \x20       os._exit(0)\n\
                for _ in range(6):\n\
                \x20   os.wait()\n";
    let mut p = program(Language::Python, code);
    p.limits.memory_mb = 96;
    p.limits.wall_ms = 3_000;
    let outcome = run(&sandbox, p).await;
    assert!(outcome.oom_killed, "{outcome:?}");
    assert!(outcome.peak_memory_kb <= 96 * 1024, "{outcome:?}");
}

#[tokio::test]
async fn an_endless_loop_dies_of_its_cpu_limit() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Python, "while True:\n    pass");
    p.limits.cpu_ms = 1_000;
    // Far from the CPU limit, so that a loaded machine cannot make the wall clock win.
    p.limits.wall_ms = 20_000;
    let outcome = run(&sandbox, p).await;
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.signal, Some(SIGXCPU));
    // The limit is checked against the scheduler's exact run time; the reported time is
    // rusage's, sampled at ticks, which reads low on a loaded machine (832 ms seen).
    assert!(outcome.cpu_ms >= 500, "{outcome:?}");
    assert!(outcome.wall_ms < 10_000, "{outcome:?}");
}

#[tokio::test]
async fn a_sleeping_program_dies_at_the_wall_clock_limit() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Python,
        "import time\nprint('sleeping')\ntime.sleep(100)",
    );
    p.limits.wall_ms = 1_000;
    let outcome = run(&sandbox, p).await;
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.signal, Some(SIGKILL));
    assert_eq!(
        outcome.stdout, "sleeping\n",
        "output before the kill is kept"
    );
    assert!((1_000..4_000).contains(&outcome.wall_ms), "{outcome:?}");
}

#[tokio::test]
async fn the_wall_clock_limit_kills_the_whole_tree() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Bash,
        "sleep 4312.5 &\n\
         (sleep 4312.5; echo never) &\n\
         setsid sleep 4312.5 &\n\
         python3 -c 'while True: pass' &\n\
         wait",
    );
    p.limits.wall_ms = 1_000;
    let started = Instant::now();
    let outcome = run(&sandbox, p).await;
    assert!(outcome.timed_out, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_millis(4_000));
    assert!(!outcome.stdout.contains("never"));
    assert_eq!(
        no_survivors("4312.5", Duration::from_secs(2)).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn background_children_die_when_the_program_exits() {
    let sandbox = sandbox().await;
    let outcome = bash(
        &sandbox,
        "sleep 4313.5 &\nnohup sleep 4313.5 >/dev/null 2>&1 &\necho started",
    )
    .await;
    assert_eq!(outcome.stdout, "started\n");
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.timed_out);
    assert!(
        outcome.wall_ms < 2_500,
        "the run returns promptly: {outcome:?}"
    );
    // Gone by the time the run returned, not merely eventually.
    assert_eq!(
        no_survivors("4313.5", Duration::ZERO).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_output_flood_is_truncated_and_cut_off() {
    let sandbox = sandbox().await;
    for (code, stdout) in [("yes", true), ("yes >&2", false)] {
        let mut p = program(Language::Bash, code);
        p.limits.output_bytes = 4096;
        let outcome = run(&sandbox, p).await;
        let (kept, truncated) = if stdout {
            (&outcome.stdout, outcome.stdout_truncated)
        } else {
            (&outcome.stderr, outcome.stderr_truncated)
        };
        assert_eq!(kept.len(), 4096, "{code}");
        assert!(kept.starts_with("y\ny\n"));
        assert!(truncated, "{code}");
        // The host stops reading a few MiB past the cap: the writer gets SIGPIPE long
        // before the wall-clock limit (bash reports its child's death as 128 + 13).
        let ended = (outcome.exit_code, outcome.signal);
        assert!(
            ended == (Some(128 + SIGPIPE), None) || ended == (None, Some(SIGPIPE)),
            "{code}: {ended:?}"
        );
        assert!(outcome.wall_ms < 3_000, "{code}: {}", outcome.wall_ms);
        assert!(!outcome.timed_out);
    }
}

#[tokio::test]
async fn file_size_and_work_dir_limits_hold() {
    let sandbox = sandbox().await;
    let code = "import errno\n\
                try:\n\
                \x20   open('/work/big', 'wb').write(b'x' * (3 * 1024 * 1024))\n\
                except OSError as e:\n\
                \x20   print('fsize', errno.errorcode[e.errno])\n\
                total = 0\n\
                try:\n\
                \x20   for i in range(100):\n\
                \x20       open(f'/tmp/f{i}', 'wb').write(b'x' * (512 * 1024))\n\
                \x20       total += 1\n\
                except OSError as e:\n\
                \x20   print('space', errno.errorcode[e.errno], total)\n";
    let mut p = program(Language::Python, code);
    p.limits.file_size_mb = 1;
    p.limits.work_dir_mb = 4;
    let outcome = run(&sandbox, p).await;
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"fsize EFBIG"), "{outcome:?}");
    let space = lines.get(1).unwrap_or_else(|| panic!("{outcome:?}"));
    assert!(space.starts_with("space ENOSPC "), "{outcome:?}");
}

#[tokio::test]
async fn cancelling_kills_a_running_program_promptly() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Bash, "sleep 4314.5 &\nsleep 4314.5\necho never");
    p.limits.wall_ms = 30_000;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = sandbox.run(p, cancel).await;
    assert!(matches!(result, Err(SandboxError::Cancelled)), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        no_survivors("4314.5", Duration::from_secs(1)).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_program_cannot_kill_its_supervisor() {
    let sandbox = sandbox().await;
    // Signals to PID 1 from inside its namespace are dropped unless it handles them.
    let outcome = python(
        &sandbox,
        "import os, signal\n\
         for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGINT):\n\
         \x20   os.kill(1, sig)\n\
         print('still here')",
    )
    .await;
    assert_eq!(outcome.stdout, "still here\n", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
}

#[tokio::test]
async fn busy_processes_share_one_cpu() {
    let sandbox = sandbox().await;
    if !sandbox.isolation().cpu_quota {
        eprintln!("no cpu controller here: each process is capped only by RLIMIT_CPU");
        return;
    }
    // Four processes spin for one second of wall-clock time. Without the quota they would
    // burn up to four CPU-seconds (two on this two-core machine); with it, about one.
    let code = "import os, time\n\
                end = time.time() + 1.0\n\
                kids = []\n\
                for _ in range(3):\n\
                \x20   pid = os.fork()\n\
                \x20   if pid == 0:\n\
                \x20       while time.time() < end:\n\
                \x20           pass\n\
                \x20       os._exit(0)\n\
                \x20   kids.append(pid)\n\
                while time.time() < end:\n\
                \x20   pass\n\
                for _ in kids:\n\
                \x20   os.wait()\n\
                t = os.times()\n\
                print(round(t.user + t.system + t.children_user + t.children_system, 2))";
    let outcome = python(&sandbox, code).await;
    let cpu_seconds: f64 = outcome
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{outcome:?}"));
    assert!(
        cpu_seconds > 0.2 && cpu_seconds < 1.35,
        "{cpu_seconds} s: {outcome:?}"
    );
}
