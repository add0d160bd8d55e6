//! Opening a vault without ever modifying a file that is not a healthy keyway vault.
//!
//! redb writes to a file when it opens it read-write (and repairs it after a crash), so the
//! file is first checked through redb's read-only mode: magic bytes, our header and its checksum,
//! the format version, the KDF bounds and the passphrase. Only then is it opened read-write. A
//! vault that needs crash recovery is recovered on a private copy first; the original is opened
//! (and so repaired) only when the copy proved to be a sound keyway vault.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use redb::{Builder, Database, DatabaseError, ReadableDatabase, StorageError, TableError};

use super::crypto::DataKey;
use super::header::{Header, HeaderProblem};
use super::tables::{HEADER_KEY, META};
use super::{corrupt, load_snapshot, unwrap_key, Loaded, VaultError};

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

pub(super) fn create_private_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
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

/// Reads the first bytes: a missing, empty, short or non-redb file is refused here, untouched.
fn check_signature(path: &Path) -> Result<(), VaultError> {
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::Missing(path.to_path_buf()))
        }
        Err(source) => {
            return Err(VaultError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut head = [0u8; REDB_MAGIC.len()];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(VaultError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    if read == 0 {
        return Err(corrupt(path, "the file is empty".into()));
    }
    if read < head.len() || head != REDB_MAGIC {
        return Err(VaultError::Foreign(path.to_path_buf()));
    }
    Ok(())
}

/// Reads and checks our header from any readable redb handle.
fn read_header(path: &Path, db: &impl ReadableDatabase) -> Result<Header, VaultError> {
    let txn = db
        .begin_read()
        .map_err(|e| corrupt(path, format!("it cannot be read ({e})")))?;
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(VaultError::Foreign(path.to_path_buf()))
        }
        Err(TableError::TableTypeMismatch { .. }) => {
            return Err(VaultError::Foreign(path.to_path_buf()))
        }
        Err(e) => {
            return Err(corrupt(
                path,
                format!("its header table cannot be read ({e})"),
            ))
        }
    };
    let bytes = table
        .get(HEADER_KEY)
        .map_err(|e| corrupt(path, format!("its header cannot be read ({e})")))?
        .ok_or_else(|| corrupt(path, "its header is missing".into()))?
        .value()
        .to_vec();
    Header::decode(&bytes).map_err(|problem| match problem {
        HeaderProblem::Damaged(detail) => corrupt(path, detail),
        HeaderProblem::Newer(found) => VaultError::NewerFormat {
            path: path.to_path_buf(),
            found,
        },
        HeaderProblem::Unacceptable(detail) => VaultError::Unacceptable {
            path: path.to_path_buf(),
            detail,
        },
    })
}

/// Header checks passed: derive and unwrap the data key.
fn unlock(path: &Path, header: &Header, passphrase: &[u8]) -> Result<DataKey, VaultError> {
    match unwrap_key(header, passphrase) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(VaultError::WrongPassphrase(path.to_path_buf())),
        Err(detail) => Err(VaultError::Corrupt {
            path: path.to_path_buf(),
            detail,
        }),
    }
}

/// The whole check-then-open sequence; see the module comment.
pub(super) fn open_checked(
    path: &Path,
    passphrase: &[u8],
) -> Result<(Database, Header, DataKey, Loaded), VaultError> {
    check_signature(path)?;
    let (header, key, snapshot) = match Builder::new().open_read_only(path) {
        Ok(ro) => {
            let header = read_header(path, &ro)?;
            let key = unlock(path, &header, passphrase)?;
            let snapshot = load_snapshot(&ro, path, &header, &key)?;
            drop(ro);
            (header, key, snapshot)
        }
        Err(DatabaseError::RepairAborted) => check_on_recovered_copy(path, passphrase)?,
        Err(e) => return Err(map_db_error(path, e)),
    };
    let db = Database::open(path).map_err(|e| map_db_error(path, e))?;
    // The file could have been swapped between the checks and this open: confirm it is the
    // vault that was checked.
    let reread = read_header(path, &db)?;
    if reread.vault_id != header.vault_id || reread.wrapped_key != header.wrapped_key {
        return Err(corrupt(
            path,
            "the file changed while it was being opened".into(),
        ));
    }
    Ok((db, header, key, snapshot))
}

/// A copy next to the vault, removed on drop.
struct PrivateCopy(PathBuf);

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The vault was not closed cleanly (a crash, kill -9): redb must repair it, which writes. Do the
/// repair on a private copy first and check the result; only a sound vault gets repaired in place.
fn check_on_recovered_copy(
    path: &Path,
    passphrase: &[u8],
) -> Result<(Header, DataKey, Loaded), VaultError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".into());
    let copy_path = path.with_file_name(format!(
        ".{name}.recover-{}",
        hex::encode(super::crypto::random_bytes::<6>())
    ));
    let io = |source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    };
    create_private_file(&copy_path).map_err(io)?;
    let copy = PrivateCopy(copy_path);
    let mut src = fs::File::open(path).map_err(io)?;
    let mut dst = OpenOptions::new().write(true).open(&copy.0).map_err(io)?;
    std::io::copy(&mut src, &mut dst).map_err(io)?;
    drop(dst);
    let db = Database::open(&copy.0).map_err(|e| match map_db_error(path, e) {
        VaultError::InUse(p) => VaultError::InUse(p),
        VaultError::Io { source, .. } => VaultError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("it cannot be recovered ({source})"),
        },
        other => other,
    })?;
    let header = read_header(path, &db)?;
    let key = unlock(path, &header, passphrase)?;
    let snapshot = load_snapshot(&db, path, &header, &key)?;
    drop(db);
    Ok((header, key, snapshot))
}
