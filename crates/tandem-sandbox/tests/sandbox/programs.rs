//! Ordinary programs in the three languages: stdin in, stdout and stderr out, exit codes,
//! files in the work directory.

use crate::common::{bash, program, python, run, sandbox};
use tandem_sandbox::Language;

#[tokio::test]
async fn the_probe_finds_usable_isolation() {
    let sandbox = sandbox().await;
    let isolation = sandbox.isolation();
    assert!(isolation.usable(), "{isolation:?}");
    assert_ne!(isolation.level(), "unavailable");
    // This crate's CI machines run as root with writable cgroups.
    if nix::unistd::geteuid().is_root() {
        assert_eq!(isolation.level(), "full", "{isolation:?}");
    }
}

#[tokio::test]
async fn python_reads_stdin_and_prints() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Python,
        "import sys\nname = sys.stdin.read().strip()\nprint(f'hello {name} \u{e9}')",
    );
    p.stdin = b"tandem\n".to_vec();
    let outcome = run(&sandbox, p).await;
    assert_eq!(outcome.stdout, "hello tandem \u{e9}\n", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.signal, None);
    assert!(!outcome.timed_out && !outcome.oom_killed && !outcome.stdout_truncated);
    assert!(outcome.peak_memory_kb > 0 && outcome.wall_ms > 0);
}

#[tokio::test]
async fn javascript_reads_stdin_both_ways() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Javascript,
        "const fs = require('fs');\n\
         const all = fs.readFileSync(0, 'utf8');\n\
         console.log('sum', all.trim().split(/\\s+/).map(Number).reduce((a, b) => a + b, 0));",
    );
    p.stdin = b"1 2 3 4\n".to_vec();
    let outcome = run(&sandbox, p).await;
    assert_eq!(outcome.stdout, "sum 10\n", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));

    let mut p = program(
        Language::Javascript,
        "let data = '';\n\
         process.stdin.on('data', c => data += c);\n\
         process.stdin.on('end', () => console.log(data.toUpperCase().trim()));",
    );
    p.stdin = b"streamed\n".to_vec();
    let outcome = run(&sandbox, p).await;
    assert_eq!(outcome.stdout, "STREAMED\n", "{outcome:?}");
}

#[tokio::test]
async fn bash_reads_stdin() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Bash,
        "read -r first\nread -r second\necho \"$second $first\"",
    );
    p.stdin = b"world\nhello\n".to_vec();
    let outcome = run(&sandbox, p).await;
    assert_eq!(outcome.stdout, "hello world\n", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
}

#[tokio::test]
async fn large_stdin_arrives_whole() {
    let sandbox = sandbox().await;
    let mut p = program(
        Language::Python,
        "import sys, hashlib\ndata = sys.stdin.buffer.read()\nprint(len(data), hashlib.sha256(data).hexdigest()[:8])",
    );
    p.stdin = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let outcome = run(&sandbox, p).await;
    assert!(outcome.stdout.starts_with("1000000 "), "{outcome:?}");
}

#[tokio::test]
async fn exit_codes_are_propagated() {
    let sandbox = sandbox().await;
    let outcome = python(&sandbox, "import sys\nprint('bye')\nsys.exit(3)").await;
    assert_eq!((outcome.exit_code, outcome.signal), (Some(3), None));
    assert_eq!(outcome.stdout, "bye\n");
    assert!(!outcome.success());

    let outcome = bash(&sandbox, "exit 7").await;
    assert_eq!(outcome.exit_code, Some(7));

    let outcome = run(&sandbox, program(Language::Javascript, "process.exit(5)")).await;
    assert_eq!(outcome.exit_code, Some(5));
}

#[tokio::test]
async fn stderr_is_captured() {
    let sandbox = sandbox().await;
    let outcome = python(&sandbox, "print('to stdout')\nraise ValueError('boom')").await;
    assert_eq!(outcome.exit_code, Some(1));
    assert_eq!(outcome.stdout, "to stdout\n");
    assert!(outcome.stderr.contains("ValueError: boom"), "{outcome:?}");
    assert!(outcome.stderr.contains("Traceback"));

    let outcome = run(
        &sandbox,
        program(
            Language::Javascript,
            "console.error('oops'); throw new Error('bad')",
        ),
    )
    .await;
    assert_eq!(outcome.exit_code, Some(1));
    assert!(outcome.stderr.starts_with("oops\n"), "{outcome:?}");
    assert!(outcome.stderr.contains("Error: bad"));
}

#[tokio::test]
async fn the_work_directory_and_tmp_are_writable_and_shared_by_children() {
    let sandbox = sandbox().await;
    let outcome = bash(
        &sandbox,
        "echo data > /work/a.txt\n\
         echo more > /tmp/b.txt\n\
         python3 -c 'print(open(\"/work/a.txt\").read().strip(), open(\"/tmp/b.txt\").read().strip())'\n\
         pwd; ls /work",
    )
    .await;
    assert_eq!(
        outcome.stdout, "data more\n/work\na.txt\nmain.sh\n",
        "{outcome:?}"
    );
}

#[tokio::test]
async fn output_beyond_the_limit_is_truncated() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Python, "print('x' * 100000)\nprint('tail')");
    p.limits.output_bytes = 1000;
    let outcome = run(&sandbox, p).await;
    assert_eq!(outcome.stdout.len(), 1000);
    assert!(outcome.stdout_truncated && !outcome.stderr_truncated);
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
}

#[tokio::test]
async fn a_missing_interpreter_is_a_setup_error_not_an_outcome() {
    let config = tandem_sandbox::SandboxConfig {
        init: tandem_sandbox::InitProgram {
            path: env!("CARGO_BIN_EXE_tandem-sandbox-init").into(),
            args: vec![],
        },
        node: "/usr/bin/no-such-node".into(),
        ..tandem_sandbox::SandboxConfig::default()
    };
    let sandbox = tandem_sandbox::Sandbox::new(config).await.unwrap();
    // The probe uses bash, so the sandbox itself is fine; only javascript runs fail.
    assert!(sandbox.isolation().usable());
    let result = sandbox
        .run(
            program(Language::Javascript, "console.log(1)"),
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
    match result {
        Err(tandem_sandbox::SandboxError::Setup { stage, message }) => {
            assert_eq!(stage, "exec");
            assert!(message.contains("ENOENT"), "{message}");
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[tokio::test]
async fn interpreters_outside_the_mounted_paths_are_rejected_up_front() {
    let config = tandem_sandbox::SandboxConfig {
        python: "/root/.pyenv/shims/python3".into(),
        ..tandem_sandbox::SandboxConfig::default()
    };
    let result = tandem_sandbox::Sandbox::new(config).await;
    assert!(
        matches!(result, Err(tandem_sandbox::SandboxError::Config(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn requests_above_the_maximum_are_lowered_to_it() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Bash, "ulimit -t; ulimit -n");
    p.limits.cpu_ms = 10_000_000;
    p.limits.open_files = 1_000_000;
    let outcome = run(&sandbox, p).await;
    let max = &sandbox.config().max;
    assert_eq!(
        outcome.stdout,
        format!("{}\n{}\n", max.cpu_ms / 1000, max.open_files),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn without_working_isolation_runs_are_refused() {
    // A "supervisor" that builds nothing: the probe notices and the sandbox refuses.
    let config = tandem_sandbox::SandboxConfig {
        init: tandem_sandbox::InitProgram {
            path: "/usr/bin/true".into(),
            args: vec![],
        },
        ..tandem_sandbox::SandboxConfig::default()
    };
    let sandbox = tandem_sandbox::Sandbox::new(config).await.unwrap();
    let isolation = sandbox.isolation();
    assert_eq!(isolation.level(), "unavailable", "{isolation:?}");
    assert!(!isolation.usable() && isolation.detail.is_some());
    let result = sandbox
        .run(
            program(Language::Bash, "echo hi"),
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
    assert!(
        matches!(result, Err(tandem_sandbox::SandboxError::Unavailable(_))),
        "{result:?}"
    );
}
