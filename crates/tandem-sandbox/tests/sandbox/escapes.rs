//! Programs that try to get out: the network, other runs' files, the host's files and
//! environment, writes outside the work directory, symlink tricks, ptrace, new
//! namespaces and mounts, privileged system calls. Each attempt must fail inside and
//! change nothing outside.

use std::net::TcpListener;
use std::time::Duration;

use crate::common::{bash, program, python, run, sandbox};
use tandem_sandbox::Language;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_network_is_unreachable() {
    let sandbox = sandbox().await;
    // A listener on the host's loopback: the sandbox must not reach it, nor PostgreSQL's
    // port, nor anything outside (192.0.2.1 is TEST-NET-1, never routed; the attempt is
    // refused before any packet could be built anyway).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\n\
         for host, port in (('127.0.0.1', {port}), ('127.0.0.1', 5432), ('192.0.2.1', 53), ('::1', 5432)):\n\
         \x20   try:\n\
         \x20       socket.create_connection((host, port), timeout=2)\n\
         \x20       print(host, port, 'CONNECTED')\n\
         \x20   except OSError as e:\n\
         \x20       print(host, port, 'refused', e.errno)\n\
         try:\n\
         \x20   socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)\n\
         \x20   print('netlink OPEN')\n\
         except OSError as e:\n\
         \x20   print('netlink refused', e.errno)\n\
         a, b = socket.socketpair()\n\
         a.send(b'unix ok')\n\
         print(b.recv(16).decode())\n\
         print('interfaces', sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n\
         print('routes', len([l for l in open('/proc/net/route') if not l.startswith('Iface')]))\n"
    );
    let outcome = python(&sandbox, &code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert!(!outcome.stdout.contains("CONNECTED") && !outcome.stdout.contains("OPEN"));
    // EPERM from the seccomp filter for every non-Unix socket.
    for target in [
        format!("127.0.0.1 {port}"),
        "127.0.0.1 5432".into(),
        "192.0.2.1 53".into(),
    ] {
        assert!(
            outcome.stdout.contains(&format!("{target} refused 1\n")),
            "{target}: {outcome:?}"
        );
    }
    assert!(outcome.stdout.contains("netlink refused 1\n"));
    assert!(
        outcome.stdout.contains("unix ok\n"),
        "Unix sockets still work"
    );
    // And even without the filter there would be nowhere to go: only a loopback, no routes.
    assert!(
        outcome.stdout.contains("interfaces ['lo']\n"),
        "{outcome:?}"
    );
    assert!(outcome.stdout.contains("routes 0\n"), "{outcome:?}");
    assert!(
        listener.accept().is_err(),
        "nothing connected to the host listener"
    );
}

#[tokio::test]
async fn concurrent_runs_cannot_see_each_others_files() {
    let sandbox = sandbox().await;
    let pid = std::process::id();
    let secret = format!("cross-job-secret-{pid}");
    let writer = format!(
        "import time\n\
         open('/work/secret.txt', 'w').write('{secret}')\n\
         open('/tmp/secret.txt', 'w').write('{secret}')\n\
         print('written', flush=True)\n\
         time.sleep(2)\n\
         print(open('/work/secret.txt').read() == '{secret}')"
    );
    // The reader searches every file it can see outside /usr and /proc's per-process
    // trees for the other run's secret, and checks that the host's work tree is absent.
    let reader = format!(
        "import os, time\n\
         time.sleep(0.5)\n\
         needle = 'cross-job-secret-' + '{pid}'  # not spelled out: this file is searched too\n\
         hits = []\n\
         for top in ('/work', '/tmp', '/dev', '/etc', '/'):\n\
         \x20   for root, dirs, files in os.walk(top):\n\
         \x20       dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/usr', '/proc')]\n\
         \x20       for name in files:\n\
         \x20           path = os.path.join(root, name)\n\
         \x20           try:\n\
         \x20               if os.path.isfile(path) and needle in open(path, errors='replace').read(1 << 20):\n\
         \x20                   hits.append(path)\n\
         \x20           except OSError:\n\
         \x20               pass\n\
         pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n\
         print('hits', hits)\n\
         print('pids', pids)\n\
         print('host work tree', os.path.exists('/work/main'), os.path.exists('/work/main/Cargo.toml'))"
    );
    let (written, read) = tokio::join!(
        run(&sandbox, program(Language::Python, &writer)),
        run(&sandbox, program(Language::Python, &reader))
    );
    assert_eq!(written.stdout, "written\nTrue\n", "{written:?}");
    assert!(read.stdout.contains("hits []\n"), "{read:?}");
    // Only its own PID 1 and itself (and the walk found nothing of the writer's).
    assert!(read.stdout.contains("pids [1, 2]\n"), "{read:?}");
    assert!(
        read.stdout.contains("host work tree False False\n"),
        "{read:?}"
    );
}

#[tokio::test]
async fn host_files_are_not_reachable() {
    let sandbox = sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let secret_path = data.path().join("signing.key");
    let secret = format!("host-secret-{}", std::process::id());
    std::fs::write(&secret_path, &secret).unwrap();
    let code = format!(
        "import os\n\
         for path in ({path:?}, {dir:?}, '/root', '/home', '/var', '/etc/shadow', '/proc/1/root/etc/shadow', '/sys'):\n\
         \x20   print(path.split('/')[-1] or path, os.path.exists(path))\n\
         needle = 'host-secret-' + '{pid}'\n\
         hits = []\n\
         for root, dirs, files in os.walk('/'):\n\
         \x20   dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/usr', '/proc')]\n\
         \x20   for name in files:\n\
         \x20       try:\n\
         \x20           path = os.path.join(root, name)\n\
         \x20           # Regular files only: /dev/stdout leads to a pipe that never ends.\n\
         \x20           if os.path.isfile(path) and needle in open(path, errors='replace').read(1 << 20):\n\
         \x20               hits.append(path)\n\
         \x20       except OSError:\n\
         \x20           pass\n\
         print('hits', hits)",
        path = secret_path.display().to_string(),
        dir = data.path().display().to_string(),
        pid = std::process::id(),
    );
    let outcome = python(&sandbox, &code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert!(!outcome.stdout.contains("True"), "{outcome:?}");
    assert!(outcome.stdout.contains("hits []\n"), "{outcome:?}");
    assert_eq!(std::fs::read_to_string(&secret_path).unwrap(), secret);
}

#[tokio::test]
async fn the_host_environment_is_invisible() {
    const VAR: &str = "TANDEM_SIGNING_SECRET";
    const VALUE: &str = "canary-7f3a9c";
    if std::env::var(VAR).as_deref() != Ok(VALUE) {
        // Run this very test again in a process that has the variable: setting it here
        // would race with the harness's other threads.
        let inner = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_host_environment_is_invisible",
                "--test-threads=1",
            ])
            .env(VAR, VALUE)
            .output()
            .unwrap();
        assert!(
            inner.status.success(),
            "the test failed with {VAR} set:\n{}\n{}",
            String::from_utf8_lossy(&inner.stdout),
            String::from_utf8_lossy(&inner.stderr)
        );
        return;
    }
    let sandbox = sandbox().await;
    let code = "import os\n\
                seen, readable = [], 0\n\
                for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['self']:\n\
                \x20   for name in ('environ', 'cmdline'):\n\
                \x20       try:\n\
                \x20           data = open(f'/proc/{pid}/{name}', 'rb').read()\n\
                \x20           readable += 1\n\
                \x20           if b'canary' in data or b'TANDEM_' in data:\n\
                \x20               seen.append(f'{pid}/{name}')\n\
                \x20       except OSError:\n\
                \x20           pass\n\
                print('seen', seen, 'readable', readable > 2)\n\
                print('env', sorted(os.environ))";
    let outcome = python(&sandbox, code).await;
    assert!(
        outcome.stdout.contains("seen [] readable True\n"),
        "{outcome:?}"
    );
    assert!(
        outcome
            .stdout
            .contains("env ['HOME', 'LANG', 'LC_CTYPE', 'PATH', 'TMPDIR', 'USER']")
            || outcome
                .stdout
                .contains("env ['HOME', 'LANG', 'PATH', 'TMPDIR', 'USER']"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn nothing_outside_work_and_tmp_is_writable() {
    let sandbox = sandbox().await;
    let code = "import os\n\
                for path in ('/usr/tandem-escape', '/etc/tandem-escape', '/tandem-escape', '/bin/tandem-escape',\n\
                \x20            '/lib/tandem-escape', '/dev/tandem-escape', '/proc/tandem-escape', '/etc/passwd',\n\
                \x20            '/proc/sys/kernel/hostname', '/usr/bin/python3'):\n\
                \x20   try:\n\
                \x20       open(path, 'a').write('x')\n\
                \x20       print(path, 'WRITTEN')\n\
                \x20   except OSError as e:\n\
                \x20       print(path, 'refused')\n\
                for op, arg in ((os.chmod, ('/', 0o777)), (os.mkdir, ('/new',)), (os.remove, ('/etc/passwd',)),\n\
                \x20             (os.rename, ('/dev/null', '/dev/nil')), (os.symlink, ('/work', '/link'))):\n\
                \x20   try:\n\
                \x20       op(*arg)\n\
                \x20       print(op.__name__, 'DONE')\n\
                \x20   except OSError:\n\
                \x20       print(op.__name__, 'refused')\n\
                open('/dev/null', 'w').write('devices still work')\n\
                open('/work/ok', 'w').write('ok')\n\
                open('/tmp/ok', 'w').write('ok')\n\
                print('work and tmp ok')";
    let outcome = python(&sandbox, code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert!(!outcome.stdout.contains("WRITTEN"), "{outcome:?}");
    assert!(!outcome.stdout.contains("DONE"), "{outcome:?}");
    assert_eq!(outcome.stdout.matches("refused").count(), 15, "{outcome:?}");
    assert!(outcome.stdout.ends_with("work and tmp ok\n"));
    for host_path in ["/usr/tandem-escape", "/etc/tandem-escape", "/tandem-escape"] {
        assert!(
            !crate::common::exists(host_path),
            "{host_path} appeared on the host"
        );
    }
}

#[tokio::test]
async fn symlink_tricks_on_staged_files_reach_nothing() {
    let sandbox = sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let host_file = data.path().join("victim.txt");
    std::fs::write(&host_file, "untouched").unwrap();
    let shadow_before = std::fs::read("/etc/shadow").ok();
    let code = format!(
        "import os\n\
         for target in ('/etc/shadow', {host:?}, '/proc/1/root/etc/shadow'):\n\
         \x20   os.remove('/work/main.py')\n\
         \x20   os.symlink(target, '/work/main.py')\n\
         \x20   for mode in ('r', 'a'):\n\
         \x20       try:\n\
         \x20           with open('/work/main.py', mode) as f:\n\
         \x20               f.write('owned') if mode == 'a' else f.read()\n\
         \x20           print(target, mode, 'OPENED')\n\
         \x20       except OSError as e:\n\
         \x20           print(target, mode, 'refused')\n\
         os.symlink('/', '/work/root')\n\
         print('root via link', sorted(os.listdir('/work/root/')))",
        host = host_file.display().to_string(),
    );
    let outcome = python(&sandbox, &code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert!(!outcome.stdout.contains("OPENED"), "{outcome:?}");
    // A link to / is the sandbox's own root, nothing more.
    assert!(
        outcome.stdout.contains(
            "root via link ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', 'work']"
        ),
        "{outcome:?}"
    );
    // The host never touched the sandbox's files; nothing outside changed.
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "untouched");
    assert_eq!(std::fs::read("/etc/shadow").ok(), shadow_before);
}

#[tokio::test]
async fn ptrace_and_peeking_at_pid_1_fail() {
    let sandbox = sandbox().await;
    let code = "import ctypes, os\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n\
                for name, request, pid in (('traceme', 0, 0), ('attach', 16, 1), ('seize', 0x4206, 1)):\n\
                \x20   rc = libc.ptrace(request, pid, None, None)\n\
                \x20   print(name, rc, ctypes.get_errno())\n\
                for path in ('/proc/1/mem', '/proc/1/environ', '/proc/1/root/', '/proc/1/exe', '/proc/1/fd/'):\n\
                \x20   try:\n\
                \x20       os.listdir(path) if path.endswith('/') else open(path, 'rb').read(1)\n\
                \x20       print(path, 'READ')\n\
                \x20   except OSError as e:\n\
                \x20       print(path, 'refused')\n\
                status = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n\
                print('caps', status['CapEff'], status['CapPrm'], 'seccomp', status['Seccomp'], 'nnp', status['NoNewPrivs'])\n\
                print('ids', os.getuid(), os.geteuid(), os.getgid(), os.getgroups())";
    let outcome = python(&sandbox, code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    for name in ["traceme", "attach", "seize"] {
        assert!(
            outcome.stdout.contains(&format!("{name} -1 1\n")),
            "{name}: {outcome:?}"
        );
    }
    assert!(!outcome.stdout.contains("READ"), "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("caps 0000000000000000 0000000000000000 seccomp 2 nnp 1\n"),
        "{outcome:?}"
    );
    assert!(
        outcome.stdout.contains("ids 1000 1000 1000 "),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn namespaces_mounts_and_privileged_calls_are_refused() {
    let sandbox = sandbox().await;
    let code = "import ctypes, os\n\
                libc = ctypes.CDLL(None, use_errno=True)\n\
                def call(name, *args):\n\
                \x20   rc = getattr(libc, name)(*args)\n\
                \x20   print(name, rc, ctypes.get_errno())\n\
                call('unshare', 0x10000000)\n\
                call('unshare', 0x00020000)\n\
                call('mount', b'none', b'/tmp', b'tmpfs', 0, None)\n\
                call('chroot', b'/tmp')\n\
                call('setns', 0, 0)\n\
                call('syscall', 435, None, 0)\n\
                call('syscall', 425, 8, None)\n\
                call('syscall', 321, 0, None, 0)\n\
                call('syscall', 0x40000000 | 39)\n\
                call('syscall', 56, 0x10000000 | 17, None, None, None, None)\n\
                call('personality', 0x0040000)\n\
                call('setuid', 0)\n\
                print('pid still', os.getpid())";
    let outcome = python(&sandbox, code).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    let expected = [
        "unshare -1 1\n", // CLONE_NEWUSER
        "unshare -1 1\n", // CLONE_NEWNS
        "mount -1 1\n",
        "chroot -1 1\n",
        "setns -1 1\n",
        "syscall -1 38\n",    // clone3: ENOSYS, so libc falls back to clone
        "syscall -1 1\n",     // io_uring_setup
        "syscall -1 1\n",     // bpf
        "syscall -1 38\n",    // an x32-ABI getpid
        "syscall -1 1\n",     // clone(CLONE_NEWUSER)
        "personality -1 1\n", // ADDR_NO_RANDOMIZE
        "setuid -1 22\n",     // EINVAL: no inside id maps to host root
    ];
    let mut rest = outcome.stdout.as_str();
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing from {:?}", outcome.stdout));
        rest = &rest[at + line.len()..];
    }
    assert!(rest.starts_with("pid still 2\n"), "{outcome:?}");

    // The command-line tools fail the same way.
    let outcome = bash(
        &sandbox,
        "unshare -U true && echo UNSHARED\nunshare -r true && echo UNSHARED\n\
         mount -t tmpfs none /tmp 2>&1 && echo MOUNTED\necho done",
    )
    .await;
    assert!(!outcome.stdout.contains("UNSHARED") && !outcome.stdout.contains("MOUNTED"));
    assert!(outcome.stdout.ends_with("done\n"), "{outcome:?}");
}

#[tokio::test]
async fn a_dropped_run_takes_its_processes_with_it() {
    let sandbox = sandbox().await;
    let mut p = program(Language::Bash, "sleep 4315.5 & sleep 4315.5");
    p.limits.wall_ms = 30_000;
    // Abandon the run mid-way, as a caller whose task is aborted would.
    let run = sandbox.run(p, CancellationToken::new());
    let abandoned = tokio::time::timeout(Duration::from_millis(400), run).await;
    assert!(abandoned.is_err());
    assert_eq!(
        crate::common::no_survivors("4315.5", Duration::from_secs(2)).await,
        Vec::<String>::new()
    );
}
