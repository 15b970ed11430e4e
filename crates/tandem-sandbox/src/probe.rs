//! What isolation this machine gives, decided by trying rather than guessing: find a
//! writable cgroup hierarchy, then run a trivial bash program in the sandbox and read back
//! from inside what it is actually under (PID, user, id map, seccomp mode, capabilities,
//! rlimits).

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::cgroup::CgroupRoot;
use crate::config::{Language, Limits, Program, SandboxConfig};
use crate::mounts::INSIDE_ID;
use crate::run::execute;

/// A cgroup hierarchy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupKind {
    /// cgroup v1, with the memory and pids controllers.
    V1,
    /// cgroup v2 (unified), with the memory and pids controllers.
    V2,
}

/// The isolation runs get on this machine, as found by [`crate::Sandbox::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// New user, mount, PID, network, IPC, UTS and cgroup namespaces, with the program
    /// an unprivileged user without capabilities.
    pub namespaces: bool,
    /// The seccomp filter and `no_new_privs`.
    pub seccomp: bool,
    /// CPU, process, memory, file and descriptor rlimits.
    pub rlimits: bool,
    /// Per-run cgroups capping the whole run's memory and processes.
    pub cgroup: Option<CgroupKind>,
    /// A run's processes together get at most one CPU (the cgroup cpu controller).
    pub cpu_quota: bool,
    /// Why isolation is below "full", when it is.
    pub detail: Option<String>,
}

impl Isolation {
    /// `"full"` (everything, cgroups included), `"minimal"` (namespaces, rlimits and
    /// seccomp, without cgroups: a run's processes are each capped but not their sum) or
    /// `"unavailable"` (runs are refused).
    pub fn level(&self) -> &'static str {
        match (self.usable(), self.cgroup) {
            (true, Some(_)) => "full",
            (true, None) => "minimal",
            (false, _) => "unavailable",
        }
    }

    /// Whether runs are allowed: namespaces, seccomp and rlimits all work.
    pub fn usable(&self) -> bool {
        self.namespaces && self.seccomp && self.rlimits
    }

    fn unavailable(detail: String) -> Self {
        Self {
            namespaces: false,
            seccomp: false,
            rlimits: false,
            cgroup: None,
            cpu_quota: false,
            detail: Some(detail),
        }
    }
}

/// Prints what the program is under, with bash builtins only.
const PROBE_SCRIPT: &str = r#"
while IFS=$'\t' read -r key value; do
  case "$key" in Seccomp:|NoNewPrivs:|CapEff:|CapPrm:) echo "$key$value" ;; esac
done < /proc/self/status
read -r a b c < /proc/self/uid_map
echo "uidmap:$a $b $c"
echo "pid:$$"
echo "uid:$EUID"
echo "host:$(< /proc/sys/kernel/hostname)"
echo "nproc:$(ulimit -u)"
echo "cpu:$(ulimit -t)"
echo "data:$(ulimit -d)"
"#;

/// Probes once; returns the isolation and the cgroup root runs should use.
pub(crate) async fn probe(config: &SandboxConfig) -> (Isolation, Option<CgroupRoot>) {
    let (cgroups, cgroup_problem) = match CgroupRoot::detect() {
        Ok(root) => (Some(root), None),
        Err(problem) => (None, Some(format!("no usable cgroups: {problem}"))),
    };
    if let Some(root) = cgroups {
        match try_run(config, Some(&root)).await {
            Ok(mut isolation) => {
                isolation.cgroup = isolation.usable().then(|| root.kind());
                isolation.cpu_quota = isolation.usable() && root.caps_cpu();
                let cgroups = isolation.cgroup.is_some().then_some(root);
                return (isolation, cgroups);
            }
            Err(problem) => {
                // Perhaps only the cgroup is the trouble: try without one.
                let mut isolation = try_run(config, None)
                    .await
                    .unwrap_or_else(Isolation::unavailable);
                isolation.detail = Some(format!("runs with a cgroup failed: {problem}"));
                return (isolation, None);
            }
        }
    }
    let mut isolation = try_run(config, None)
        .await
        .unwrap_or_else(Isolation::unavailable);
    if isolation.detail.is_none() {
        isolation.detail = cgroup_problem;
    }
    (isolation, None)
}

/// Limits of the probe run: small, and distinctive enough to check.
fn probe_limits() -> Limits {
    Limits {
        cpu_ms: 2_000,
        wall_ms: 10_000,
        memory_mb: 64,
        processes: 16,
        output_bytes: 4096,
        work_dir_mb: 1,
        open_files: 32,
        file_size_mb: 1,
    }
}

async fn try_run(
    config: &SandboxConfig,
    cgroups: Option<&CgroupRoot>,
) -> Result<Isolation, String> {
    let limits = probe_limits();
    let program = Program {
        limits: limits.clone(),
        ..Program::new(Language::Bash, PROBE_SCRIPT)
    };
    let outcome = execute(config, cgroups, program, CancellationToken::new())
        .await
        .map_err(|e| e.to_string())?;
    if !outcome.success() {
        return Err(format!(
            "probe program failed: exit {:?} signal {:?}: {}",
            outcome.exit_code, outcome.signal, outcome.stderr
        ));
    }
    let value = |key: &str| -> &str {
        outcome
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or("")
    };
    let uid_map: Vec<&str> = value("uidmap:").split_whitespace().collect();
    let no_capabilities = value("CapEff:").trim_start_matches('0').is_empty()
        && value("CapPrm:").trim_start_matches('0').is_empty();
    let namespaces = value("pid:") == "2"
        && value("uid:") == INSIDE_ID.to_string()
        && uid_map.first() == Some(&INSIDE_ID.to_string().as_str())
        && uid_map.get(2) == Some(&"1")
        && value("host:") == "sandbox"
        && no_capabilities;
    let seccomp = value("Seccomp:") == "2" && value("NoNewPrivs:") == "1";
    let rlimits = value("nproc:") == (limits.processes + 2).to_string()
        && value("cpu:") == (limits.cpu_ms / 1000).to_string()
        && value("data:") == (limits.memory_mb * 1024).to_string();
    let mut missing = Vec::new();
    for (ok, what) in [
        (namespaces, "namespaces"),
        (seccomp, "seccomp"),
        (rlimits, "rlimits"),
    ] {
        if !ok {
            missing.push(what);
        }
    }
    Ok(Isolation {
        namespaces,
        seccomp,
        rlimits,
        cgroup: None,
        cpu_quota: false,
        detail: (!missing.is_empty()).then(|| {
            format!(
                "probe found no {}: {}",
                missing.join(", "),
                outcome.stdout.replace('\n', " ")
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let mut isolation = Isolation {
            namespaces: true,
            seccomp: true,
            rlimits: true,
            cgroup: Some(CgroupKind::V1),
            cpu_quota: true,
            detail: None,
        };
        assert_eq!(isolation.level(), "full");
        isolation.cgroup = None;
        assert_eq!(isolation.level(), "minimal");
        isolation.seccomp = false;
        assert_eq!(isolation.level(), "unavailable");
        assert!(!isolation.usable());
    }
}
