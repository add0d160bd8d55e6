//! Verification results, kept apart from the credential records.
//!
//! Two tables: RESULTS holds each credential's newest result (read at open, for every status
//! column), HISTORY a ring of the last `HISTORY_LIMIT` results per credential (read only when a
//! detail view or `credential show` asks). An audit records one result per credential; writing
//! two ~200-byte records is far cheaper than re-encrypting the whole credential with its
//! history, which is what made a 1,000-credential audit spend a third of its time writing (see
//! BENCHMARKS.md, "Audit"). The ring keeps the history bounded with inserts only: result number
//! `seq` goes to slot `seq % HISTORY_LIMIT`, overwriting the oldest, so no delete is ever needed.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use redb::{ReadableTable, TableError};

use super::crypto::{self, DataKey};
use super::tables::{HISTORY, RESULTS, RESULTS_NAME};
use super::VaultError;
use crate::core::{RecordId, Verification, HISTORY_LIMIT};

/// The ring slot of result number `seq`. HISTORY_LIMIT is far below 256 (checked at compile time).
pub(super) fn slot(seq: u64) -> u8 {
    const _: () = assert!(HISTORY_LIMIT > 0 && HISTORY_LIMIT <= u8::MAX as usize);
    (seq % HISTORY_LIMIT as u64) as u8
}

/// A stored result: `seq` (8 bytes, big-endian, in the clear) || nonce || AES-GCM(JSON
/// Verification), with AAD = (vault id, "results", "credential id/seq"). The same bytes go to
/// both tables (one seal per result). The AAD binds the credential and the sequence number, and
/// the sequence number fixes the slot, so an entry moved to another credential fails
/// authentication and one moved to another slot, or replayed there, is out of sequence.
pub(super) struct SealedResult {
    pub credential: RecordId,
    pub slot: u8,
    pub bytes: Vec<u8>,
}

fn result_aad(vault_id: &str, credential: &str, seq: u64) -> Vec<u8> {
    // "credential/seq", built without the formatting machinery: this runs for every result an
    // audit records and every history entry read.
    let mut digits = itoa::Buffer::new();
    let seq = digits.format(seq);
    let mut id = String::with_capacity(credential.len() + 1 + seq.len());
    id.push_str(credential);
    id.push('/');
    id.push_str(seq);
    crypto::record_aad(vault_id, RESULTS_NAME, &id)
}

pub(super) fn seal(
    key: &DataKey,
    vault_id: &str,
    credential: &RecordId,
    seq: u64,
    verification: &Verification,
) -> SealedResult {
    // The JSON is written straight into the record and encrypted where it lies. Room for it is
    // reserved up front (field names and numbers fit in 160 bytes, and escaping at most doubles
    // text without control characters), so no reallocation leaves a plaintext copy behind.
    let text = verification.reason.len() + verification.detail.as_ref().map_or(0, String::len);
    let mut bytes = Vec::with_capacity(8 + crypto::NONCE_LEN + 160 + 2 * text + crypto::TAG_LEN);
    bytes.extend_from_slice(&seq.to_be_bytes());
    // A struct of strings and integers always serializes; if it did not, the record would be
    // left without a sealed part and read back as damaged.
    key.seal_appended(
        &mut bytes,
        &result_aad(vault_id, credential.as_str(), seq),
        |plain| serde_json::to_writer(plain, verification),
    );
    SealedResult {
        credential: credential.clone(),
        slot: slot(seq),
        bytes,
    }
}

/// The sequence number and result in stored bytes; None if they are short, do not
/// authenticate or do not decode.
fn open_result(
    key: &DataKey,
    vault_id: &str,
    credential: &str,
    bytes: &[u8],
) -> Option<(u64, Verification)> {
    let (prefix, sealed) = bytes.split_first_chunk::<8>()?;
    let seq = u64::from_be_bytes(*prefix);
    let plain = key
        .open(sealed, &result_aad(vault_id, credential, seq))
        .ok()?;
    let v = serde_json::from_slice(&plain).ok()?;
    Some((seq, v))
}

pub(super) fn insert(
    txn: &redb::WriteTransaction,
    sealed: &[SealedResult],
) -> Result<(), redb::Error> {
    let mut latest = txn.open_table(RESULTS)?;
    let mut history = txn.open_table(HISTORY)?;
    for s in sealed {
        latest.insert(s.credential.as_str(), s.bytes.as_slice())?;
        history.insert((s.slot, s.credential.as_str()), s.bytes.as_slice())?;
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

fn unreadable(path: &Path, table: &str, e: &dyn std::fmt::Display) -> VaultError {
    corrupt(path, format!("table {table} cannot be read ({e})"))
}

/// The latest-result table; None in a vault written before it existed (format 1).
fn latest_table(
    txn: &redb::ReadTransaction,
    path: &Path,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, VaultError> {
    match txn.open_table(RESULTS) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(unreadable(path, RESULTS_NAME, &e)),
    }
}

/// A credential's latest result, authenticated.
fn open_latest(
    key: &DataKey,
    vault_id: &str,
    path: &Path,
    credential: &str,
    bytes: &[u8],
) -> Result<(u64, Verification), VaultError> {
    open_result(key, vault_id, credential, bytes).ok_or_else(|| {
        corrupt(
            path,
            format!("the latest result of credential {credential} failed authentication"),
        )
    })
}

/// Every credential's newest result with its sequence number.
pub(super) fn read_latest(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<HashMap<String, (u64, Verification)>, VaultError> {
    let Some(table) = latest_table(txn, path)? else {
        return Ok(HashMap::new());
    };
    let mut out = HashMap::new();
    for entry in table
        .iter()
        .map_err(|e| unreadable(path, RESULTS_NAME, &e))?
    {
        let (id, bytes) = entry.map_err(|e| unreadable(path, RESULTS_NAME, &e))?;
        let id = id.value();
        out.insert(
            id.to_string(),
            open_latest(key, vault_id, path, id, bytes.value())?,
        );
    }
    Ok(out)
}

/// One credential's history, newest first. The latest result's sequence number says which
/// entries must exist (the last HISTORY_LIMIT of them), so an entry that went missing, was moved
/// or was replayed from an older state is reported as damage, like one that fails
/// authentication.
pub(super) fn read_history(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    credential: &RecordId,
) -> Result<Vec<Verification>, VaultError> {
    let id = credential.as_str();
    let Some(latest) = latest_table(txn, path)? else {
        return Ok(Vec::new());
    };
    let Some(bytes) = latest
        .get(id)
        .map_err(|e| unreadable(path, RESULTS_NAME, &e))?
    else {
        return Ok(Vec::new()); // never verified
    };
    let (newest, _) = open_latest(key, vault_id, path, id, bytes.value())?;
    let unreadable = |e: &dyn std::fmt::Display| unreadable(path, "history", e);
    let table = txn.open_table(HISTORY).map_err(|e| unreadable(&e))?;
    let oldest = newest.saturating_sub(HISTORY_LIMIT as u64 - 1);
    let mut entries = Vec::with_capacity(HISTORY_LIMIT);
    for seq in (oldest..=newest).rev() {
        let damaged = |what: String| {
            corrupt(
                path,
                format!("history entry {seq} of credential {id} {what}"),
            )
        };
        let bytes = table
            .get((slot(seq), id))
            .map_err(|e| unreadable(&e))?
            .ok_or_else(|| damaged("is missing".into()))?;
        match open_result(key, vault_id, id, bytes.value()) {
            Some((found, v)) if found == seq => entries.push(v),
            Some((found, _)) => return Err(damaged(format!("holds entry {found} instead"))),
            None => return Err(damaged("failed authentication".into())),
        }
    }
    Ok(entries)
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
