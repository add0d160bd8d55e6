//! The lock a password rotation holds from its first write to its last: a file (beside a file
//! vault, `<vault>.rotating`, mode 0600; rotate.rs picks it) locked with the OS's `flock`,
//! which the kernel releases when the process ends however it ends (a kill -9 included). While it is held, a
//! pending rotation may be in flight (its new password about to reach the server), so nobody
//! else may resolve it; once it is free, a pending rotation is an interrupted one.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Held while a rotation runs (or while an interrupted one is resolved); dropped, released.
#[derive(Debug)]
pub struct RotationLock {
    _file: File,
}

/// Where the lock of the file vault at `vault` lives.
pub fn lock_path(vault: &Path) -> PathBuf {
    let mut name = vault.as_os_str().to_owned();
    name.push(".rotating");
    PathBuf::from(name)
}

impl RotationLock {
    /// Takes the lock held on the file `lock_file` (created if missing) if no other process
    /// holds it: None when one does.
    pub fn try_take(lock_file: &Path) -> std::io::Result<Option<RotationLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(lock_file)?;
        // SAFETY: flock on a file descriptor this function owns for the call's duration.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if taken == 0 {
            return Ok(Some(RotationLock { _file: file }));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(e)
        }
    }
}
