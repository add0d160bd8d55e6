//! Opening the vault file without ever modifying a file that is not a healthy keyway vault.
//!
//! The path is opened without blocking (a FIFO would otherwise wait for a writer forever) and
//! the opened file itself is checked: it must be a regular file starting with redb's signature.
//! redb then gets that very file, so nothing swapped in at the path between the check and the
//! open is used. A file that needs crash recovery is recovered on a private copy: an unlinked
//! temporary file, which has no name and so cannot outlive the process, however it ends.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use redb::backends::{FileBackend, InMemoryBackend};
use redb::{Builder, Database, DatabaseError, StorageBackend, StorageError};

use super::{corrupt, VaultError};

/// redb's file signature.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A new file at `path` (mode 0600), never clobbering anything already there.
pub(super) fn create_private_file(path: &Path) -> Result<File, VaultError> {
    if let Some(problem) = occupied(path) {
        return Err(problem);
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => VaultError::AlreadyExists(path.to_path_buf()),
            _ => open_error(path, e),
        })
}

/// Why nothing can be created at `path`, if something is already there (or the path cannot
/// be resolved).
pub fn occupied(path: &Path) -> Option<VaultError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(open_error(path, e)),
        Ok(_) => match fs::metadata(path) {
            // A dangling symbolic link: creating would write wherever it points.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Some(VaultError::AlreadyExists(path.to_path_buf()))
            }
            Err(e) => Some(open_error(path, e)),
            Ok(meta) if !meta.file_type().is_file() => Some(VaultError::NotAFile {
                path: path.to_path_buf(),
                what: describe(meta.file_type()).into(),
            }),
            Ok(_) => Some(VaultError::AlreadyExists(path.to_path_buf())),
        },
    }
}

/// An error opening or inspecting the path, told apart by what it means for a vault.
fn open_error(path: &Path, e: std::io::Error) -> VaultError {
    let not_a_file = |what: &str| VaultError::NotAFile {
        path: path.to_path_buf(),
        what: what.to_string(),
    };
    match e.raw_os_error() {
        Some(libc::ENOENT) => VaultError::Missing(path.to_path_buf()),
        Some(libc::ELOOP) => not_a_file("a loop of symbolic links"),
        Some(libc::EISDIR) => not_a_file("a directory"),
        // Opening a FIFO for writing without a reader, or a device without its driver.
        Some(libc::ENXIO) | Some(libc::ENODEV) => not_a_file("a FIFO or a device"),
        Some(libc::ENOTDIR) => not_a_file("inside something that is not a directory"),
        _ => VaultError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Refuses a path that cannot be an existing vault (missing, a directory, a FIFO, a device, a
/// loop of symbolic links) without opening it: what a command checks before it asks for the
/// passphrase. The open checks again, on the file it opened.
pub fn check_path(path: &Path) -> Result<(), VaultError> {
    let meta = fs::metadata(path).map_err(|e| open_error(path, e))?;
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(VaultError::NotAFile {
            path: path.to_path_buf(),
            what: describe(meta.file_type()).into(),
        })
    }
}

fn describe(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens the vault file at `path` (following symbolic links) and checks that it is a regular,
/// non-empty file that starts with redb's signature. Never blocks, never writes.
pub(super) fn open_vault_file(path: &Path, write: bool) -> Result<File, VaultError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let meta = file.metadata().map_err(|e| open_error(path, e))?;
    if !meta.file_type().is_file() {
        return Err(VaultError::NotAFile {
            path: path.to_path_buf(),
            what: describe(meta.file_type()).into(),
        });
    }
    // A length of zero is an empty file, or one the kernel makes up (/proc/self/mem): nothing
    // keyway could have written.
    if meta.len() == 0 {
        return Err(VaultError::NotAFile {
            path: path.to_path_buf(),
            what: "an empty file".into(),
        });
    }
    let mut head = [0u8; REDB_MAGIC.len()];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(corrupt(path, format!("it cannot be read ({e})"))),
        }
    }
    if read == head.len() && head.iter().all(|&b| b == 0) && meta.len() >= 4096 {
        // A file of keyway's size whose first page was zeroed (a disk, a copy gone wrong):
        // redb's header is gone, which is damage, not some other program's file.
        return Err(corrupt(
            path,
            "its first page (redb's header) is blank; restore the last backup".into(),
        ));
    }
    if read < head.len() || head != REDB_MAGIC {
        return Err(VaultError::Foreign(path.to_path_buf()));
    }
    file.rewind().map_err(|e| open_error(path, e))?;
    Ok(file)
}

/// A new file in `dir` (mode 0600) that has no name (O_TMPFILE), so that however the process
/// ends it leaves nothing behind.
pub(super) fn unnamed_file_in(dir: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

/// Gives the unnamed `file` a name in `dir` and renames it over `target` (atomic), then makes
/// the rename durable.
pub(super) fn move_over(file: &File, dir: &Path, target: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.fresh-{}",
        hex::encode(super::crypto::random_bytes::<6>())
    ));
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = CString::new(temp.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths; linkat with AT_SYMLINK_FOLLOW on /proc/self/fd/N is
    // open(2)'s documented way to give an O_TMPFILE file a name.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if let Err(e) = fs::rename(&temp, target) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

/// Warnings when the vault or its directory can be read by the group or others.
pub(super) fn permission_warnings(path: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut check = |p: &Path, what: &str, wanted: &str| {
        if let Ok(meta) = fs::metadata(p) {
            if meta.permissions().mode() & 0o077 != 0 {
                warnings.push(format!(
                    "warning: the vault {what} {} is accessible to other users (mode {:o}); run chmod {wanted} on it",
                    p.display(),
                    meta.permissions().mode() & 0o777
                ));
            }
        }
    };
    check(path, "file", "600");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        check(dir, "directory", "700");
    }
    warnings
}

pub(super) fn map_db_error(path: &Path, e: DatabaseError) -> VaultError {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            VaultError::InUse(path.to_path_buf())
        }
        DatabaseError::UpgradeRequired(v) => {
            corrupt(path, format!("its storage format {v} is not supported"))
        }
        DatabaseError::RepairAborted => {
            corrupt(path, "it needs a repair that could not be made".into())
        }
        DatabaseError::Storage(StorageError::Io(source))
            if source.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            corrupt(path, "the file is truncated".into())
        }
        DatabaseError::Storage(StorageError::Io(source)) => VaultError::Io {
            path: path.to_path_buf(),
            source,
        },
        DatabaseError::Storage(s) => corrupt(path, format!("the storage layer reports: {s}")),
        other => corrupt(path, other.to_string()),
    }
}

/// The largest vault copied into memory for a check: beyond it the copy goes to a temporary
/// file (a vault of 10,000 credentials is a few MiB).
const IN_MEMORY_COPY_LIMIT: u64 = 64 << 20;

/// A private copy of the vault file for redb to recover or to write to as a trial: in memory
/// when it is small, else an unlinked temporary file beside the vault, else in the temporary
/// directory, else in memory after all (a full disk must not stop a read). Every kind has no
/// name, so it cannot outlive the process however it ends.
fn private_copy(path: &Path, original: &File) -> Result<PrivateCopy, VaultError> {
    let unreadable = |e: std::io::Error| corrupt(path, format!("it cannot be read ({e})"));
    let len = original.metadata().map_err(unreadable)?.len();
    if len > IN_MEMORY_COPY_LIMIT {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let candidates = dir
            .map(tempfile::tempfile_in)
            .into_iter()
            .chain(std::iter::once_with(tempfile::tempfile));
        for candidate in candidates {
            // A copy that could not be written whole (no space left) is dropped, and with it
            // the space it took.
            let Ok(mut copy) = candidate else { continue };
            let mut source = original;
            let copied = source
                .rewind()
                .and_then(|()| std::io::copy(&mut source, &mut copy))
                .and_then(|_| copy.rewind());
            if copied.is_ok() {
                if let Ok(backend) = FileBackend::new(copy) {
                    return Ok(PrivateCopy(Box::new(backend)));
                }
            }
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut source = original;
    source
        .rewind()
        .and_then(|()| source.read_to_end(&mut bytes))
        .map_err(unreadable)?;
    let memory = InMemoryBackend::new();
    memory
        .set_len(bytes.len() as u64)
        .and_then(|()| memory.write(0, &bytes))
        .map_err(|e| corrupt(path, format!("it cannot be copied for a check ({e})")))?;
    Ok(PrivateCopy(Box::new(memory)))
}

/// A private copy, on disk or in memory (see `private_copy`). Nobody else knows it, so it
/// needs none of the byte-range locks redb's multi-process mode uses.
#[derive(Debug)]
struct PrivateCopy(Box<dyn StorageBackend>);

impl StorageBackend for PrivateCopy {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.0.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.0.close()
    }
}

/// A crashed writer left the file needing redb's recovery, which writes. Recovers a private
/// copy instead and checks every page of it: the copy is what a reader reads, and what shows a
/// writer that recovering the file itself is safe.
pub(super) fn recover_private_copy(path: &Path, original: &File) -> Result<Database, VaultError> {
    let backend = private_copy(path, original)?;
    // Exclusive: nobody else knows this copy.
    let mut db = Builder::new()
        .create_with_backend(backend)
        .map_err(|e| unrecoverable(path, e))?;
    match db.check_integrity() {
        Ok(_) => Ok(db),
        Err(e) => Err(corrupt(
            path,
            format!("it needs crash recovery, and a recovered copy fails its checks ({e})"),
        )),
    }
}

fn unrecoverable(path: &Path, e: DatabaseError) -> VaultError {
    match map_db_error(path, e) {
        VaultError::Io { source, .. } => {
            corrupt(path, format!("it cannot be recovered ({source})"))
        }
        other => other,
    }
}

/// A table only the trial write on a private copy creates (and deletes again).
const TRIAL: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("keyway-trial-write");

/// Proves, before this process's first write, that redb can write the file without harming
/// it. A slightly damaged file can read fine and still carry a damaged allocator state (which
/// pages are free): the first write would trust it and overwrite live pages, destroying a vault
/// that read fine a moment ago. So a private copy is opened for writing the way the file would
/// be (recovered, if a writer crashed), checked page by page and its allocator state against
/// its tree, given a trial write, and checked again. Any failure, a panic in redb included, is
/// damage, reported with the file itself untouched.
pub(super) fn prove_writable(path: &Path) -> Result<(), VaultError> {
    // The copy is read while other processes may commit: one taken during a commit can be
    // torn. A failure counts only if the file did not change meanwhile.
    let mut attempts = 0;
    loop {
        let before = fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        let outcome = check_a_trial_write(path);
        let after = fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        attempts += 1;
        match outcome {
            Err(VaultError::Corrupt { .. }) if before != after && attempts < 3 => continue,
            outcome => return outcome,
        }
    }
}

fn check_a_trial_write(path: &Path) -> Result<(), VaultError> {
    super::guard::guarded(path, "checking a copy before writing", || {
        let original = open_vault_file(path, false)?;
        let backend = private_copy(path, &original)?;
        drop(original);
        let failed = |e: &dyn std::fmt::Display| {
            corrupt(
                path,
                format!("a trial write to a private copy failed ({e})"),
            )
        };
        let mut db = Builder::new()
            .create_with_backend(backend)
            .map_err(|e| unrecoverable(path, e))?;
        let check = |db: &mut Database, when: &str| {
            match db.check_integrity() {
            Ok(true) => Ok(()),
            Ok(false) => Err(corrupt(
                path,
                format!("its storage structures are inconsistent (a private copy {when} needed repair)"),
            )),
            Err(e) => Err(corrupt(
                path,
                format!("its storage structures are inconsistent (a private copy {when} fails its checks: {e})"),
            )),
        }
        };
        check(&mut db, "opened for writing")?;
        let txn = db.begin_write().map_err(|e| failed(&e))?;
        txn.open_table(TRIAL).map_err(|e| failed(&e))?;
        txn.delete_table(TRIAL).map_err(|e| failed(&e))?;
        txn.commit().map_err(|e| failed(&e))?;
        check(&mut db, "after a trial write")
    })
}
