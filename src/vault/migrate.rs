//! Older formats of the file vault: read as they are when opened (so a command that only reads
//! never writes), and migrated to the current format by the first write, in one transaction of
//! its own: on any failure nothing changes and the vault keeps its format.
//! - Formats 1 to 4 kept records without revisions in the `-v1` tables; every record moves to
//!   the `-v2` tables at revision 1 (who made it unknown, when: its own time).
//! - Format 1 kept each credential's latest result and its history inside the credential
//!   record; they move to the history ring (results.rs).
//! - Format 2 kept a copy of each credential's newest result in a table of its own, next to the
//!   same bytes in the ring. The table gives way to the sequence numbers (sequences.rs); its
//!   entries are written back into the ring first, so nothing is lost even where the ring had
//!   lost one.
//! - Format 3's sequence record held numbers only; rewritten with room for runs (sequences.rs).
//!   Its history entries are read as they are.

use std::path::Path;

use redb::{ReadableTable, TableDefinition, TableHandle};
use serde::Deserialize;

use super::crypto::DataKey;
use super::file::FileStorage;
use super::header::{self, Header};
use super::journal::Journal;
use super::results::{self, open_result, Latest};
use super::sequences::{Position, Positions};
use super::storage::Storage;
use super::tables::*;
use super::{
    attach_latest, corrupt, decode_header, keyslot, records, Change, Loaded, State, VaultError,
};
use crate::core::Snapshot;
use crate::core::{Credential, Flow, RecordId, Verification, Workspace};
// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMapExt, HashSet};

/// What an older vault needs moved by its first write.
pub(crate) enum Migration {
    /// Format 1: the histories found inside the credential records, newest first.
    Format1(Histories),
    /// Format 2: each credential's newest result as its own table held it (sequence number and
    /// stored bytes).
    Format2(Vec<(RecordId, u64, Vec<u8>)>),
    /// Formats 3 and 4 (their results stay where they are), or the current format.
    None,
}

/// A credential record as format 1 wrote it.
#[derive(Deserialize)]
struct Format1Credential {
    #[serde(flatten)]
    credential: Credential,
    /// Newest first.
    #[serde(default)]
    history: Vec<Verification>,
}

/// Histories by credential, newest first.
pub(super) type Histories = Vec<(RecordId, Vec<Verification>)>;

fn unreadable(path: &Path, table: &str, e: &dyn std::fmt::Display) -> VaultError {
    corrupt(path, format!("its table {table} cannot be read ({e})"))
}

/// Every record of an older-format table. A table missing is damage.
fn read_v1<T: serde::de::DeserializeOwned>(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    table: TableDefinition<&str, &[u8]>,
    name: &str,
) -> Result<Vec<T>, VaultError> {
    let t = txn.open_table(table).map_err(|e| match e {
        redb::TableError::TableDoesNotExist(_) => {
            corrupt(path, format!("its table {} is missing", table.name()))
        }
        e => unreadable(path, table.name(), &e),
    })?;
    let mut out = Vec::new();
    for entry in t.iter().map_err(|e| unreadable(path, table.name(), &e))? {
        let (id, sealed) = entry.map_err(|e| unreadable(path, table.name(), &e))?;
        let record = records::open_v1(key, vault_id, name, id.value(), sealed.value())
            .map_err(|d| corrupt(path, d))?;
        out.push(record);
    }
    Ok(out)
}

/// Decrypts everything of a vault of format 1 to 4.
pub(super) fn load(
    storage: &FileStorage,
    path: &Path,
    header: &Header,
    key: &DataKey,
) -> Result<Loaded, VaultError> {
    let read = storage.read_older()?;
    let txn = read.redb();
    let vault_id = header.vault_id.as_str();
    let (credentials, positions, migration) = match header.format {
        1 => {
            // The latest results are inside the records, and come with them.
            let records: Vec<Format1Credential> =
                read_v1(txn, path, vault_id, key, CREDENTIALS_V1, CREDENTIALS_NAME)?;
            let mut histories = Vec::new();
            let credentials = records
                .into_iter()
                .map(|r| {
                    let mut history = r.history;
                    // A latest result that never made it into the history still belongs there.
                    if let Some(last) = &r.credential.last_verification {
                        if history.first() != Some(last) {
                            history.insert(0, last.clone());
                        }
                    }
                    if !history.is_empty() {
                        histories.push((r.credential.id.clone(), history));
                    }
                    r.credential
                })
                .collect();
            (credentials, Positions::new(), Migration::Format1(histories))
        }
        2 => {
            let mut credentials: Vec<Credential> =
                read_v1(txn, path, vault_id, key, CREDENTIALS_V1, CREDENTIALS_NAME)?;
            let (latest, migration) = read_format2_latest(txn, path, vault_id, key)?;
            let mut positions = Positions::with_capacity(latest.len());
            let mut latest = latest;
            for c in &mut credentials {
                if let Some((position, verification)) = latest.remove(c.id.as_str()) {
                    positions.insert(c.id.clone(), position);
                    c.last_verification = Some(verification);
                }
            }
            (credentials, positions, migration)
        }
        _ => {
            let mut credentials: Vec<Credential> =
                read_v1(txn, path, vault_id, key, CREDENTIALS_V1, CREDENTIALS_NAME)?;
            let positions = super::sequences::read(&read, path, vault_id, key, header.format)?;
            attach_latest(&read, path, vault_id, key, &positions, &mut credentials)?;
            (credentials, positions, Migration::None)
        }
    };
    Ok(Loaded {
        snapshot: Snapshot {
            workspaces: read_v1::<Workspace>(
                txn,
                path,
                vault_id,
                key,
                WORKSPACES_V1,
                WORKSPACES_NAME,
            )?,
            credentials,
            flows: read_v1::<Flow>(txn, path, vault_id, key, FLOWS_V1, FLOWS_NAME)?,
        },
        positions,
        migration,
        digest: None,
    })
}

/// A format-2 vault's latest-result table, every entry authenticated: a map for the snapshot
/// and the stored bytes for the migration.
fn read_format2_latest(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<(Latest, Migration), VaultError> {
    let name = RESULTS_NAME;
    let table = match txn.open_table(FORMAT2_LATEST) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok((Latest::new(), Migration::Format2(Vec::new())))
        }
        Err(e) => return Err(unreadable(path, name, &e)),
    };
    let mut latest = Latest::new();
    let mut stored = Vec::new();
    for entry in table.iter().map_err(|e| unreadable(path, name, &e))? {
        let (id, bytes) = entry.map_err(|e| unreadable(path, name, &e))?;
        let (id, bytes) = (id.value(), bytes.value());
        let (seq, verification, _) = open_result(key, vault_id, id, bytes).ok_or_else(|| {
            corrupt(
                path,
                format!("the latest result of credential {id} failed authentication"),
            )
        })?;
        stored.push((RecordId(id.to_string()), seq, bytes.to_vec()));
        let position = Position::new(seq.saturating_add(1));
        latest.insert(id.to_string(), (position, verification));
    }
    Ok((latest, Migration::Format2(stored)))
}

/// Migrates the vault `state` describes to the current format, in one transaction: every
/// record at revision 1, the results where the current format keeps them, the older tables
/// gone, and the header stamped with the current format and the data key's id. If another
/// process migrated it meanwhile, the snapshot is read again instead.
pub(super) fn run(
    storage: &dyn Storage,
    state: &mut State,
    snapshot: &mut Snapshot,
) -> Result<(), VaultError> {
    let txn = storage.write()?;
    let stored = txn.key_slots()?;
    if stored != state.header_bytes {
        // Another process migrated it (nothing else writes an older format): read it again.
        let header = decode_header(&state.path, &stored)?;
        if header.format < header::REVISIONS {
            return Err(corrupt(
                &state.path,
                "its header changed while it was open".into(),
            ));
        }
        state.legacy = None;
        state.generation = None;
        state.sync(&*txn, snapshot, &mut Journal::default())?;
        return Ok(());
    }
    let migration = state.legacy.take().unwrap_or(Migration::None);
    let generation_before = state.generation;
    let mut header = state.header.clone();
    header.format = header::FORMAT;
    keyslot::name_key(&mut header, &state.key, keyslot::fresh_key_id());
    let encoded = header.encode();
    let live: HashSet<RecordId> = snapshot.credentials.iter().map(|c| c.id.clone()).collect();
    let workspaces = snapshot.workspaces.clone();
    let credentials = snapshot.credentials.clone();
    let flows = snapshot.flows.clone();
    state.generation = Some(txn.generation()?);
    let mut change = Change::new(txn, state, snapshot, Journal::default());
    let result = (|| {
        for w in workspaces {
            let at = w.created_at;
            change.put_migrated(w, at)?;
        }
        for c in credentials {
            let at = c.updated_at;
            change.put_migrated(c, at)?;
        }
        for f in flows {
            let at = f.updated_at;
            change.put_migrated(f, at)?;
        }
        match &migration {
            Migration::Format1(histories) => {
                for (id, history) in histories {
                    change.add_history(id, history)?;
                }
            }
            Migration::Format2(latest) => {
                // Normally each of these is in the ring already, byte for byte.
                for (id, seq, bytes) in latest.iter().filter(|(id, ..)| live.contains(id)) {
                    change.put_stored(id, results::slot(*seq), bytes)?;
                }
            }
            Migration::None => {}
        }
        change.retire_older_formats()?;
        change.put_header(header, encoded)
    })();
    let result = match result {
        Ok(()) => change.commit(),
        Err(e) => {
            change.abandon();
            Err(e)
        }
    };
    if result.is_err() {
        // Nothing was written: the vault keeps its format and what it needs to migrate (the
        // journal put the snapshot and the header back).
        state.generation = generation_before;
        state.legacy = Some(migration);
    }
    result
}
