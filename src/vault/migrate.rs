//! Older formats, migrated once, right after an older vault passed every check and was opened
//! for writing, in one transaction: on any failure nothing changes and the vault keeps its
//! format.
//! - Format 1 kept each credential's latest result and its history inside the credential
//!   record; they move to the history ring (results.rs).
//! - Format 2 kept a copy of each credential's newest result in a table of its own, next to the
//!   same bytes in the ring. The table gives way to the sequence numbers (sequences.rs); its
//!   entries are written back into the ring first, so nothing is lost even where the ring had
//!   lost one.
//! - Format 3's sequence record held numbers only; rewritten with room for runs (sequences.rs).
//!   Its history entries are read as they are.

use std::path::Path;

use redb::ReadableTable;
use serde::Deserialize;

use super::crypto::DataKey;
use super::results::{self, open_result, Latest};
use super::sequences::Position;
use super::tables::{CREDENTIALS, CREDENTIALS_NAME, FORMAT2_LATEST, RESULTS_NAME};
use super::{corrupt, header, read_all, unreadable, Vault, VaultError};
use crate::core::Snapshot;
use crate::core::{Credential, RecordId, Verification};
// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMapExt, HashSet};

/// What an older vault needs moved when it is opened for writing.
pub(crate) enum Migration {
    /// Format 1: the histories found inside the credential records, newest first.
    Format1(Histories),
    /// Format 2: each credential's newest result as its own table held it (sequence number and
    /// stored bytes).
    Format2(Vec<(RecordId, u64, Vec<u8>)>),
    /// Format 3 (the sequence record is rewritten by every result batch's commit) or the
    /// current format.
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

/// The credentials of a format-1 vault, and the histories their records carried.
pub(super) fn read_format1_credentials(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<(Vec<Credential>, Histories), VaultError> {
    let records: Vec<Format1Credential> =
        read_all(txn, path, vault_id, key, CREDENTIALS, CREDENTIALS_NAME)?;
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
    Ok((credentials, histories))
}

/// A format-2 vault's latest-result table, every entry authenticated: a map for the snapshot
/// and the stored bytes for the migration.
pub(super) fn read_format2_latest(
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

impl Vault {
    /// Moves an older vault's results where the current format keeps them and stamps the header
    /// with the current format, in one transaction (whose commit also writes the sequence
    /// numbers, from those loaded at open).
    pub(super) fn migrate(
        &mut self,
        snapshot: &Snapshot,
        migration: &Migration,
    ) -> Result<(), VaultError> {
        let mut header = self.header.clone();
        header.format = header::FORMAT;
        self.write_results(|batch| {
            match migration {
                Migration::Format1(histories) => {
                    // Re-sealing every record drops the embedded results (no longer serialized).
                    for c in &snapshot.credentials {
                        batch.put_credential(c)?;
                    }
                    for (id, history) in histories {
                        batch.add_history(id, history)?;
                    }
                }
                Migration::Format2(latest) => {
                    let live: HashSet<&RecordId> =
                        snapshot.credentials.iter().map(|c| &c.id).collect();
                    // Normally each of these is in the ring already, byte for byte.
                    for (id, seq, bytes) in latest.iter().filter(|(id, ..)| live.contains(id)) {
                        batch.put_stored(id, results::slot(*seq), bytes)?;
                    }
                }
                Migration::None => {}
            }
            batch.drop_format2_latest()?;
            batch.put_header(&header)
        })?;
        self.header = header;
        Ok(())
    }
}
