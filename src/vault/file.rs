//! The vault as one redb file, shared by any number of keyway processes on one host through
//! redb's own multi-process mode (`ConcurrencyMode::MultiWriter`, redb >= 4.5): readers never
//! wait and are never refused, and one write transaction at a time takes the file's writer lock
//! (a byte-range lock the kernel drops when its process dies).
//!
//! A process opens the file read-only and reads from that handle; only its first write opens it
//! for writing, so a command that only reads never changes a byte of the file. What redb
//! guarantees after a crashed writer (docs/design.md of redb 4.6, "Crashes", and the
//! multi-writer rules): every write transaction commits in two phases with its allocator state
//! recorded ("quick repair"), so the latest committed state is always valid; the crashed
//! process's locks are released by the kernel; while any other writer has the file open it
//! stays consistent, and the next write transaction loads the committed allocator state and
//! carries on. Only when the crashed writer was the last one does the file need redb's
//! recovery, which writes: a read-only open is then refused (`RepairAborted`). keyway then
//! recovers a private copy first (open.rs): a reader reads from it and leaves the file alone,
//! and a writer lets redb recover the file itself (under its writer lock) only once the copy
//! recovered to a sound file.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant};

use redb::backends::FileBackend;
use redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, Durability, ReadOnlyDatabase,
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError,
    TableHandle, TransactionError, WriteTransaction,
};

use super::open;
use super::storage::{ReadTxn, Storage, StoredRecord, StoredResult, Table, WriteTxn};
use super::tables::*;
use super::{corrupt, storage_error, VaultError};
use crate::core::HISTORY_LIMIT;

/// The table holding `table`'s records in the current format.
fn definition(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    match table {
        Table::Workspaces => WORKSPACES,
        Table::Credentials => CREDENTIALS,
        Table::Flows => FLOWS,
    }
}

/// Every process opens the file in the same mode; redb refuses a mix.
pub(super) fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::MultiWriter);
    b
}

enum Handle {
    ReadOnly(ReadOnlyDatabase),
    /// The file needs redb's crash recovery and this process has only read: the recovery ran
    /// on a private copy (in memory, or an unlinked temporary file), which the reads use.
    Recovered(Database),
    ReadWrite(Arc<Database>),
}

pub struct FileStorage {
    path: PathBuf,
    /// (device, inode) of the file this storage opened: another at the path means the file
    /// was replaced. It moves on only when this process replaced the file itself (a re-key).
    identity: std::sync::Mutex<(u64, u64)>,
    lock_wait: Duration,
    handle: RwLock<Handle>,
}

impl std::fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn identity(file: &File, path: &Path) -> Result<(u64, u64), VaultError> {
    let meta = file.metadata().map_err(|source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((meta.dev(), meta.ino()))
}

impl FileStorage {
    /// Opens an existing vault file for reading. Nothing is written.
    pub fn open(path: &Path, lock_wait: Duration) -> Result<FileStorage, VaultError> {
        let file = open::open_vault_file(path, false)?;
        let identity = identity(&file, path)?;
        let handle = Self::open_for_reading(path, file)?;
        Ok(FileStorage {
            path: path.to_path_buf(),
            identity: std::sync::Mutex::new(identity),
            lock_wait,
            handle: RwLock::new(handle),
        })
    }

    /// A new, empty redb file at `path`, which must not exist (created mode 0600), open for
    /// writing.
    pub fn create(path: &Path, lock_wait: Duration) -> Result<FileStorage, VaultError> {
        let file = open::create_private_file(path)?;
        let identity = identity(&file, path)?;
        let backend = FileBackend::new(file).map_err(|e| open::map_db_error(path, e))?;
        let db = builder()
            .create_with_backend(backend)
            .map_err(|e| open::map_db_error(path, e))?;
        Ok(FileStorage {
            path: path.to_path_buf(),
            identity: std::sync::Mutex::new(identity),
            lock_wait,
            handle: RwLock::new(Handle::ReadWrite(Arc::new(db))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn identity(&self) -> (u64, u64) {
        *self.identity.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the vault as it is now into a fresh file beside it and renames that over it, so
    /// that nothing a write freed (a re-key's old ciphertexts and old wrapped key) is left in
    /// the file's bytes. The writer lock of the old file is held throughout: no other process
    /// commits to it meanwhile, and one that waited for it finds, under the lock, that the
    /// file was replaced (`write` checks), and reopens. The fresh file has no name until it is
    /// complete and durable (O_TMPFILE), then one for the instant before the rename.
    fn rewrite_fresh(&self) -> Result<(), VaultError> {
        let io = |source| VaultError::Io {
            path: self.path.clone(),
            source,
        };
        let deadline = Instant::now() + self.lock_wait;
        let db = match self.writer() {
            Some(db) => db,
            None => self.open_for_writing(deadline)?,
        };
        let held = self.begin_write(&db, deadline)?;
        if self.replaced()? {
            return Err(VaultError::Replaced(self.path.clone()));
        }
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        let fresh = open::unnamed_file_in(&dir).map_err(io)?;
        let kept = fresh.try_clone().map_err(io)?;
        {
            let backend = FileBackend::new(fresh).map_err(|e| open::map_db_error(&self.path, e))?;
            let new = builder()
                .create_with_backend(backend)
                .map_err(|e| open::map_db_error(&self.path, e))?;
            let mut txn = new
                .begin_write()
                .map_err(|e| storage_error(&self.path, e))?;
            txn.set_durability(Durability::Immediate)
                .map_err(|e| storage_error(&self.path, e))?;
            for table in [META, WORKSPACES, CREDENTIALS, FLOWS, SEQUENCES] {
                copy_table(&held, &txn, table).map_err(|e| storage_error(&self.path, e))?;
            }
            copy_table(&held, &txn, HISTORY).map_err(|e| storage_error(&self.path, e))?;
            txn.commit().map_err(|e| storage_error(&self.path, e))?;
            // Closed cleanly before it takes the vault's place.
            drop(new);
        }
        kept.sync_all().map_err(io)?;
        let new_identity = identity(&kept, &self.path)?;
        open::move_over(&kept, &dir, &self.path).map_err(io)?;
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = new_identity;
        // The old file is gone from the path; this process reads and writes the new one.
        drop(held);
        *self.handle_mut() =
            Self::open_for_reading(&self.path, open::open_vault_file(&self.path, false)?)?;
        Ok(())
    }

    fn open_for_reading(path: &Path, file: File) -> Result<Handle, VaultError> {
        let backend = FileBackend::new(file).map_err(|e| open::map_db_error(path, e))?;
        match builder().open_read_only_with_backend(backend) {
            Ok(db) => Ok(Handle::ReadOnly(db)),
            Err(DatabaseError::RepairAborted) => {
                // Also the signal tests wait for before they kill a reader mid-recovery.
                tracing::debug!("the vault needs crash recovery: recovering a private copy");
                let original = open::open_vault_file(path, false)?;
                open::recover_private_copy(path, &original).map(Handle::Recovered)
            }
            Err(e) => Err(open::map_db_error(path, e)),
        }
    }

    fn handle(&self) -> std::sync::RwLockReadGuard<'_, Handle> {
        // A panic while the lock was held (caught by the vault's guard) leaves the handle as it
        // was: it is replaced whole or not at all.
        self.handle.read().unwrap_or_else(|p| p.into_inner())
    }

    fn handle_mut(&self) -> std::sync::RwLockWriteGuard<'_, Handle> {
        self.handle.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The handle for writing, if this process has opened the file for writing already.
    fn writer(&self) -> Option<Arc<Database>> {
        match &*self.handle() {
            Handle::ReadWrite(db) => Some(db.clone()),
            _ => None,
        }
    }

    /// Opens the file for writing (this process has only read so far). If the file needs crash
    /// recovery, a private copy is recovered and checked first; only then does redb recover the
    /// file itself, under its writer lock. redb takes the writer lock for the open, so this
    /// waits for another process's write transaction like `begin_write` does.
    fn open_for_writing(&self, deadline: Instant) -> Result<Arc<Database>, VaultError> {
        // Readable a moment ago, but reading does not show every kind of damage, and a writer
        // may have died since: redb writes the file only once a copy took the same open and a
        // trial write and still checks out.
        open::prove_writable(&self.path)?;
        let file = open::open_vault_file(&self.path, true)?;
        if identity(&file, &self.path)? != self.identity() {
            return Err(VaultError::Replaced(self.path.clone()));
        }
        let path = self.path.clone();
        let db = within(deadline, self.lock_wait, &self.path, move || {
            let backend = FileBackend::new(file).map_err(|e| open::map_db_error(&path, e))?;
            builder()
                .create_with_backend(backend)
                .map_err(|e| open::map_db_error(&path, e))
        })?;
        let db = Arc::new(db);
        *self.handle_mut() = Handle::ReadWrite(db.clone());
        Ok(db)
    }

    /// After a failed commit redb refuses further use of the handle: start again from a fresh
    /// read-only one (the next write opens the file for writing again).
    fn reset(&self) {
        if let Ok(file) = open::open_vault_file(&self.path, false) {
            if let Ok(handle) = Self::open_for_reading(&self.path, file) {
                *self.handle_mut() = handle;
            }
        }
    }

    /// A read transaction on whichever handle this process holds. A private recovered copy is
    /// given up as soon as the file itself reads again (another process recovered it).
    fn begin_read(&self) -> Result<redb::ReadTransaction, VaultError> {
        if matches!(*self.handle(), Handle::Recovered(_)) {
            if let Ok(file) = open::open_vault_file(&self.path, false) {
                if let Ok(backend) = FileBackend::new(file) {
                    if let Ok(db) = builder().open_read_only_with_backend(backend) {
                        *self.handle_mut() = Handle::ReadOnly(db);
                    }
                }
            }
        }
        let txn = match &*self.handle() {
            Handle::ReadOnly(db) => db.begin_read(),
            Handle::Recovered(db) => db.begin_read(),
            Handle::ReadWrite(db) => db.begin_read(),
        };
        txn.map_err(|e| corrupt(&self.path, format!("it cannot be read ({e})")))
    }

    /// A read transaction with access to redb itself, for the tables of older formats.
    pub(super) fn read_older(&self) -> Result<FileRead, VaultError> {
        Ok(FileRead::new(self.begin_read()?, &self.path))
    }

    /// Begins a write transaction, waiting until `deadline` for another process's to end.
    fn begin_write(
        &self,
        db: &Arc<Database>,
        deadline: Instant,
    ) -> Result<WriteTransaction, VaultError> {
        let path = &self.path;
        let mut txn = match db.try_begin_write() {
            Ok(txn) => txn,
            Err(TransactionError::WouldBlock) => {
                let db = db.clone();
                let shown = path.clone();
                within(deadline, self.lock_wait, path, move || {
                    db.begin_write().map_err(|e| storage_error(&shown, e))
                })?
            }
            Err(e) => return Err(storage_error(path, e)),
        };
        txn.set_durability(Durability::Immediate)
            .map_err(|e| storage_error(path, e))?;
        Ok(txn)
    }
}

/// Runs `wait_for_lock`, which blocks in redb until another process releases the writer lock
/// (the kernel wakes it then, which polling would often miss), on a thread of its own, until
/// `deadline` (one write waits at most `lock_wait` in all, however many steps wait). Given up,
/// the thread lets go of what it gets as soon as it gets it: a transaction is dropped, writing
/// nothing.
fn within<T: Send + 'static>(
    deadline: Instant,
    lock_wait: Duration,
    path: &Path,
    wait_for_lock: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    let (tx, rx) = mpsc::sync_channel(1);
    let shown = path.to_path_buf();
    let waiter = std::thread::Builder::new()
        .name("keyway-write-lock".into())
        .spawn(move || {
            // redb asserts on some damage while opening to write: the guard must cover this
            // thread too, or the panic reaches the terminal.
            let outcome = super::guard::guarded_write(&shown, "opening to write", wait_for_lock);
            // If the receiver is gone, the value comes back with the error and is dropped.
            let _ = tx.send(outcome);
        })
        .map_err(|source| VaultError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(result) => {
            let _ = waiter.join();
            result
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(VaultError::Busy {
            path: path.to_path_buf(),
            waited_secs: lock_wait.as_secs(),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(corrupt(
            path,
            "its storage structures are inconsistent (waiting to write failed)".into(),
        )),
    }
}

impl Storage for FileStorage {
    fn read(&self) -> Result<Box<dyn ReadTxn + '_>, VaultError> {
        Ok(Box::new(FileRead::new(self.begin_read()?, &self.path)))
    }

    fn write(&self) -> Result<Box<dyn WriteTxn + '_>, VaultError> {
        // One bound for the whole wait: opening the file to write and beginning the
        // transaction may each wait for another process's write.
        let deadline = Instant::now() + self.lock_wait;
        let db = match self.writer() {
            Some(db) => db,
            None => self.open_for_writing(deadline)?,
        };
        let txn = self.begin_write(&db, deadline)?;
        // Checked again under the lock: the file may have been replaced while this waited
        // for it (a re-key writes a fresh file), and a commit now would go to the old one.
        if self.replaced()? {
            drop(txn);
            self.let_go();
            return Err(VaultError::Replaced(self.path.clone()));
        }
        let generation = {
            let meta = txn
                .open_table(META)
                .map_err(|e| storage_error(&self.path, e))?;
            let stored = meta
                .get(GENERATION_KEY)
                .map_err(|e| storage_error(&self.path, e))?;
            match stored.map(|v| v.value().to_vec()) {
                None => 0,
                Some(bytes) => bytes
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| {
                        corrupt(&self.path, "its generation counter is malformed".into())
                    })?,
            }
        };
        Ok(Box::new(FileWrite {
            storage: self,
            db,
            txn: Some(txn),
            read: std::cell::OnceCell::new(),
            generation,
        }))
    }

    fn rewrite_fresh(&self) -> Result<(), VaultError> {
        FileStorage::rewrite_fresh(self)
    }

    fn let_go(&self) {
        let mut handle = self.handle_mut();
        if let Handle::ReadWrite(db) = &*handle {
            // Closing writes redb's state of the old file (which pages are free, a clean
            // shutdown) into whatever is at the path now: the handle is never closed, and its
            // locks end with the process.
            std::mem::forget(db.clone());
        }
        if let Ok(file) = open::open_vault_file(&self.path, false) {
            if let Ok(fresh) = Self::open_for_reading(&self.path, file) {
                *handle = fresh;
                return;
            }
        }
        // Nothing readable there: an in-memory empty database stands in, and every read
        // fails as the vault at the path would.
        if let Ok(db) = Builder::new().create_with_backend(redb::backends::InMemoryBackend::new()) {
            *handle = Handle::Recovered(db);
        }
    }

    fn replaced(&self) -> Result<bool, VaultError> {
        match std::fs::metadata(&self.path) {
            Ok(meta) => Ok((meta.dev(), meta.ino()) != self.identity()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => Err(VaultError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Copies every entry of `table` as it is, bytes for bytes, from one transaction to another.
fn copy_table<K: redb::Key + 'static>(
    from: &WriteTransaction,
    to: &WriteTransaction,
    table: TableDefinition<K, &'static [u8]>,
) -> Result<(), redb::Error> {
    let source = from.open_table(table)?;
    let mut target = to.open_table(table)?;
    for entry in source.iter()? {
        let (k, v) = entry?;
        target.insert(k.value(), v.value())?;
    }
    Ok(())
}

type RecordTable = redb::ReadOnlyTable<&'static str, &'static [u8]>;
type Ring = redb::ReadOnlyTable<(u8, &'static str), &'static [u8]>;

/// A read transaction, with the tables it opened kept open for the next read.
pub(super) struct FileRead {
    txn: redb::ReadTransaction,
    path: PathBuf,
    ring: std::cell::OnceCell<Ring>,
}

impl FileRead {
    fn new(txn: redb::ReadTransaction, path: &Path) -> FileRead {
        FileRead {
            txn,
            path: path.to_path_buf(),
            ring: std::cell::OnceCell::new(),
        }
    }

    /// The redb transaction, for reading the tables of older formats (migrate.rs).
    pub(super) fn redb(&self) -> &redb::ReadTransaction {
        &self.txn
    }

    fn unreadable(&self, name: &str, e: impl std::fmt::Display) -> VaultError {
        corrupt(&self.path, format!("its table {name} cannot be read ({e})"))
    }

    /// A table every vault of the current format has: missing is damage.
    fn records(&self, table: Table) -> Result<RecordTable, VaultError> {
        let def = definition(table);
        self.txn.open_table(def).map_err(|e| match e {
            TableError::TableDoesNotExist(_) => {
                corrupt(&self.path, format!("its table {} is missing", def.name()))
            }
            e => self.unreadable(def.name(), e),
        })
    }

    fn ring(&self) -> Result<&Ring, VaultError> {
        if let Some(ring) = self.ring.get() {
            return Ok(ring);
        }
        let ring = self.txn.open_table(HISTORY).map_err(|e| match e {
            TableError::TableDoesNotExist(_) => corrupt(
                &self.path,
                format!("its table {} is missing", HISTORY.name()),
            ),
            e => self.unreadable(HISTORY.name(), e),
        })?;
        Ok(self.ring.get_or_init(|| ring))
    }

    /// A value of the META table; Err(Foreign) when the file has no such table (not a keyway
    /// vault, or a new file not written yet).
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let table = match self.txn.open_table(META) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) | Err(TableError::TableTypeMismatch { .. }) => {
                return Err(VaultError::Foreign(self.path.clone()))
            }
            Err(e) => return Err(self.unreadable(META.name(), e)),
        };
        let value = table
            .get(key)
            .map_err(|e| self.unreadable(META.name(), e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }
}

/// Splits a stored record into its revision and sealed bytes.
fn split_record<'a>(
    path: &Path,
    table: Table,
    id: &str,
    value: &'a [u8],
) -> Result<(u64, &'a [u8]), VaultError> {
    match value.split_first_chunk::<8>() {
        Some((revision, sealed)) => Ok((u64::from_be_bytes(*revision), sealed)),
        None => Err(corrupt(
            path,
            format!("record {id} in {} is truncated", table.name()),
        )),
    }
}

impl ReadTxn for FileRead {
    fn generation(&self) -> Result<u64, VaultError> {
        let stored = match self.meta(GENERATION_KEY) {
            // A file being created has no tables yet.
            Err(VaultError::Foreign(_)) => return Ok(0),
            other => other?,
        };
        match stored {
            None => Ok(0),
            Some(bytes) => bytes
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt(&self.path, "its generation counter is malformed".into())),
        }
    }

    fn key_slots(&self) -> Result<Vec<u8>, VaultError> {
        self.meta(HEADER_KEY)?
            .ok_or_else(|| corrupt(&self.path, "its header is missing".into()))
    }

    fn scan(
        &self,
        table: Table,
        each: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        let def = definition(table);
        let name = def.name();
        let records = self.records(table)?;
        for entry in records.iter().map_err(|e| self.unreadable(name, e))? {
            let (id, value) = entry.map_err(|e| self.unreadable(name, e))?;
            let id = id.value();
            let (revision, sealed) = split_record(&self.path, table, id, value.value())?;
            each(StoredRecord {
                id,
                revision,
                sealed,
            })?;
        }
        Ok(())
    }

    fn get(&self, table: Table, id: &str) -> Result<Option<(u64, Vec<u8>)>, VaultError> {
        let def = definition(table);
        let name = def.name();
        let records = self.records(table)?;
        let Some(value) = records.get(id).map_err(|e| self.unreadable(name, e))? else {
            return Ok(None);
        };
        let (revision, sealed) = split_record(&self.path, table, id, value.value())?;
        Ok(Some((revision, sealed.to_vec())))
    }

    fn result(&self, slot: u8, credential: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let value = self
            .ring()?
            .get((slot, credential))
            .map_err(|e| self.unreadable(HISTORY.name(), e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn result_count(&self) -> Result<u64, VaultError> {
        self.ring()?
            .len()
            .map_err(|e| self.unreadable(HISTORY.name(), e))
    }

    fn positions(&self) -> Result<Option<Vec<u8>>, VaultError> {
        let table = self.txn.open_table(SEQUENCES).map_err(|e| match e {
            TableError::TableDoesNotExist(_) => corrupt(
                &self.path,
                format!("its table {} is missing", SEQUENCES.name()),
            ),
            e => self.unreadable(SEQUENCES.name(), e),
        })?;
        let value = table
            .get(SEQUENCES_KEY)
            .map_err(|e| self.unreadable(SEQUENCES.name(), e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }
}

/// A write transaction. Reads are served by a read transaction begun under the same writer
/// lock, when the first read comes: they see the state the transaction started from (not its
/// own writes). `release_reads` lets go of it, so that what it pins of the previous commit can
/// be reused by this one.
struct FileWrite<'s> {
    storage: &'s FileStorage,
    db: Arc<Database>,
    /// Some until commit.
    txn: Option<WriteTransaction>,
    read: std::cell::OnceCell<FileRead>,
    generation: u64,
}

impl FileWrite<'_> {
    fn txn(&self) -> &WriteTransaction {
        // Invariant: Some until commit consumes self.
        self.txn
            .as_ref()
            .expect("write transaction present until commit")
    }

    fn read(&self) -> Result<&FileRead, VaultError> {
        if let Some(read) = self.read.get() {
            return Ok(read);
        }
        let path = &self.storage.path;
        let txn = self
            .db
            .begin_read()
            .map_err(|e| corrupt(path, format!("it cannot be read ({e})")))?;
        Ok(self.read.get_or_init(|| FileRead::new(txn, path)))
    }

    fn path(&self) -> &Path {
        &self.storage.path
    }

    fn stale(&self, table: Table, id: &str) -> VaultError {
        VaultError::Stale {
            path: self.path().to_path_buf(),
            table: table.name(),
            id: id.to_string(),
        }
    }

    /// The revision of a replaced or removed value, checked against `expected`.
    fn check_replaced(
        &self,
        table: Table,
        id: &str,
        old: Option<&[u8]>,
        expected: Option<u64>,
    ) -> Result<(), VaultError> {
        let found = match old {
            Some(value) => Some(split_record(self.path(), table, id, value)?.0),
            None => None,
        };
        if found == expected {
            Ok(())
        } else {
            Err(self.stale(table, id))
        }
    }
}

impl FileWrite<'_> {
    fn put_one(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
        value: &[u8],
    ) -> Result<(), VaultError> {
        let path = self.path();
        let mut t = self
            .txn()
            .open_table(table)
            .map_err(|e| storage_error(path, e))?;
        t.insert(key, value).map_err(|e| storage_error(path, e))?;
        Ok(())
    }
}

impl ReadTxn for FileWrite<'_> {
    fn generation(&self) -> Result<u64, VaultError> {
        Ok(self.generation)
    }
    fn key_slots(&self) -> Result<Vec<u8>, VaultError> {
        self.read()?.key_slots()
    }
    fn scan(
        &self,
        table: Table,
        each: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        self.read()?.scan(table, each)
    }
    fn get(&self, table: Table, id: &str) -> Result<Option<(u64, Vec<u8>)>, VaultError> {
        self.read()?.get(table, id)
    }
    fn result(&self, slot: u8, credential: &str) -> Result<Option<Vec<u8>>, VaultError> {
        self.read()?.result(slot, credential)
    }
    fn result_count(&self) -> Result<u64, VaultError> {
        self.read()?.result_count()
    }
    fn positions(&self) -> Result<Option<Vec<u8>>, VaultError> {
        self.read()?.positions()
    }
}

impl WriteTxn for FileWrite<'_> {
    fn put(
        &mut self,
        table: Table,
        id: &str,
        expected: Option<u64>,
        revision: u64,
        sealed: &[u8],
    ) -> Result<(), VaultError> {
        let mut value = Vec::with_capacity(8 + sealed.len());
        value.extend_from_slice(&revision.to_be_bytes());
        value.extend_from_slice(sealed);
        let path = self.path();
        let mut records = self
            .txn()
            .open_table(definition(table))
            .map_err(|e| storage_error(path, e))?;
        let old = records
            .insert(id, value.as_slice())
            .map_err(|e| storage_error(path, e))?;
        let old = old.map(|v| v.value().to_vec());
        drop(records);
        self.check_replaced(table, id, old.as_deref(), expected)
    }

    fn remove(&mut self, table: Table, id: &str, expected: u64) -> Result<(), VaultError> {
        let path = self.path();
        let mut records = self
            .txn()
            .open_table(definition(table))
            .map_err(|e| storage_error(path, e))?;
        let old = records.remove(id).map_err(|e| storage_error(path, e))?;
        let old = old.map(|v| v.value().to_vec());
        drop(records);
        self.check_replaced(table, id, old.as_deref(), Some(expected))
    }

    fn put_results(&mut self, entries: &[StoredResult]) -> Result<(), VaultError> {
        let path = self.path();
        let mut ring = self
            .txn()
            .open_table(HISTORY)
            .map_err(|e| storage_error(path, e))?;
        for e in entries {
            ring.insert((e.slot, e.credential.as_str()), e.bytes.as_slice())
                .map_err(|e| storage_error(path, e))?;
        }
        Ok(())
    }

    fn remove_results(&mut self, credential: &str) -> Result<(), VaultError> {
        let path = self.path();
        let mut ring = self
            .txn()
            .open_table(HISTORY)
            .map_err(|e| storage_error(path, e))?;
        for slot in 0..HISTORY_LIMIT as u8 {
            ring.remove((slot, credential))
                .map_err(|e| storage_error(path, e))?;
        }
        Ok(())
    }

    fn put_positions(&mut self, sealed: &[u8]) -> Result<(), VaultError> {
        self.put_one(SEQUENCES, SEQUENCES_KEY, sealed)
    }

    fn put_key_slots(&mut self, header: &[u8]) -> Result<(), VaultError> {
        self.put_one(META, HEADER_KEY, header)
    }

    fn retire_older_formats(&mut self) -> Result<(), VaultError> {
        let path = self.path();
        let txn = self.txn();
        for old in [WORKSPACES_V1, CREDENTIALS_V1, FLOWS_V1, FORMAT2_LATEST] {
            txn.delete_table(old).map_err(|e| storage_error(path, e))?;
        }
        // Every table of the current format exists from here on, even while empty.
        for table in Table::ALL {
            txn.open_table(definition(table))
                .map_err(|e| storage_error(path, e))?;
        }
        txn.open_table(HISTORY)
            .map_err(|e| storage_error(path, e))?;
        txn.open_table(SEQUENCES)
            .map_err(|e| storage_error(path, e))?;
        Ok(())
    }

    fn release_reads(&mut self) {
        self.read.take();
    }

    fn commit(mut self: Box<Self>) -> Result<(), VaultError> {
        let next = self.generation.wrapping_add(1);
        let path = self.storage.path.clone();
        self.put_one(META, GENERATION_KEY, &next.to_be_bytes())?;
        // The snapshot the reads pinned is no longer needed; dropping it first lets the commit
        // reuse its pages.
        drop(self.read.take());
        let txn = self
            .txn
            .take()
            .expect("write transaction present until commit");
        match txn.commit() {
            Ok(()) => Ok(()),
            Err(e) => {
                // redb refuses further use of a handle whose commit failed.
                self.storage.reset();
                Err(VaultError::Storage {
                    path,
                    detail: format!("{e}; the change was not saved"),
                })
            }
        }
    }
}
