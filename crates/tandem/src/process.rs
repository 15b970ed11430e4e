//! What the process sets up about itself before it serves: files it creates are private
//! to its user (umask 077, the data folder 0700), and as many open files as the system
//! lets it have (each connection is one).

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::stat::{Mode, umask};

/// The files of the embedded database and the generated key, checked at start.
const DATA_FILES: [&str; 4] = ["tandem.db", "tandem.db-wal", "tandem.db-shm", "signing.key"];

/// Makes every file and folder the process creates from now on private to its user:
/// the database (and its `-wal` and `-shm`) holds password and token hashes, documents
/// and chat.
pub fn private_files() {
    umask(Mode::from_bits_truncate(0o077));
}

/// Creates the data folder with mode 0700 if it is missing; warns if an existing one, or
/// a file in it, is open to other users (the operator chose that; it is not changed).
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
        return Ok(());
    }
    let loose = |path: &Path| {
        fs::metadata(path)
            .ok()
            .map(|meta| meta.permissions().mode() & 0o777)
            .filter(|mode| mode & 0o077 != 0)
    };
    if let Some(mode) = loose(dir) {
        tracing::warn!(path = %dir.display(), mode = format!("{mode:o}"), "the data folder is open to other users; chmod 700 it");
    }
    for name in DATA_FILES {
        let path = dir.join(name);
        if let Some(mode) = loose(&path) {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "a data file is readable by other users; chmod 600 it");
        }
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit, and logs both. Returns the
/// soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "could not read the open files limit");
            return u64::MAX;
        }
    };
    if soft >= hard {
        tracing::info!(soft, hard, "open files limit");
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            tracing::info!(
                soft = hard,
                hard,
                was = soft,
                "open files limit raised to the hard limit"
            );
            hard
        }
        Err(error) => {
            tracing::warn!(%error, soft, hard, "could not raise the open files limit");
            soft
        }
    }
}

/// Descriptors kept for everything but client connections: the database pool, Redis,
/// the sandbox's pipes, log files.
const RESERVED_FILES: u64 = 512;

/// The connection cap in force: `max_connections`, or with 0 (the default) as many as
/// `open_files` descriptors allow; a cap above that is lowered, with a warning, so that
/// the cap refuses connections cleanly before `accept` starts failing.
pub fn connections_within(max_connections: usize, open_files: u64) -> usize {
    let room = usize::try_from(open_files.saturating_sub(RESERVED_FILES))
        .unwrap_or(usize::MAX)
        .max(1);
    if max_connections == 0 {
        return room;
    }
    if max_connections <= room {
        return max_connections;
    }
    tracing::warn!(
        max_connections,
        open_files,
        lowered = room,
        "max_connections is more than the open files limit allows; lowered"
    );
    room
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_other_files() {
        assert_eq!(connections_within(10_000, 20_000), 10_000);
        assert_eq!(connections_within(10_000, 1_024), 512);
        assert_eq!(connections_within(10_000, 100), 1);
        assert_eq!(connections_within(0, 20_000), 19_488);
    }

    #[test]
    fn a_new_data_folder_is_private() {
        let dir = std::env::temp_dir()
            .join(format!("tandem-process-{}", std::process::id()))
            .join("nested");
        prepare_data_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        prepare_data_dir(&dir).unwrap();
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
