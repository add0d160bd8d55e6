//! The record digest: what a storage whose rows can be edited one by one by someone without the
//! key (the team vault's database administrator) keeps beside the key slots, sealed under the
//! data key and rewritten by every commit. Each record's own associated data already binds its
//! table, id and revision, so a ciphertext moved to another row fails to open; what the digest
//! adds is the set: a row rolled back to an older revision (an older ciphertext that still
//! opens), a row deleted, or a deleted one put back, each makes the stored records disagree
//! with the digest. It also holds the change log's head (changelog.rs) and the version of each
//! shard of result positions (sequences.rs), so neither can be rolled back either.
//!
//! Since schema 3 the digest is kept per shard: every record and every credential's result
//! position belongs to one of `SHARDS` shards by its id, and the digest holds one SHA-256 per
//! shard over that shard's (table, id, revision) set. A commit recomputes only the shards it
//! touched and rewrites only the position shards that moved, where the first format hashed and
//! sorted every id of the vault, and sealed every credential's position, at each save (most of
//! a save's time in a vault of 10,000 credentials, BENCHMARKS.md, team vault). The first
//! format (one digest over all records, the positions in one record) is still read; the
//! first write after it converts the vault.

use std::hash::Hasher;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::changelog::{self, Head};
use super::crypto::{self, DataKey};
use super::storage::Table;
use crate::core::Snapshot;

/// How many shards the records and positions are kept in: with 10,000 credentials, a shard of
/// positions is some 40 entries (about 2 KB sealed), and the digest 10 KB.
pub(crate) const SHARDS: usize = 256;

/// The shard of the record or credential `id`: stable across versions and hosts (the shard is
/// part of what is stored), and cheap, as a commit computes it for every record. keyway's own
/// ids are 32 hex digits of random bytes (`RecordId::from_bytes`), so their first byte is
/// already uniform; any other id (an import's, a crafted one) is hashed with FNV-1a. It
/// carries no security: a crafted id only makes its shard bigger.
pub(crate) fn shard_of(id: &str) -> u8 {
    if let [high, low, ..] = id.as_bytes() {
        if let (Some(high), Some(low)) = (hex_digit(*high), hex_digit(*low)) {
            return high << 4 | low;
        }
    }
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(id.as_bytes());
    let h = hasher.finish();
    (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24) ^ (h >> 32) ^ (h >> 40) ^ (h >> 48) ^ (h >> 56)) as u8
}

/// The value of a lowercase hex digit (the form `RecordId::from_bytes` writes).
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// A set of shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ShardSet([u64; SHARDS / 64]);

impl ShardSet {
    pub(crate) fn all() -> ShardSet {
        ShardSet([u64::MAX; SHARDS / 64])
    }

    pub(crate) fn insert(&mut self, shard: u8) {
        self.0[usize::from(shard) / 64] |= 1 << (shard % 64);
    }

    pub(crate) fn add_id(&mut self, id: &str) {
        self.insert(shard_of(id));
    }

    pub(crate) fn contains(&self, shard: u8) -> bool {
        self.0[usize::from(shard) / 64] & (1 << (shard % 64)) != 0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(|s| self.contains(*s))
    }
}

/// What the sealed digest holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Digest {
    /// Each shard's SHA-256 over its records' (table, id, revision), `SHARDS` of them.
    pub records: Vec<[u8; 32]>,
    /// Each shard's position record version (0: none was written), `SHARDS` of them.
    pub positions: Vec<u64>,
    pub head_seq: u64,
    pub head_hash: [u8; 32],
    /// Read from the first format: the first write converts the vault (every position shard
    /// written, the old positions record dropped). Never stored.
    #[serde(skip)]
    pub first_format: bool,
}

impl Digest {
    /// The digest of `snapshot`'s records, with no position shard written yet.
    pub(crate) fn of(snapshot: &Snapshot, head: Head) -> Digest {
        let mut records = vec![[0u8; 32]; SHARDS];
        for (shard, digest) in shard_digests(snapshot, &ShardSet::all()) {
            records[usize::from(shard)] = digest;
        }
        Digest {
            records,
            positions: vec![0; SHARDS],
            head_seq: head.seq,
            head_hash: head.hash,
            first_format: false,
        }
    }

    pub(crate) fn head(&self) -> Head {
        Head {
            seq: self.head_seq,
            hash: self.head_hash,
        }
    }

    pub(crate) fn set_head(&mut self, head: Head) {
        self.head_seq = head.seq;
        self.head_hash = head.hash;
    }

    /// Recomputes the record digests of the shards in `touched` from `snapshot`.
    pub(crate) fn update(&mut self, snapshot: &Snapshot, touched: &ShardSet) {
        if touched.is_empty() {
            return;
        }
        for (shard, digest) in shard_digests(snapshot, touched) {
            self.records[usize::from(shard)] = digest;
        }
    }

    /// Whether the stored digest names the records this one was computed from; the error says
    /// what is wrong.
    pub(crate) fn check_records(&self, stored: &Digest) -> Result<(), String> {
        if self.records != stored.records {
            return Err(SET_MISMATCH.into());
        }
        Ok(())
    }
}

const SET_MISMATCH: &str = "its records are not the set the vault last wrote: a record was deleted, added or rolled back to an older revision outside keyway";

/// The record digest of each shard in `wanted`, from one pass over the snapshot.
fn shard_digests(snapshot: &Snapshot, wanted: &ShardSet) -> Vec<(u8, [u8; 32])> {
    let mut members: Vec<Vec<(u8, &str, u64)>> = vec![Vec::new(); SHARDS];
    for (table, records) in tables(snapshot) {
        let tag = table_tag(table)[0];
        for (id, revision) in records {
            let shard = shard_of(id);
            if wanted.contains(shard) {
                members[usize::from(shard)].push((tag, id, revision));
            }
        }
    }
    wanted
        .iter()
        .map(|shard| {
            let entries = &mut members[usize::from(shard)];
            entries.sort_unstable();
            let mut hasher = Sha256::new();
            hasher.update((entries.len() as u64).to_be_bytes());
            for (table, id, revision) in entries.iter() {
                hasher.update([*table]);
                hasher.update((id.len() as u64).to_be_bytes());
                hasher.update(id.as_bytes());
                hasher.update(revision.to_be_bytes());
            }
            (shard, hasher.finalize().into())
        })
        .collect()
}

type Records<'s> = Box<dyn Iterator<Item = (&'s str, u64)> + 's>;

/// Each table's records as (id, revision). Written out for the three tables rather than through
/// `records::Record`, which would make this module and the journal (which keeps a digest to
/// put back) import each other.
fn tables(snapshot: &Snapshot) -> [(Table, Records<'_>); 3] {
    [
        (
            Table::Workspaces,
            Box::new(
                snapshot
                    .workspaces
                    .iter()
                    .map(|w| (w.id.as_str(), w.revision.number)),
            ),
        ),
        (
            Table::Credentials,
            Box::new(
                snapshot
                    .credentials
                    .iter()
                    .map(|c| (c.id.as_str(), c.revision.number)),
            ),
        ),
        (
            Table::Flows,
            Box::new(
                snapshot
                    .flows
                    .iter()
                    .map(|f| (f.id.as_str(), f.revision.number)),
            ),
        ),
    ]
}

fn aad(vault_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, "record-digest", "v2")
}

/// The sealed digest.
pub(crate) fn seal(key: &DataKey, vault_id: &str, digest: &Digest) -> Vec<u8> {
    // A struct of numbers and byte arrays always encodes; if it did not, the digest would be
    // left empty and read back as malformed.
    let plain = zeroize::Zeroizing::new(postcard::to_allocvec(digest).unwrap_or_default());
    key.seal(&plain, &aad(vault_id))
}

/// The stored digest, authenticated; a digest of the first format is given as its content
/// (one digest over every record, and the change log's head) for `check_first_format`.
pub(crate) enum Stored {
    Sharded(Digest),
    First { all: [u8; 32], head: Head },
}

impl Stored {
    pub(crate) fn head(&self) -> Head {
        match self {
            Stored::Sharded(d) => d.head(),
            Stored::First { head, .. } => *head,
        }
    }

    /// The digest of `snapshot`, if the stored one names its records (the error says what is
    /// wrong otherwise), with the stored position versions and head.
    pub(crate) fn check(self, snapshot: &Snapshot) -> Result<Digest, String> {
        match self {
            Stored::Sharded(stored) => {
                let mut mine = Digest::of(snapshot, stored.head());
                mine.check_records(&stored)?;
                mine.positions = stored.positions;
                Ok(mine)
            }
            Stored::First { all, head } => {
                check_first_format(&all, snapshot)?;
                let mut mine = Digest::of(snapshot, head);
                mine.first_format = true;
                Ok(mine)
            }
        }
    }
}

/// Opens the sealed digest, of either format; the error says what is wrong.
pub(crate) fn open(key: &DataKey, vault_id: &str, sealed: Option<&[u8]>) -> Result<Stored, String> {
    let Some(sealed) = sealed else {
        return Err("its record digest is missing".into());
    };
    if let Ok(plain) = key.open(sealed, &aad(vault_id)) {
        let digest: Digest = postcard::from_bytes(&plain).map_err(|_| MALFORMED.to_string())?;
        if digest.records.len() != SHARDS || digest.positions.len() != SHARDS {
            return Err(MALFORMED.into());
        }
        return Ok(Stored::Sharded(digest));
    }
    let plain = key
        .open(sealed, &first_format_aad(vault_id))
        .map_err(|_| "its record digest failed authentication".to_string())?;
    let all: [u8; 32] = plain
        .get(..32)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| MALFORMED.to_string())?;
    let head = plain
        .get(32..)
        .and_then(changelog::decode_head)
        .ok_or_else(|| MALFORMED.to_string())?;
    Ok(Stored::First { all, head })
}

const MALFORMED: &str = "its record digest is malformed";

// ---- the first format --------------------------------------------------------------------------

fn first_format_aad(vault_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, "record-digest", "v1")
}

/// The first format's digest of the records `snapshot` holds: one SHA-256 over all of them.
fn first_format_of(snapshot: &Snapshot) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (table, records) in tables(snapshot) {
        add(&mut hasher, table, records);
    }
    hasher.finalize().into()
}

fn add<'a>(hasher: &mut Sha256, table: Table, records: impl Iterator<Item = (&'a str, u64)>) {
    let mut entries: Vec<(&str, u64)> = records.collect();
    entries.sort_unstable();
    hasher.update(table_tag(table));
    hasher.update((entries.len() as u64).to_be_bytes());
    for (id, revision) in entries {
        hasher.update((id.len() as u64).to_be_bytes());
        hasher.update(id.as_bytes());
        hasher.update(revision.to_be_bytes());
    }
}

/// Whether a first-format digest names `snapshot`'s records.
fn check_first_format(all: &[u8; 32], snapshot: &Snapshot) -> Result<(), String> {
    if first_format_of(snapshot) != *all {
        return Err(SET_MISMATCH.into());
    }
    Ok(())
}

/// A first-format digest, as schema 2 wrote it: what the upgrade tests start from.
#[cfg(test)]
pub(crate) fn seal_first_format(
    key: &DataKey,
    vault_id: &str,
    snapshot: &Snapshot,
    head: Head,
) -> Vec<u8> {
    let mut plain = first_format_of(snapshot).to_vec();
    plain.extend_from_slice(&changelog::encode_head(head));
    key.seal(&plain, &first_format_aad(vault_id))
}

fn table_tag(table: Table) -> [u8; 1] {
    match table {
        Table::Workspaces => [1],
        Table::Credentials => [2],
        Table::Flows => [3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{RecordId, Revision, Workspace};

    fn workspace(n: u8, revision: u64) -> Workspace {
        Workspace {
            id: RecordId::from_bytes([n; 16]),
            name: format!("w{n}"),
            created_at: Default::default(),
            revision: Revision {
                number: revision,
                ..Revision::default()
            },
        }
    }

    fn snapshot(revisions: &[u64]) -> Snapshot {
        Snapshot {
            workspaces: (0..)
                .zip(revisions)
                .map(|(n, r)| workspace(n, *r))
                .collect(),
            ..Snapshot::default()
        }
    }

    #[test]
    fn an_update_of_the_touched_shards_equals_a_digest_computed_afresh() {
        let before = snapshot(&[1, 1, 1, 1, 1, 1]);
        let mut digest = Digest::of(&before, Head::default());
        let after = snapshot(&[1, 1, 2, 1, 1]);
        let mut touched = ShardSet::default();
        touched.add_id(after.workspaces[2].id.as_str());
        touched.add_id(before.workspaces[5].id.as_str());
        digest.update(&after, &touched);
        assert_eq!(digest, Digest::of(&after, Head::default()));
        // An untouched change is what a check finds.
        assert!(digest
            .check_records(&Digest::of(&before, Head::default()))
            .is_err());
    }

    #[test]
    fn the_sealed_digest_opens_and_the_first_format_still_reads() {
        let (key, _) = DataKey::generate();
        let s = snapshot(&[1, 2, 3]);
        let head = Head {
            seq: 7,
            hash: [9; 32],
        };
        let mut digest = Digest::of(&s, head);
        digest.positions[3] = 5;
        let sealed = seal(&key, "v", &digest);
        match open(&key, "v", Some(&sealed)) {
            Ok(Stored::Sharded(d)) => assert_eq!(d, digest),
            _ => panic!("the sealed digest did not open"),
        }
        assert!(open(&key, "another vault", Some(&sealed)).is_err());
        let first = seal_first_format(&key, "v", &s, head);
        match open(&key, "v", Some(&first)) {
            Ok(Stored::First { all, head: h }) => {
                assert_eq!(h, head);
                assert!(check_first_format(&all, &s).is_ok());
                assert!(check_first_format(&all, &snapshot(&[1, 2])).is_err());
            }
            _ => panic!("the first format did not open"),
        }
    }

    #[test]
    fn the_shard_of_an_id_is_pinned() {
        // Stored: a change here would make every team vault's digest disagree with its records.
        assert_eq!(shard_of(RecordId::from_bytes([0xa7; 16]).as_str()), 0xa7);
        assert_eq!(shard_of("0f"), 0x0f);
        assert_eq!(shard_of("imported-7"), shard_of("imported-7"));
        assert_eq!(shard_of("imported-7"), 0xe1);
        assert_eq!(shard_of(""), shard_of(""));
    }

    #[test]
    fn shards_spread_ids_and_sets_hold_what_was_put() {
        let mut seen = ShardSet::default();
        for n in 0..=255u8 {
            seen.add_id(RecordId::from_bytes([n; 16]).as_str());
        }
        assert!(seen.iter().count() > 100, "ids crowd into few shards");
        let mut one = ShardSet::default();
        one.insert(200);
        assert_eq!(one.iter().collect::<Vec<_>>(), [200]);
        assert_eq!(ShardSet::all().iter().count(), SHARDS);
    }
}
