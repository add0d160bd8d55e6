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

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, StorageError};

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
    if read < head.len() || head != REDB_MAGIC {
        return Err(VaultError::Foreign(path.to_path_buf()));
    }
    file.rewind().map_err(|e| open_error(path, e))?;
    Ok(file)
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

/// A crashed writer left the file needing redb's recovery, which writes. Recovers a private
/// copy instead and checks every page of it: the copy is what a reader reads, and what shows a
/// writer that recovering the file itself is safe. The copy lives in an unlinked temporary
/// file next to the vault (or in the temporary directory, on read-only media).
pub(super) fn recover_private_copy(path: &Path, original: &File) -> Result<Database, VaultError> {
    let io = |source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut copy = dir
        .and_then(|d| tempfile::tempfile_in(d).ok())
        .map_or_else(tempfile::tempfile, Ok)
        .map_err(io)?;
    let mut source = original;
    std::io::copy(&mut source, &mut copy).map_err(io)?;
    copy.rewind().map_err(io)?;
    let recovered = |e: DatabaseError| match map_db_error(path, e) {
        VaultError::Io { source, .. } => {
            corrupt(path, format!("it cannot be recovered ({source})"))
        }
        other => other,
    };
    let backend = FileBackend::new(copy).map_err(recovered)?;
    // Exclusive: nobody else knows this file.
    let mut db = Builder::new()
        .create_with_backend(backend)
        .map_err(recovered)?;
    match db.check_integrity() {
        Ok(_) => Ok(db),
        Err(e) => Err(corrupt(
            path,
            format!("it needs crash recovery, and a recovered copy fails its checks ({e})"),
        )),
    }
}
