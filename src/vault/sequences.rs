//! The result sequence numbers: for every credential with results, the number its next result
//! gets (its newest is the one before), and the repeats of its newest result, if rechecks keep
//! returning it. One sealed record, rewritten in each transaction that records results or
//! deletes a credential that had some.
//!
//! A recheck that repeats the newest result only updates the repeats here, so a steady audit
//! (nothing changed) writes this one record and no history entry; the entry that ends the run
//! takes the repeats along (results.rs, `Ended`). Format 3 kept only the numbers; its record is
//! still read.
//!
//! It is what says which history entries must exist (see results.rs). Format 2 kept a copy of
//! every credential's newest result in a table of its own instead, which made each recorded
//! result two inserts; this record is one write per transaction however many results it holds.
//! Being one authenticated record, it also catches a history rolled back by one entry, which
//! the per-entry checks alone could not tell from the real thing.

use std::path::Path;

use serde::{Deserialize, Serialize};

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use super::crypto::{self, DataKey};
use super::storage::ReadTxn;
use super::tables::{SEQUENCES_KEY, SEQUENCES_NAME};
use super::{corrupt, VaultError};
use crate::core::time::Timestamp;
use crate::core::{RecordId, Run, Verification};

/// Where a credential's results stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// The sequence number its next result gets; its newest entry's is the one before.
    pub next: u64,
    /// Set while rechecks repeat the newest entry, which holds the run's first check.
    pub repeats: Option<Repeats>,
}

impl Position {
    /// Next number `next`, no run going on.
    pub(crate) fn new(next: u64) -> Position {
        Position {
            next,
            repeats: None,
        }
    }
}

/// The rest of a run whose first check is the newest history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Repeats {
    /// How many checks the run holds, the first included.
    pub count: u32,
    /// The latest check's time and latency.
    pub at: Timestamp,
    pub latency_ms: Option<u64>,
}

impl Repeats {
    /// The repeats of `run`, a result that has absorbed its repeats (`Verification::absorb`).
    pub(crate) fn of(run: &Verification) -> Repeats {
        Repeats {
            count: run.checks(),
            at: run.at,
            latency_ms: run.latency_ms,
        }
    }

    /// The entry heading the run, `first`, with the repeats folded in: what the run reads as.
    pub(crate) fn apply(&self, first: &mut Verification) {
        first.run = Some(Run {
            first: first.first_at(),
            count: self.count,
        });
        first.at = self.at;
        first.latency_ms = self.latency_ms;
    }
}

/// Credential -> where its results stand.
pub(super) type Positions = HashMap<RecordId, Position>;

fn aad(vault_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, SEQUENCES_NAME, SEQUENCES_KEY)
}

/// The record for `positions`: nonce || AES-GCM(postcard list of (credential id, position)),
/// AAD = (vault id, "sequences", "next"). The numbers are not secret, but sealing them is what
/// makes them trustworthy, and the repeats carry times and latencies. Postcard rather than
/// JSON: the record is rewritten whole at the end of every audit, which waits for it.
pub(super) fn seal<'a>(
    key: &DataKey,
    vault_id: &str,
    positions: impl Iterator<Item = (&'a RecordId, &'a Position)>,
) -> Vec<u8> {
    let next: Vec<(&RecordId, &Position)> = positions.collect();
    let mut out = Vec::with_capacity(crypto::NONCE_LEN + 64 * next.len() + 8 + crypto::TAG_LEN);
    // A list of strings and integers always encodes; if it did not, the record would be left
    // empty and read back as damaged.
    key.seal_appended(&mut out, &aad(vault_id), |plain| {
        postcard::to_io(&next, plain).map(|_| ())
    });
    out
}

/// The positions, authenticated, from a vault of `format` (3: numbers only); empty if nothing
/// was ever recorded. The table itself must exist (formats 3 and later).
pub(super) fn read(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    format: u32,
) -> Result<Positions, VaultError> {
    /// The last format whose record held bare numbers.
    const NUMBERS_ONLY: u32 = 3;
    let Some(sealed) = txn.positions()? else {
        return Ok(Positions::new());
    };
    let plain = key.open(&sealed, &aad(vault_id)).map_err(|_| {
        corrupt(
            path,
            "the result sequence numbers failed authentication".into(),
        )
    })?;
    let undecodable = |_| corrupt(path, "the result sequence numbers cannot be decoded".into());
    let positions = if format <= NUMBERS_ONLY {
        let next: Vec<(RecordId, u64)> = postcard::from_bytes(&plain).map_err(undecodable)?;
        next.into_iter()
            .map(|(id, next)| (id, Position::new(next)))
            .collect()
    } else {
        let positions: Vec<(RecordId, Position)> =
            postcard::from_bytes(&plain).map_err(undecodable)?;
        positions.into_iter().collect()
    };
    Ok(positions)
}
