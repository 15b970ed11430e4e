//! Per-run cgroups, managed from the host: finding a writable hierarchy (v1 memory + pids,
//! or v2), creating a run's cgroup with its memory and process limits (and a one-CPU
//! quota where the cpu controller is available), reading its peak memory and OOM kills,
//! killing whatever is left in it, and removing it. The host owns
//! them (not the supervisor) so that cleanup happens even when the supervisor is killed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::config::Limits;
use crate::probe::CgroupKind;

/// Tasks of a run that are not the program's: the supervisor, its short-lived id-map
/// helper, and PID 1.
const SUPERVISOR_TASKS: u32 = 3;

/// CPU bandwidth of a run: one core's worth (quota = period), so that a run of many busy
/// processes cannot take the whole machine for its wall-clock limit.
const CPU_PERIOD_US: u32 = 100_000;

/// How long removal waits for the last processes of a killed run to be gone.
const REMOVE_PATIENCE: Duration = Duration::from_secs(3);

static RUN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where run cgroups are created: the host process's own cgroups, so that the runs are
/// nested in (and limited by) whatever limits Tandem itself is under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupRoot {
    kind: CgroupKind,
    /// v1: the memory hierarchy's directory; v2: the one directory.
    memory: PathBuf,
    /// v1: the pids hierarchy's directory; v2: same as `memory`.
    pids: PathBuf,
    /// Where to cap CPU bandwidth, if the cpu controller is available.
    cpu: Option<PathBuf>,
}

/// Peak memory and OOM kills of a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CgroupStats {
    pub peak_kb: u64,
    pub oom_kills: u64,
}

impl CgroupRoot {
    /// Finds the hierarchies from `/proc/self/mountinfo` and `/proc/self/cgroup`, and
    /// proves they are usable by creating and removing a cgroup with limits.
    pub(crate) fn detect() -> Result<Self, String> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let membership = fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        let v1 = Self::v1(&mountinfo, &membership).ok_or("no v1 memory and pids hierarchies");
        let v2 = Self::v2(&mountinfo, &membership).ok_or("no v2 hierarchy");
        for candidate in [v1, v2] {
            let root = match candidate {
                Ok(root) => root,
                Err(error) => {
                    errors.push(error.to_owned());
                    continue;
                }
            };
            // The CPU quota is a bonus: without it, try again with memory and pids only.
            let without_cpu = Self {
                cpu: None,
                ..root.clone()
            };
            for root in [root, without_cpu] {
                match root.create_run(&Limits::default()) {
                    Ok(run) => {
                        run.remove_blocking();
                        return Ok(root);
                    }
                    Err(error) => errors.push(format!(
                        "{:?} at {}: {error}",
                        root.kind,
                        root.memory.display()
                    )),
                }
            }
        }
        Err(errors.join("; "))
    }

    pub(crate) fn kind(&self) -> CgroupKind {
        self.kind
    }

    /// Whether runs get a CPU quota.
    pub(crate) fn caps_cpu(&self) -> bool {
        self.cpu.is_some()
    }

    fn v1(mountinfo: &str, membership: &str) -> Option<Self> {
        let dir = |controller: &str| -> Option<PathBuf> {
            let (mount_root, mount_point) = mountinfo.lines().find_map(|line| {
                let (fields, fs) = line.split_once(" - ")?;
                let mut fs = fs.split(' ');
                let options = (fs.next()? == "cgroup").then(|| fs.nth(1))??;
                options.split(',').any(|o| o == controller).then_some(())?;
                let fields: Vec<&str> = fields.split(' ').collect();
                Some((*fields.get(3)?, *fields.get(4)?))
            })?;
            let path = membership.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers
                    .split(',')
                    .any(|c| c == controller)
                    .then_some(path)
            })?;
            Some(join_cgroup(mount_point, mount_root, path))
        };
        Some(Self {
            kind: CgroupKind::V1,
            memory: dir("memory")?,
            pids: dir("pids")?,
            cpu: dir("cpu"),
        })
    }

    fn v2(mountinfo: &str, membership: &str) -> Option<Self> {
        let (mount_root, mount_point) = mountinfo.lines().find_map(|line| {
            let (fields, fs) = line.split_once(" - ")?;
            (fs.split(' ').next()? == "cgroup2").then_some(())?;
            let fields: Vec<&str> = fields.split(' ').collect();
            Some((*fields.get(3)?, *fields.get(4)?))
        })?;
        let path = membership
            .lines()
            .find_map(|line| line.strip_prefix("0::"))?;
        let dir = join_cgroup(mount_point, mount_root, path);
        let controllers = fs::read_to_string(dir.join("cgroup.controllers")).ok()?;
        let has = |name: &str| controllers.split_whitespace().any(|c| c == name);
        if !(has("memory") && has("pids")) {
            return None;
        }
        // Children only get the controllers their parent delegates. This fails if the
        // host process sits in this very cgroup (the "no internal processes" rule); then
        // Tandem must be started in a delegated cgroup of its own.
        let _ = fs::write(dir.join("cgroup.subtree_control"), "+memory +pids");
        let cpu = has("cpu") && fs::write(dir.join("cgroup.subtree_control"), "+cpu").is_ok();
        Some(Self {
            kind: CgroupKind::V2,
            memory: dir.clone(),
            pids: dir.clone(),
            cpu: cpu.then_some(dir),
        })
    }

    /// Creates a run's cgroup(s) with `limits` applied.
    pub(crate) fn create_run(&self, limits: &Limits) -> io::Result<RunCgroup> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tandem-sandbox-{}-{}-{nanos}",
            std::process::id(),
            RUN_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut run = RunCgroup {
            kind: self.kind,
            dirs: Vec::new(),
            removed: false,
        };
        // On any error `run` is dropped, which removes what was created.
        let memory = limits.memory_mb.saturating_mul(1024 * 1024).to_string();
        let tasks = (limits.processes.saturating_add(SUPERVISOR_TASKS)).to_string();
        match self.kind {
            CgroupKind::V1 => {
                let memory_dir = run.make(&self.memory.join(&name))?;
                fs::write(memory_dir.join("memory.limit_in_bytes"), &memory)?;
                // With swap accounting, cap memory+swap at the same value (no swap);
                // without it, at least keep this cgroup from swapping.
                let memsw = memory_dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    fs::write(memsw, &memory)?;
                } else {
                    let _ = fs::write(memory_dir.join("memory.swappiness"), "0");
                }
                let pids_dir = run.make(&self.pids.join(&name))?;
                fs::write(pids_dir.join("pids.max"), &tasks)?;
                if let Some(cpu) = &self.cpu {
                    let cpu_dir = run.make(&cpu.join(&name))?;
                    fs::write(cpu_dir.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
                    fs::write(cpu_dir.join("cpu.cfs_quota_us"), CPU_PERIOD_US.to_string())?;
                }
            }
            CgroupKind::V2 => {
                let dir = run.make(&self.memory.join(&name))?;
                fs::write(dir.join("memory.max"), &memory)?;
                let _ = fs::write(dir.join("memory.swap.max"), "0");
                fs::write(dir.join("pids.max"), &tasks)?;
                if self.cpu.is_some() {
                    fs::write(
                        dir.join("cpu.max"),
                        format!("{CPU_PERIOD_US} {CPU_PERIOD_US}"),
                    )?;
                }
            }
        }
        Ok(run)
    }
}

/// `mount_point` + (`path` relative to the mount's root).
fn join_cgroup(mount_point: &str, mount_root: &str, path: &str) -> PathBuf {
    let relative = Path::new(path)
        .strip_prefix(mount_root)
        .unwrap_or(Path::new(path));
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    Path::new(mount_point).join(relative)
}

/// The cgroup(s) of one run; removed on [`RunCgroup::remove`] or, failing that, on drop.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    kind: CgroupKind,
    /// v1: memory, pids, then cpu; v2: one. Memory comes first: `stats` reads it.
    dirs: Vec<PathBuf>,
    removed: bool,
}

impl RunCgroup {
    fn make(&mut self, dir: &Path) -> io::Result<PathBuf> {
        fs::create_dir(dir)?;
        self.dirs.push(dir.to_path_buf());
        Ok(dir.to_path_buf())
    }

    /// The `cgroup.procs` files the supervisor writes itself into.
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Peak memory and OOM kills so far.
    pub(crate) fn stats(&self) -> CgroupStats {
        let Some(dir) = self.dirs.first() else {
            return CgroupStats::default();
        };
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let (peak, events) = match self.kind {
            CgroupKind::V1 => ("memory.max_usage_in_bytes", "memory.oom_control"),
            CgroupKind::V2 => ("memory.peak", "memory.events"),
        };
        let peak_bytes: u64 = read(peak).trim().parse().unwrap_or(0);
        let oom_kills = read(events)
            .lines()
            .find_map(|line| line.strip_prefix("oom_kill ")?.trim().parse().ok())
            .unwrap_or(0);
        CgroupStats {
            peak_kb: peak_bytes / 1024,
            oom_kills,
        }
    }

    /// SIGKILLs every process still in the run's cgroup(s).
    pub(crate) fn kill_all(&self) {
        kill_members(&self.dirs);
    }

    /// Kills what is left and removes the cgroup(s), waiting for dying processes to go.
    pub(crate) async fn remove(mut self) {
        let dirs = std::mem::take(&mut self.dirs);
        self.removed = true;
        let _ = tokio::task::spawn_blocking(move || remove_dirs(&dirs)).await;
    }

    fn remove_blocking(mut self) {
        remove_dirs(&std::mem::take(&mut self.dirs));
        self.removed = true;
    }
}

impl Drop for RunCgroup {
    /// A run dropped mid-way (its future cancelled) still cleans up, on a thread of its
    /// own since processes may take a moment to die.
    fn drop(&mut self) {
        if self.removed || self.dirs.is_empty() {
            return;
        }
        let dirs = std::mem::take(&mut self.dirs);
        kill_members(&dirs);
        let _ = std::thread::Builder::new()
            .name("sandbox-cgroup-cleanup".into())
            .spawn(move || remove_dirs(&dirs));
    }
}

fn kill_members(dirs: &[PathBuf]) {
    for dir in dirs {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Removes the directories, killing members and retrying while they are busy.
fn remove_dirs(dirs: &[PathBuf]) {
    let start = std::time::Instant::now();
    for dir in dirs {
        loop {
            match fs::remove_dir(dir) {
                Ok(()) => break,
                Err(error) if error.kind() == io::ErrorKind::NotFound => break,
                Err(error) => {
                    if start.elapsed() > REMOVE_PATIENCE {
                        tracing::warn!(dir = %dir.display(), %error, "could not remove sandbox cgroup");
                        break;
                    }
                    kill_members(std::slice::from_ref(dir));
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_paths_come_from_mountinfo_and_membership() {
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:1 - cgroup cgroup rw,memory\n\
                         31 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
        let membership = "8:pids:/\n4:memory:/process_api/abc\n0::/\n";
        let root = CgroupRoot::v1(mountinfo, membership).unwrap();
        assert_eq!(
            root.memory,
            PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
        );
        assert_eq!(root.pids, PathBuf::from("/sys/fs/cgroup/pids"));
        assert_eq!(root.cpu, None);
        assert!(CgroupRoot::v1("", membership).is_none());
    }

    #[test]
    fn nested_mount_roots_are_stripped() {
        assert_eq!(
            join_cgroup("/sys/fs/cgroup", "/a", "/a/b"),
            PathBuf::from("/sys/fs/cgroup/b")
        );
    }
}
