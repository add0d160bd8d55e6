//! The storage boundary: what the vault needs from wherever its sealed records live. The redb
//! file (`file.rs`) is the first implementation; a team vault in PostgreSQL is meant to be the
//! second, behind the same calls.
//!
//! A storage keeps bytes it cannot read: every record arrives sealed (AES-256-GCM under the data
//! key, with associated data binding the vault, the table, the record id and its revision), and
//! only the revision number is kept beside it in the clear, so that a write can be made
//! conditional on it without the key. What a storage guarantees:
//! - **Transactions.** A read sees one committed state; a write transaction is all or nothing,
//!   and only one is open at a time (a writer that finds another waits, up to a bound).
//! - **Conditional writes.** `put` and `remove` name the revision they expect, and fail with
//!   `VaultError::Stale` instead of overwriting a record that moved on.
//! - **A generation.** A number every commit moves on, cheap to read, so a process can tell
//!   whether anything changed since it last looked (and reload only then).
//! - **Key slots.** One record, the header, holds what unwraps the data key (today: a
//!   passphrase slot; see header.rs). It is plaintext by necessity and authenticated by the
//!   vault layer, not by the storage.
//!
//! Verification results have their own small interface (a ring of each credential's last
//! entries and one sealed record of where each ring stands, see results.rs and sequences.rs):
//! they are written far more often than records and never conflict.

use super::VaultError;

/// A table of sealed records, named as the associated data binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Workspaces,
    Credentials,
    Flows,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Workspaces, Table::Credentials, Table::Flows];

    /// The name bound into each record's associated data.
    pub fn name(self) -> &'static str {
        match self {
            Table::Workspaces => "workspaces",
            Table::Credentials => "credentials",
            Table::Flows => "flows",
        }
    }
}

/// One record as a storage keeps it: id and revision in the clear, the rest sealed.
#[derive(Debug, Clone, Copy)]
pub struct StoredRecord<'a> {
    pub id: &'a str,
    pub revision: u64,
    pub sealed: &'a [u8],
}

/// A verification result entry: slot `slot` of `credential`'s ring.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub credential: String,
    pub slot: u8,
    pub bytes: Vec<u8>,
}

/// Where a vault's sealed records live.
pub trait Storage: Send + Sync {
    /// A read transaction: one committed state, never waiting for a writer.
    fn read(&self) -> Result<Box<dyn ReadTxn + '_>, VaultError>;

    /// A write transaction: waits for another one to end, up to the storage's bound, and then
    /// fails with `VaultError::Busy`.
    fn write(&self) -> Result<Box<dyn WriteTxn + '_>, VaultError>;

    /// The generation of the latest commit (see the module comment): the cheap question "has
    /// anything changed since I last looked?".
    fn generation(&self) -> Result<u64, VaultError> {
        self.read()?.generation()
    }

    /// Whether the vault was replaced since this storage opened it (a file moved over it): a
    /// process must then reopen, never keep writing to the old one.
    fn replaced(&self) -> Result<bool, VaultError> {
        Ok(false)
    }

    /// The vault turned out to be replaced (see `replaced`, or an older generation than this
    /// process saw: a backup copied over it): let go of whatever state the storage holds for
    /// writing, without writing it back to what is there now.
    fn let_go(&self) {}

    /// Rewrites the vault so that nothing an earlier write replaced is left where a copy of
    /// the storage's bytes could find it (after a re-key). Other processes then find the vault
    /// replaced and reopen. A storage that keeps no freed bytes of its own does nothing.
    fn rewrite_fresh(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

/// What a transaction can read.
pub trait ReadTxn {
    /// The generation this transaction sees.
    fn generation(&self) -> Result<u64, VaultError>;

    /// The key-slot record (the vault header). `VaultError::Foreign` if there is none.
    fn key_slots(&self) -> Result<Vec<u8>, VaultError>;

    /// Every record of `table`, in id order. A missing or unreadable table is damage.
    fn scan(
        &self,
        table: Table,
        each: &mut dyn FnMut(StoredRecord<'_>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError>;

    /// Every record of `table` as (id, revision), in id order, without its sealed bytes: what
    /// a refresh compares with what it has, before it reads only the records that moved.
    fn scan_revisions(
        &self,
        table: Table,
        each: &mut dyn FnMut(&str, u64) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        self.scan(table, &mut |stored| each(stored.id, stored.revision))
    }

    /// One record: its revision and sealed bytes.
    fn get(&self, table: Table, id: &str) -> Result<Option<(u64, Vec<u8>)>, VaultError>;

    /// Ring slot `slot` of `credential`'s verification results.
    fn result(&self, slot: u8, credential: &str) -> Result<Option<Vec<u8>>, VaultError>;

    /// Several ring slots at once (slot, credential), in the order asked, None where there is
    /// no entry: what an open or a re-key reads for every credential, in one round trip where
    /// the storage is across a network.
    fn results(&self, wanted: &[(u8, &str)]) -> Result<Vec<Option<Vec<u8>>>, VaultError> {
        wanted
            .iter()
            .map(|(slot, credential)| self.result(*slot, credential))
            .collect()
    }

    /// How many result entries are stored, over all credentials.
    fn result_count(&self) -> Result<u64, VaultError>;

    /// The sealed record of where every credential's results stand, if any was written.
    fn positions(&self) -> Result<Option<Vec<u8>>, VaultError>;

    /// Whether this storage keeps the sealed digest of every record's (table, id, revision)
    /// (digest.rs): a storage whose rows someone without the key can edit one by one (a
    /// database) keeps it, so that a row rolled back, deleted or added is noticed. The file
    /// keeps none: redb writes and checksums it as a whole.
    fn keeps_record_digest(&self) -> bool {
        false
    }

    /// The sealed record digest, if one was written.
    fn record_digest(&self) -> Result<Option<Vec<u8>>, VaultError> {
        Ok(None)
    }

    /// The sealed position shards (shard, sealed) of the shards in `which` (None: every one
    /// stored), in shard order: where a storage that keeps the record digest keeps the
    /// positions (sequences.rs, digest.rs). The file keeps them in one record (`positions`).
    fn position_shards(&self, _which: Option<&[u8]>) -> Result<Vec<(u8, Vec<u8>)>, VaultError> {
        Ok(Vec::new())
    }

    /// Whether this storage keeps the change log (changelog.rs): the team vault does.
    fn keeps_change_log(&self) -> bool {
        false
    }

    /// Every change-log entry (sequence, sealed bytes), in sequence order.
    fn change_log(&self) -> Result<Vec<(u64, Vec<u8>)>, VaultError> {
        Ok(Vec::new())
    }
}

/// What a write transaction can change. Dropping it without `commit` writes nothing.
pub trait WriteTxn: ReadTxn {
    /// Writes `sealed` as revision `revision` of record `id`, provided the stored record is at
    /// revision `expected` (None: there must be none). Fails with `VaultError::Stale` otherwise.
    fn put(
        &mut self,
        table: Table,
        id: &str,
        expected: Option<u64>,
        revision: u64,
        sealed: &[u8],
    ) -> Result<(), VaultError>;

    /// Rewrites existing records in place, each at the revision it is stored at (a re-key's
    /// records sealed under the new key): (id, revision, sealed). Fails with `Stale` if any is
    /// no longer at that revision. One statement where the storage is across a network.
    fn reseal_records(
        &mut self,
        table: Table,
        records: &[(&str, u64, Vec<u8>)],
    ) -> Result<(), VaultError> {
        for (id, revision, sealed) in records {
            self.put(table, id, Some(*revision), *revision, sealed)?;
        }
        Ok(())
    }

    /// Deletes record `id`, provided it is at revision `expected`.
    fn remove(&mut self, table: Table, id: &str, expected: u64) -> Result<(), VaultError>;

    fn put_results(&mut self, entries: &[StoredResult]) -> Result<(), VaultError>;

    /// Deletes every result entry of `credential`.
    fn remove_results(&mut self, credential: &str) -> Result<(), VaultError>;

    /// Writes the one record of every credential's position (`positions`). A storage that
    /// keeps the record digest keeps them in shards instead (`put_position_shards`).
    fn put_positions(&mut self, _sealed: &[u8]) -> Result<(), VaultError> {
        Err(VaultError::Storage {
            path: Default::default(),
            detail: "this storage keeps the positions in shards".into(),
        })
    }

    fn put_key_slots(&mut self, header: &[u8]) -> Result<(), VaultError>;

    /// Appends change-log entries (sequence, time, sealed); only when `keeps_change_log`.
    fn append_log(&mut self, _entries: &[(u64, i64, Vec<u8>)]) -> Result<(), VaultError> {
        Ok(())
    }

    /// Replaces the sealed bytes of change-log entries (a re-key re-seals them).
    fn reseal_log(&mut self, _entries: &[(u64, Vec<u8>)]) -> Result<(), VaultError> {
        Ok(())
    }

    /// Replaces the sealed record digest (only called when `keeps_record_digest`). The
    /// positions record of the first format (`positions`) goes with it: the digest names the
    /// position shards that replace it.
    fn put_record_digest(&mut self, _sealed: &[u8]) -> Result<(), VaultError> {
        Ok(())
    }

    /// Writes position shards (shard, sealed) over what each held (only called when
    /// `keeps_record_digest`).
    fn put_position_shards(&mut self, _shards: &[(u8, Vec<u8>)]) -> Result<(), VaultError> {
        Err(VaultError::Storage {
            path: Default::default(),
            detail: "this storage keeps no position shards".into(),
        })
    }

    /// Removes what older formats of this storage kept and the current one does not (the file:
    /// the tables of vault formats 1 to 4), at the end of a format migration.
    fn retire_older_formats(&mut self) -> Result<(), VaultError>;

    /// Lets go of what the transaction's reads hold (they begin again, from the same state, if
    /// another comes). Called once the snapshot is up to date; a storage may use it to let the
    /// commit reuse what a read pinned.
    fn release_reads(&mut self) {}

    /// Makes the transaction durable and moves the generation on. When this returns Ok, every
    /// change is on disk; when it returns an error, none is.
    fn commit(self: Box<Self>) -> Result<(), VaultError>;
}
