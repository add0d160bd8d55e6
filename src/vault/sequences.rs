//! The result sequence numbers: for every credential with results, the number its next result
//! gets (its newest is the one before). One sealed record, rewritten in each transaction that
//! records results or deletes a credential that had some.
//!
//! It is what says which history entries must exist (see results.rs). Format 2 kept a copy of
//! every credential's newest result in a table of its own instead, which made each recorded
//! result two inserts; this record is one write per transaction however many results it holds.
//! Being one authenticated record, it also catches a history rolled back by one entry, which
//! the per-entry checks alone could not tell from the real thing.

use std::path::Path;

use redb::TableError;

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use super::crypto::{self, DataKey};
use super::tables::{SEQUENCES, SEQUENCES_KEY, SEQUENCES_NAME};
use super::{corrupt, unreadable, VaultError};
use crate::core::RecordId;

/// Credential -> the sequence number of its next result.
pub(super) type NextSeq = HashMap<RecordId, u64>;

fn aad(vault_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, SEQUENCES_NAME, SEQUENCES_KEY)
}

/// The record for `next`: nonce || AES-GCM(postcard list of (credential id, number)), AAD =
/// (vault id, "sequences", "next"). The numbers are not secret, but sealing them is what makes
/// them trustworthy. Postcard rather than JSON: the record is rewritten whole at the end of
/// every audit, which waits for it.
pub(super) fn seal<'a>(
    key: &DataKey,
    vault_id: &str,
    next: impl Iterator<Item = (&'a RecordId, u64)>,
) -> Vec<u8> {
    let next: Vec<(&RecordId, u64)> = next.collect();
    let mut out = Vec::with_capacity(crypto::NONCE_LEN + 48 * next.len() + 8 + crypto::TAG_LEN);
    // A list of strings and integers always encodes; if it did not, the record would be left
    // empty and read back as damaged.
    key.seal_appended(&mut out, &aad(vault_id), |plain| {
        postcard::to_io(&next, plain).map(|_| ())
    });
    out
}

/// The numbers, authenticated. None if the vault has no such table (format 1 or 2); empty if
/// nothing was ever recorded.
pub(super) fn read(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<Option<NextSeq>, VaultError> {
    let unreadable = |e: &dyn std::fmt::Display| unreadable(path, SEQUENCES_NAME, e);
    let table = match txn.open_table(SEQUENCES) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(unreadable(&e)),
    };
    let Some(sealed) = table.get(SEQUENCES_KEY).map_err(|e| unreadable(&e))? else {
        return Ok(Some(NextSeq::new()));
    };
    let plain = key.open(sealed.value(), &aad(vault_id)).map_err(|_| {
        corrupt(
            path,
            "the result sequence numbers failed authentication".into(),
        )
    })?;
    let next: Vec<(RecordId, u64)> = postcard::from_bytes(&plain)
        .map_err(|_| corrupt(path, "the result sequence numbers cannot be decoded".into()))?;
    Ok(Some(next.into_iter().collect()))
}

/// Writes the record inside `txn`.
pub(super) fn put(txn: &redb::WriteTransaction, sealed: &[u8]) -> Result<(), redb::Error> {
    txn.open_table(SEQUENCES)?.insert(SEQUENCES_KEY, sealed)?;
    Ok(())
}
