//! Verification results, kept apart from the credential records.
//!
//! Two tables: RESULTS holds each credential's newest result (read at open, for every status
//! column), HISTORY a ring of the last `HISTORY_LIMIT` results per credential (read only when a
//! detail view or `credential show` asks). An audit records one result per credential; writing
//! two ~200-byte records is far cheaper than re-encrypting the whole credential with its
//! history, which is what made a 1,000-credential audit spend a third of its time writing (see
//! BENCHMARKS.md, "Audit"). The ring keeps the history bounded with inserts only: result number
//! `seq` goes to slot `seq % HISTORY_LIMIT`, overwriting the oldest, so no delete is ever needed.

use std::collections::HashMap;
use std::path::Path;

use redb::{ReadableTable, TableError};
use serde::{Deserialize, Serialize};

use super::crypto::{self, DataKey};
use super::tables::{HISTORY, HISTORY_NAME, RESULTS, RESULTS_NAME};
use super::VaultError;
use crate::core::{RecordId, Verification, HISTORY_LIMIT};

/// One stored result and its sequence number within its credential (0 for the first).
#[derive(Serialize, Deserialize)]
pub(super) struct Stored<V> {
    pub seq: u64,
    pub verification: V,
}

/// The ring slot of result number `seq`. HISTORY_LIMIT is far below 256 (checked at compile time).
pub(super) fn slot(seq: u64) -> u8 {
    const _: () = assert!(HISTORY_LIMIT > 0 && HISTORY_LIMIT <= u8::MAX as usize);
    (seq % HISTORY_LIMIT as u64) as u8
}

/// The record id bound into a history entry's associated data: the credential and the slot, so an
/// entry moved to another slot or credential fails to authenticate.
fn history_record_id(credential: &str, slot: u8) -> String {
    format!("{credential}/{slot}")
}

/// The sealed bytes of one result for both tables, sealed outside any transaction.
pub(super) struct SealedResult<'a> {
    pub credential: &'a RecordId,
    pub slot: u8,
    pub latest: Vec<u8>,
    pub history: Vec<u8>,
}

pub(super) fn seal<'a>(
    key: &DataKey,
    vault_id: &str,
    credential: &'a RecordId,
    seq: u64,
    verification: &Verification,
) -> SealedResult<'a> {
    let record = Stored { seq, verification };
    // A struct of strings and integers always serializes.
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(&record).unwrap_or_default());
    let slot = slot(seq);
    SealedResult {
        credential,
        slot,
        latest: key.seal(
            &plain,
            &crypto::record_aad(vault_id, RESULTS_NAME, credential.as_str()),
        ),
        history: key.seal(
            &plain,
            &crypto::record_aad(
                vault_id,
                HISTORY_NAME,
                &history_record_id(credential.as_str(), slot),
            ),
        ),
    }
}

pub(super) fn insert(
    txn: &redb::WriteTransaction,
    sealed: &[SealedResult],
) -> Result<(), redb::Error> {
    let mut latest = txn.open_table(RESULTS)?;
    let mut history = txn.open_table(HISTORY)?;
    for s in sealed {
        latest.insert(s.credential.as_str(), s.latest.as_slice())?;
        history.insert((s.slot, s.credential.as_str()), s.history.as_slice())?;
    }
    Ok(())
}

/// Removes every result of `credential` (its deletion).
pub(super) fn remove(
    txn: &redb::WriteTransaction,
    credential: &RecordId,
) -> Result<(), redb::Error> {
    txn.open_table(RESULTS)?.remove(credential.as_str())?;
    let mut history = txn.open_table(HISTORY)?;
    for slot in 0..HISTORY_LIMIT as u8 {
        history.remove((slot, credential.as_str()))?;
    }
    Ok(())
}

fn corrupt(path: &Path, detail: String) -> VaultError {
    VaultError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

/// Every credential's newest result with its sequence number. A vault written before these
/// tables existed (format 1) has none.
pub(super) fn read_latest(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<HashMap<String, Stored<Verification>>, VaultError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        corrupt(path, format!("table {RESULTS_NAME} cannot be read ({e})"))
    };
    let table = match txn.open_table(RESULTS) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
        Err(e) => return Err(unreadable(&e)),
    };
    let mut out = HashMap::new();
    for entry in table.iter().map_err(|e| unreadable(&e))? {
        let (id, sealed) = entry.map_err(|e| unreadable(&e))?;
        let id = id.value();
        let aad = crypto::record_aad(vault_id, RESULTS_NAME, id);
        let record = open_record(key, sealed.value(), &aad).ok_or_else(|| {
            corrupt(
                path,
                format!("the latest result of credential {id} failed authentication"),
            )
        })?;
        out.insert(id.to_string(), record);
    }
    Ok(out)
}

/// One credential's history, newest first. The latest result's sequence number says which
/// entries must exist (the last HISTORY_LIMIT of them), so an entry that went missing or was
/// swapped for an older one is reported as damage, like a record that fails authentication.
pub(super) fn read_history(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    credential: &RecordId,
) -> Result<Vec<Verification>, VaultError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        corrupt(path, format!("table {HISTORY_NAME} cannot be read ({e})"))
    };
    let id = credential.as_str();
    let Some(newest) = read_latest_of(txn, path, vault_id, key, id)? else {
        return Ok(Vec::new()); // never verified
    };
    let table = txn.open_table(HISTORY).map_err(|e| unreadable(&e))?;
    let oldest = newest.saturating_sub(HISTORY_LIMIT as u64 - 1);
    let mut entries = Vec::with_capacity(HISTORY_LIMIT);
    for seq in (oldest..=newest).rev() {
        let slot = slot(seq);
        let damaged = |what: &str| {
            corrupt(
                path,
                format!("history entry {seq} of credential {id} {what}"),
            )
        };
        let sealed = table
            .get((slot, id))
            .map_err(|e| unreadable(&e))?
            .ok_or_else(|| damaged("is missing"))?;
        let aad = crypto::record_aad(vault_id, HISTORY_NAME, &history_record_id(id, slot));
        let record = open_record(key, sealed.value(), &aad)
            .ok_or_else(|| damaged("failed authentication"))?;
        if record.seq != seq {
            return Err(damaged("was replaced by an older one"));
        }
        entries.push(record.verification);
    }
    Ok(entries)
}

/// The sequence number of one credential's latest result, if it has one.
fn read_latest_of(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    id: &str,
) -> Result<Option<u64>, VaultError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        corrupt(path, format!("table {RESULTS_NAME} cannot be read ({e})"))
    };
    let table = match txn.open_table(RESULTS) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(unreadable(&e)),
    };
    let Some(sealed) = table.get(id).map_err(|e| unreadable(&e))? else {
        return Ok(None);
    };
    let aad = crypto::record_aad(vault_id, RESULTS_NAME, id);
    let record = open_record(key, sealed.value(), &aad).ok_or_else(|| {
        corrupt(
            path,
            format!("the latest result of credential {id} failed authentication"),
        )
    })?;
    Ok(Some(record.seq))
}

fn open_record(key: &DataKey, sealed: &[u8], aad: &[u8]) -> Option<Stored<Verification>> {
    let plain = key.open(sealed, aad).ok()?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_reuses_slots_in_order() {
        assert_eq!(slot(0), 0);
        assert_eq!(slot(HISTORY_LIMIT as u64 - 1), HISTORY_LIMIT as u8 - 1);
        assert_eq!(slot(HISTORY_LIMIT as u64), 0);
        assert_eq!(slot(HISTORY_LIMIT as u64 * 7 + 3), 3);
    }
}
