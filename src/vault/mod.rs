//! The vault: one redb file holding every workspace, credential and flow, each record encrypted
//! under a random data key that is stored only wrapped by a passphrase-derived key. The only
//! module that touches redb and crypto; it hands the core plain domain values.

mod batch;
pub mod crypto;
mod error;
pub mod guard;
pub mod header;
pub mod kdf;
mod migrate;
mod open;
mod results;
mod sequences;
pub mod tables;

// foldhash: these maps are keyed by random record ids from the vault itself, hashed once or
// more per result an audit records; SipHash was a tenth of the cost of recording one.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};
use zeroize::Zeroizing;

pub use batch::ResultBatch;
pub use error::VaultError;

use crate::core::Snapshot;
use crate::core::{Credential, Flow, RecordId, Verification, Workspace};
use crypto::DataKey;
use header::{Header, KdfSection};
use kdf::KdfParams;
use sequences::Positions;
use tables::*;

/// An open, unlocked vault. Holding it holds redb's file lock: a second process gets "in use".
pub struct Vault {
    /// Always Some until Drop, which takes it to close it under the panic guard.
    db: Option<Database>,
    path: PathBuf,
    header: Header,
    key: DataKey,
    /// Where each credential's verification results stand (see results.rs, sequences.rs).
    positions: Positions,
    /// Notes for the user (loose permissions); the CLI prints them to stderr.
    pub warnings: Vec<String>,
}

/// Everything decrypted at open.
pub(crate) struct Loaded {
    pub snapshot: Snapshot,
    pub positions: Positions,
    /// What an older format needs moved once the file is open for writing.
    pub migration: migrate::Migration,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("vault_id", &self.header.vault_id)
            .finish_non_exhaustive()
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        // Closing flushes redb's allocator state, which can hit damage that reading did not.
        if let Some(db) = self.db.take() {
            let _ = guard::guarded(&self.path, "closing", || {
                drop(db);
                Ok(())
            });
        }
    }
}

fn storage(path: &Path, e: impl std::fmt::Display) -> VaultError {
    VaultError::Storage {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Damage found while reading: `detail` says where.
fn corrupt(path: &Path, detail: String) -> VaultError {
    VaultError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

/// A table that redb cannot read.
fn unreadable(path: &Path, table: &str, e: &dyn std::fmt::Display) -> VaultError {
    corrupt(path, format!("table {table} cannot be read ({e})"))
}

/// A header for a new data key under `passphrase`: fresh salt, the data key wrapped.
fn wrap_header(
    vault_id: String,
    created_at: i64,
    passphrase: &[u8],
    raw_key: &[u8; 32],
    params: KdfParams,
) -> Result<Header, String> {
    let salt: [u8; 16] = crypto::random_bytes();
    let mut header = Header {
        format: header::FORMAT,
        vault_id,
        kdf: KdfSection {
            algorithm: "argon2id".into(),
            version: 0x13,
            params,
            salt: hex::encode(salt),
        },
        wrapped_key: String::new(),
        created_at,
    };
    let kek = kdf::derive(passphrase, &salt, &params).map_err(|e| e.to_string())?;
    let sealed = crypto::seal_with(&crypto::kek_cipher(&kek), raw_key, &header.key_aad());
    header.wrapped_key = hex::encode(sealed);
    Ok(header)
}

/// Derives the key-encryption key and unwraps the data key; `None` means a wrong passphrase.
fn unwrap_key(header: &Header, passphrase: &[u8]) -> Result<Option<DataKey>, String> {
    let salt = header.salt().ok_or("the header salt is malformed")?;
    let wrapped = hex::decode(&header.wrapped_key).map_err(|_| "the wrapped key is malformed")?;
    let kek = kdf::derive(passphrase, &salt, &header.kdf.params).map_err(|e| e.to_string())?;
    match crypto::open_with(&crypto::kek_cipher(&kek), &wrapped, &header.key_aad()) {
        Ok(raw) => {
            let raw: Zeroizing<[u8; 32]> = match raw.as_slice().try_into() {
                Ok(bytes) => Zeroizing::new(bytes),
                Err(_) => return Err("the wrapped key has the wrong length".into()),
            };
            Ok(Some(DataKey::from_raw(&raw)))
        }
        Err(_) => Ok(None),
    }
}

impl Vault {
    /// Creates a new vault at `path` (mode 0600, parent directory created with mode 0700).
    pub fn create(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: i64,
    ) -> Result<Vault, VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_path_buf(),
            source,
        };
        params
            .check_bounds()
            .map_err(|detail| VaultError::Unacceptable {
                path: path.to_path_buf(),
                detail: format!("the key derivation settings are unacceptable: {detail}"),
            })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            open::create_private_dir(dir).map_err(io)?;
        }
        // create_new: never clobber an existing file, whatever it is.
        open::create_private_file(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                VaultError::AlreadyExists(path.to_path_buf())
            } else {
                io(e)
            }
        })?;
        let result = Self::initialize(path, passphrase, params, now);
        if result.is_err() {
            // The file is ours and holds nothing yet: leave no half-made vault behind.
            let _ = std::fs::remove_file(path);
        }
        result
    }

    fn initialize(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: i64,
    ) -> Result<Vault, VaultError> {
        let db = Database::create(path).map_err(|e| open::map_db_error(path, e))?;
        let (key, raw) = DataKey::generate();
        let vault_id = hex::encode(crypto::random_bytes::<16>());
        let header = wrap_header(vault_id, now, passphrase, &raw, params).map_err(|detail| {
            VaultError::Unacceptable {
                path: path.to_path_buf(),
                detail,
            }
        })?;
        let vault = Vault {
            db: Some(db),
            path: path.to_path_buf(),
            header,
            key,
            positions: Positions::new(),
            warnings: Vec::new(),
        };
        vault.write(|txn| {
            txn.open_table(META)?
                .insert(HEADER_KEY, vault.header.encode().as_slice())?;
            txn.open_table(WORKSPACES)?;
            txn.open_table(CREDENTIALS)?;
            txn.open_table(FLOWS)?;
            txn.open_table(HISTORY)?;
            txn.open_table(SEQUENCES)?;
            Ok(())
        })?;
        Ok(vault)
    }

    /// Opens and unlocks an existing vault. A damaged, foreign or newer file is never modified.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Vault, VaultError> {
        Self::open_and_load(path, passphrase).map(|(vault, _)| vault)
    }

    /// Opens, unlocks and decrypts everything. Every record is authenticated on a read-only
    /// handle before the file is opened for writing, so damage anywhere in the records leaves
    /// the file untouched. (History entries, read on demand, are authenticated when read.) An
    /// older (format 1 to 3) vault is then migrated to the current format in one transaction.
    pub fn open_and_load(path: &Path, passphrase: &[u8]) -> Result<(Vault, Snapshot), VaultError> {
        let (db, header, key, loaded) =
            guard::guarded(path, "opening", || open::open_checked(path, passphrase))?;
        let mut vault = Vault {
            db: Some(db),
            path: path.to_path_buf(),
            header,
            key,
            positions: loaded.positions,
            warnings: open::permission_warnings(path),
        };
        if vault.header.format < header::FORMAT {
            vault.migrate(&loaded.snapshot, &loaded.migration)?;
        }
        Ok((vault, loaded.snapshot))
    }

    fn db(&self) -> &Database {
        // Invariant: `db` is Some from construction until Drop.
        self.db.as_ref().expect("vault database present until drop")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn vault_id(&self) -> &str {
        &self.header.vault_id
    }

    pub fn kdf_params(&self) -> KdfParams {
        self.header.kdf.params
    }

    /// Re-wraps the data key under a new passphrase in one transaction: O(1) in the vault's
    /// size, since no record is re-encrypted.
    pub fn change_passphrase(&mut self, new: &[u8], params: KdfParams) -> Result<(), VaultError> {
        let raw = Zeroizing::new(*self.key.raw());
        let header = wrap_header(
            self.header.vault_id.clone(),
            self.header.created_at,
            new,
            &raw,
            params,
        )
        .map_err(|detail| VaultError::Unacceptable {
            path: self.path.clone(),
            detail,
        })?;
        let encoded = header.encode();
        self.write(|txn| {
            txn.open_table(META)?
                .insert(HEADER_KEY, encoded.as_slice())?;
            Ok(())
        })?;
        self.header = header;
        Ok(())
    }

    // ---- reading -----------------------------------------------------------------------------

    /// Decrypts every record. A record that fails to authenticate is reported, never guessed at.
    pub fn load(&self) -> Result<Snapshot, VaultError> {
        guard::guarded(&self.path, "reading", || {
            load_snapshot(self.db(), &self.path, &self.header, &self.key).map(|l| l.snapshot)
        })
    }

    /// A credential's verification history, newest first (at most HISTORY_LIMIT entries).
    pub fn history(&self, credential: &RecordId) -> Result<Vec<Verification>, VaultError> {
        guard::guarded(&self.path, "reading", || {
            let txn = self.db().begin_read().map_err(|e| storage(&self.path, e))?;
            results::read_history(
                &txn,
                &self.path,
                &self.header.vault_id,
                &self.key,
                credential,
                self.positions.get(credential),
            )
        })
    }

    // ---- writing -----------------------------------------------------------------------------

    /// Runs `body` in one write transaction committed with Immediate durability: when this
    /// returns Ok, the change is on disk.
    fn write(
        &self,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), VaultError> {
        guard::guarded(&self.path, "writing", || {
            let txn = self.begin_write()?;
            body(&txn).map_err(|e| storage(&self.path, e))?;
            txn.commit().map_err(|e| storage(&self.path, e))
        })
    }

    /// A write transaction whose commit is durable (Immediate); call under the panic guard.
    fn begin_write(&self) -> Result<redb::WriteTransaction, VaultError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| storage(&self.path, e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| storage(&self.path, e))?;
        Ok(txn)
    }

    fn seal_record<T: Serialize>(&self, table: &str, id: &RecordId, record: &T) -> Vec<u8> {
        let plain = Zeroizing::new(serde_json::to_vec(record).unwrap_or_default());
        let aad = crypto::record_aad(&self.header.vault_id, table, id.as_str());
        self.key.seal(&plain, &aad)
    }

    pub fn put_workspace(&self, w: &Workspace) -> Result<(), VaultError> {
        let sealed = self.seal_record(WORKSPACES_NAME, &w.id, w);
        self.write(|txn| {
            txn.open_table(WORKSPACES)?
                .insert(w.id.as_str(), sealed.as_slice())?;
            Ok(())
        })
    }

    /// New credentials with their histories (newest first), in one transaction: an import.
    pub fn put_credentials_with_history(
        &mut self,
        creds: &[(Credential, Vec<Verification>)],
    ) -> Result<(), VaultError> {
        self.write_results(|batch| {
            for (c, history) in creds {
                batch.put_credential(c)?;
                batch.add_history(&c.id, history)?;
            }
            Ok(())
        })
    }

    /// Rewrites `credential` (a save) and, if given, adds `result`, the verification of this
    /// version, as its newest history entry, all in one durable transaction.
    pub fn save_verified(
        &mut self,
        credential: &Credential,
        result: Option<&Verification>,
    ) -> Result<(), VaultError> {
        self.write_results(|batch| {
            batch.put_credential(credential)?;
            if let Some(v) = result {
                batch.add(&credential.id, v)?;
            }
            Ok(())
        })
    }

    pub fn put_flow(&self, f: &Flow) -> Result<(), VaultError> {
        self.put_flows(std::slice::from_ref(f))
    }

    pub fn put_flows(&self, flows: &[Flow]) -> Result<(), VaultError> {
        self.put_records(FLOWS, FLOWS_NAME, flows, |f| &f.id)
    }

    /// Seals every record (outside the transaction, so the write lock is held only for the
    /// inserts) and writes them in one durable commit.
    fn put_records<T: Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        name: &str,
        records: &[T],
        id_of: impl Fn(&T) -> &RecordId,
    ) -> Result<(), VaultError> {
        let sealed: Vec<(&RecordId, Vec<u8>)> = records
            .iter()
            .map(|r| (id_of(r), self.seal_record(name, id_of(r), r)))
            .collect();
        self.write(|txn| {
            let mut t = txn.open_table(table)?;
            for (id, bytes) in &sealed {
                t.insert(id.as_str(), bytes.as_slice())?;
            }
            Ok(())
        })
    }

    pub fn delete_credential(&mut self, id: &RecordId) -> Result<(), VaultError> {
        self.delete_credentials(std::slice::from_ref(id), |_| Ok(()))
    }

    /// Deletes `credentials` with their results, and whatever else `also` removes, in one
    /// transaction; the sequence numbers are rewritten without them if any had results.
    fn delete_credentials(
        &mut self,
        credentials: &[RecordId],
        also: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), VaultError> {
        let had_results = credentials.iter().any(|id| self.positions.contains_key(id));
        let sequences = had_results.then(|| {
            let gone: HashSet<&RecordId> = credentials.iter().collect();
            let kept = self.positions.iter().filter(|(id, _)| !gone.contains(id));
            sequences::seal(&self.key, &self.header.vault_id, kept)
        });
        self.write(|txn| {
            {
                let mut table = txn.open_table(CREDENTIALS)?;
                for id in credentials {
                    table.remove(id.as_str())?;
                    results::remove(txn, id)?;
                }
            }
            if let Some(sealed) = &sequences {
                sequences::put(txn, sealed)?;
            }
            also(txn)
        })?;
        for id in credentials {
            self.positions.remove(id);
        }
        Ok(())
    }

    pub fn delete_flow(&self, id: &RecordId) -> Result<(), VaultError> {
        self.write(|txn| {
            txn.open_table(FLOWS)?.remove(id.as_str())?;
            Ok(())
        })
    }

    /// Deletes a workspace with its credentials and flows in one transaction.
    pub fn delete_workspace(
        &mut self,
        id: &RecordId,
        credentials: &[RecordId],
        flows: &[RecordId],
    ) -> Result<(), VaultError> {
        self.delete_credentials(credentials, |txn| {
            let mut f = txn.open_table(FLOWS)?;
            for fid in flows {
                f.remove(fid.as_str())?;
            }
            txn.open_table(WORKSPACES)?.remove(id.as_str())?;
            Ok(())
        })
    }
}

/// Decrypts every record of every table and each credential's latest result through any
/// readable redb handle.
pub(crate) fn load_snapshot(
    db: &impl ReadableDatabase,
    path: &Path,
    header: &Header,
    key: &DataKey,
) -> Result<Loaded, VaultError> {
    let vault_id = header.vault_id.as_str();
    let txn = db
        .begin_read()
        .map_err(|e| corrupt(path, format!("it cannot be read ({e})")))?;
    let (mut credentials, mut latest, migration) = match header.format {
        1 => {
            // The latest results are inside the records, and come with them.
            let (credentials, histories) =
                migrate::read_format1_credentials(&txn, path, vault_id, key)?;
            let migration = migrate::Migration::Format1(histories);
            (credentials, HashMap::new(), migration)
        }
        2 => {
            let credentials = read_all(&txn, path, vault_id, key, CREDENTIALS, CREDENTIALS_NAME)?;
            let (latest, migration) = migrate::read_format2_latest(&txn, path, vault_id, key)?;
            (credentials, latest, migration)
        }
        _ => {
            let credentials = read_all(&txn, path, vault_id, key, CREDENTIALS, CREDENTIALS_NAME)?;
            let positions = sequences::read(&txn, path, vault_id, key, header.format)?
                .ok_or_else(|| corrupt(path, format!("its table {SEQUENCES_NAME} is missing")))?;
            let latest = results::read_latest(&txn, path, vault_id, key, &positions)?;
            (credentials, latest, migrate::Migration::None)
        }
    };
    let mut positions = Positions::with_capacity(latest.len());
    for c in &mut credentials {
        if let Some((position, verification)) = latest.remove(c.id.as_str()) {
            positions.insert(c.id.clone(), position);
            c.last_verification = Some(verification);
        }
    }
    Ok(Loaded {
        snapshot: Snapshot {
            workspaces: read_all(&txn, path, vault_id, key, WORKSPACES, WORKSPACES_NAME)?,
            credentials,
            flows: read_all(&txn, path, vault_id, key, FLOWS, FLOWS_NAME)?,
        },
        positions,
        migration,
    })
}

pub(super) fn read_all<T: DeserializeOwned>(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    table: TableDefinition<&str, &[u8]>,
    name: &str,
) -> Result<Vec<T>, VaultError> {
    let corrupt = |detail: String| corrupt(path, detail);
    let unreadable = |e: &dyn std::fmt::Display| unreadable(path, name, e);
    let table = txn.open_table(table).map_err(|e| unreadable(&e))?;
    let mut out = Vec::new();
    for entry in table.iter().map_err(|e| unreadable(&e))? {
        let (id, sealed) = entry.map_err(|e| unreadable(&e))?;
        let id = id.value();
        let aad = crypto::record_aad(vault_id, name, id);
        let plain = key
            .open(sealed.value(), &aad)
            .map_err(|_| corrupt(format!("record {id} in {name} failed authentication")))?;
        let record = serde_json::from_slice(&plain)
            .map_err(|_| corrupt(format!("record {id} in {name} cannot be decoded")))?;
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod results_tests;
