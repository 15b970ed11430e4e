//! The sandbox's filesystem, built by PID 1 in its private mount namespace: a fresh root on
//! a small tmpfs holding read-only bind mounts of the system paths, a few device nodes, a
//! fresh `/proc` of the new PID namespace, and one size-capped tmpfs shared by `/work` and
//! `/tmp`; then `pivot_root` into it and detach the host's tree entirely.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::statvfs::{FsFlags, statvfs};
use nix::unistd::{chdir, pivot_root};

use crate::protocol::{Failure, Stage};

/// Where the new root is assembled: any host directory will do, since the tmpfs mounted
/// on it exists only in the sandbox's mount namespace.
const NEW_ROOT: &str = "/tmp";

/// The user and group the program is inside the sandbox.
pub(crate) const INSIDE_ID: u32 = 1000;

/// Device nodes bound from the host.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// Files written into the new root's `/etc` (unless a system path provides them).
const ETC_FILES: &[(&str, &str)] = &[
    (
        "passwd",
        "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n\
         sandbox:x:1000:1000:sandbox:/work:/bin/bash\n\
         nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    ("group", "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n"),
    ("hosts", "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost\n"),
    ("hostname", "sandbox\n"),
];

/// Builds the new root and pivots into it. On return the current directory is `/`, the
/// host's tree is unreachable and everything but `/work` and `/tmp` is read-only, except
/// the root tmpfs itself, which [`seal_root`] makes read-only once the code is staged.
pub(crate) fn enter_new_root(system_paths: &[PathBuf], work_dir_mb: u64) -> Result<(), Failure> {
    // Nothing done here may propagate back to the host's mounts.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .stage("make mounts private")?;
    let root = Path::new(NEW_ROOT);
    mount(
        Some("tmpfs"),
        root,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=1m,nr_inodes=1024,mode=0755"),
    )
    .stage("mount root tmpfs")?;

    for path in system_paths {
        place_system_path(root, path).stage("bind system path")?;
    }
    write_etc(root).stage("write /etc")?;
    make_dev(root).stage("populate /dev")?;

    // /proc must be mounted while the host's proc is still visible: the kernel refuses a
    // new proc in a user namespace unless an unobscured one is already mounted.
    let proc_dir = root.join("proc");
    fs::create_dir(&proc_dir).stage("create /proc")?;
    mount(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .stage("mount /proc")?;

    make_scratch(root, work_dir_mb).stage("mount /work")?;

    // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
    // path back to the host's files.
    chdir(root).stage("pivot_root")?;
    pivot_root(".", ".").stage("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).stage("detach host root")?;
    chdir("/").stage("pivot_root")?;
    Ok(())
}

/// Makes the root tmpfs read-only; `/work` and `/tmp` are separate mounts and stay
/// writable.
pub(crate) fn seal_root() -> Result<(), Failure> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .stage("seal root")
}

/// Recreates one host path inside: symlinks as symlinks (never followed, so a link cannot
/// drag an unlisted directory in), directories and files as read-only bind mounts.
fn place_system_path(root: &Path, path: &Path) -> io::Result<()> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let Ok(relative) = path.strip_prefix("/") else {
        return Ok(());
    };
    let target = root.join(relative);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    if metadata.file_type().is_symlink() {
        symlink(fs::read_link(path)?, &target)
    } else if metadata.is_dir() {
        fs::create_dir(&target)?;
        bind_read_only(path, &target, false)
    } else {
        File::create(&target)?;
        bind_read_only(path, &target, false)
    }
    .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

/// Bind-mounts `source` on `target` and remounts it read-only, keeping the flags the
/// kernel locks in a user namespace (a remount that drops them fails with `EPERM`).
fn bind_read_only(source: &Path, target: &Path, device: bool) -> io::Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )?;
    let inherited = statvfs(target)?.flags();
    let mut flags =
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID;
    // Device nodes must keep working, so they get noexec instead of nodev.
    flags |= if device {
        MsFlags::MS_NOEXEC
    } else {
        MsFlags::MS_NODEV
    };
    for (st, ms) in [
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if inherited.contains(st) {
            flags |= ms;
        }
    }
    if !inherited.intersects(FsFlags::ST_NOATIME | FsFlags::ST_RELATIME) {
        // Without an atime flag the kernel would default to relatime, changing a locked
        // flag.
        flags |= MsFlags::MS_STRICTATIME;
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)?;
    Ok(())
}

fn write_etc(root: &Path) -> io::Result<()> {
    let etc = root.join("etc");
    fs::create_dir_all(&etc)?;
    for (name, contents) in ETC_FILES {
        let path = etc.join(name);
        if !path.exists() {
            fs::write(path, contents)?;
        }
    }
    Ok(())
}

fn make_dev(root: &Path) -> io::Result<()> {
    let dev = root.join("dev");
    fs::create_dir(&dev)?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if !host.exists() {
            continue;
        }
        let target = dev.join(name);
        File::create(&target)?;
        bind_read_only(&host, &target, true)?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        // POSIX shared memory (Python's multiprocessing) lives in /dev/shm.
        ("shm", "/tmp"),
    ] {
        symlink(target, dev.join(name))?;
    }
    Ok(())
}

/// One tmpfs, owned by the inside user, serves `/work` and `/tmp` so that they share the
/// size limit. It is mounted on a staging directory, its two subdirectories are bound into
/// place, and the staging mount is then detached.
fn make_scratch(root: &Path, work_dir_mb: u64) -> io::Result<()> {
    let staging = root.join(".scratch");
    fs::create_dir(&staging)?;
    // Inodes cost kernel memory that the size limit does not count.
    let inodes = work_dir_mb.saturating_mul(256).max(1024);
    let options =
        format!("size={work_dir_mb}m,nr_inodes={inodes},mode=0755,uid={INSIDE_ID},gid={INSIDE_ID}");
    mount(
        Some("tmpfs"),
        &staging,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options.as_str()),
    )?;
    for (name, mode) in [("work", 0o755), ("tmp", 0o1777)] {
        let source = staging.join(name);
        fs::DirBuilder::new().mode(mode).create(&source)?;
        // mkdir's mode is filtered by the umask; the sticky bit needs setting anyway.
        fs::set_permissions(&source, fs::Permissions::from_mode(mode))?;
        let target = root.join(name);
        fs::create_dir(&target)?;
        mount(
            Some(&source),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
    }
    umount2(&staging, MntFlags::MNT_DETACH)?;
    fs::remove_dir(&staging)
}
