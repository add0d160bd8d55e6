//! A team vault's result positions, in shards (since schema 3; see digest.rs for why): each
//! shard one sealed record of its credentials' positions (sequences.rs) and newest results,
//! bound to the version the record digest names, so that a shard rolled back, moved or deleted
//! is noticed, and rewritten only when one of its credentials' results moved.

use std::path::Path;

use super::crypto::{self, DataKey};
use super::digest::ShardSet;
use super::results;
use super::sequences::{Position, Positions};
// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use super::storage::ReadTxn;
use super::tables::SEQUENCES_NAME;
use super::{corrupt, VaultError};
use crate::core::{RecordId, Verification};
use foldhash::{HashMap, HashMapExt};

/// The associated data of shard `shard`'s positions at `version`: the record digest
/// (digest.rs) names every shard's version, so an older record of a shard (a history rolled
/// back with it) fails to open, as does one moved to another shard.
fn shard_aad(vault_id: &str, shard: u8, version: u64) -> Vec<u8> {
    let mut digits = itoa::Buffer::new();
    let mut id = String::from("shard-");
    id.push_str(digits.format(shard));
    crypto::revision_aad(vault_id, SEQUENCES_NAME, &id, version)
}

/// What shards hold for their credentials: where each one's results stand, and its newest
/// result as the snapshot shows it (a run's repeats applied), so that an open reads the 256
/// shards and no history entry (10,000 lookups scattered over the results table were half of
/// an open).
pub(super) struct ShardsRead {
    pub positions: Positions,
    pub newest: HashMap<RecordId, Option<Verification>>,
}

/// The record of shard `shard`'s positions (those of the credentials whose id falls in it),
/// with each one's newest result, as version `version`.
pub(super) fn seal_shard<'a>(
    key: &DataKey,
    vault_id: &str,
    shard: u8,
    version: u64,
    entries: impl Iterator<Item = (&'a RecordId, &'a Position, Option<&'a Verification>)>,
) -> Vec<u8> {
    let encoded: Vec<(&RecordId, &Position, Option<Vec<u8>>)> = entries
        .map(|(id, position, latest)| (id, position, latest.map(results::encode_latest)))
        .collect();
    let mut out = Vec::with_capacity(crypto::NONCE_LEN + 160 * encoded.len() + 8 + crypto::TAG_LEN);
    // A list of strings, integers and bytes always encodes; if it did not, the record would be
    // left empty and read back as damaged.
    key.seal_appended(&mut out, &shard_aad(vault_id, shard, version), |plain| {
        postcard::to_io(&encoded, plain).map(|_| ())
    });
    out
}

/// What the shards in `which` (None: all of them), each shard authenticated as the
/// version `versions` (the digest's) names: a shard the digest says was written must be there,
/// and one it says never was must not.
pub(super) fn read_shards(
    txn: &dyn ReadTxn,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
    versions: &[u64],
    which: Option<&ShardSet>,
) -> Result<ShardsRead, VaultError> {
    let wanted: Option<Vec<u8>> = which.map(|set| set.iter().collect());
    let rows = txn.position_shards(wanted.as_deref())?;
    let mut found = ShardSet::default();
    let mut out = ShardsRead {
        positions: Positions::new(),
        newest: HashMap::new(),
    };
    for (shard, sealed) in rows {
        let version = versions.get(usize::from(shard)).copied().unwrap_or(0);
        if version == 0 {
            return Err(corrupt(
                path,
                format!("it holds result positions for shard {shard}, which the vault never wrote"),
            ));
        }
        let plain = key
            .open(&sealed, &shard_aad(vault_id, shard, version))
            .map_err(|_| {
                corrupt(
                    path,
                    format!("the result positions of shard {shard} failed authentication (an older or moved copy)"),
                )
            })?;
        let undecodable = || {
            corrupt(
                path,
                format!("the result positions of shard {shard} cannot be decoded"),
            )
        };
        let entries: Vec<(RecordId, Position, Option<Vec<u8>>)> =
            postcard::from_bytes(&plain).map_err(|_| undecodable())?;
        for (id, position, latest) in entries {
            let latest = match latest {
                Some(bytes) => Some(results::decode_latest(&bytes).ok_or_else(undecodable)?),
                None => None,
            };
            out.positions.insert(id.clone(), position);
            out.newest.insert(id, latest);
        }
        found.insert(shard);
    }
    let expected = which.copied().unwrap_or_else(ShardSet::all);
    if let Some(missing) = expected
        .iter()
        .find(|s| versions[usize::from(*s)] > 0 && !found.contains(*s))
    {
        return Err(corrupt(
            path,
            format!("the result positions of shard {missing} are missing"),
        ));
    }
    Ok(out)
}
