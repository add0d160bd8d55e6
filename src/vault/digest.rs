//! The record digest: SHA-256 over every record's (table, id, revision), in a fixed order,
//! sealed under the data key. A storage whose rows can be edited one by one by someone without
//! the key (the team vault's database administrator) keeps it beside the key slots, and every
//! commit rewrites it. Each record's own associated data already binds its table, id and
//! revision, so a ciphertext moved to another row fails to open; what the digest adds is the
//! set: a row rolled back to an older revision (an older ciphertext that still opens), a row
//! deleted, or a deleted one put back, each makes the stored records disagree with the digest.

use sha2::{Digest, Sha256};

use super::changelog::{self, Head};
use super::crypto::{self, DataKey};
use super::records::Record;
use super::storage::Table;
use crate::core::{Credential, Flow, Snapshot, Workspace};

fn aad(vault_id: &str) -> Vec<u8> {
    crypto::record_aad(vault_id, "record-digest", "v1")
}

/// The digest of the records `snapshot` holds.
pub(crate) fn of(snapshot: &Snapshot) -> [u8; 32] {
    let mut hasher = Sha256::new();
    add::<Workspace>(&mut hasher, snapshot);
    add::<Credential>(&mut hasher, snapshot);
    add::<Flow>(&mut hasher, snapshot);
    hasher.finalize().into()
}

fn add<T: Record>(hasher: &mut Sha256, snapshot: &Snapshot) {
    let mut entries: Vec<(&str, u64)> = T::all(snapshot)
        .iter()
        .map(|r| (r.id().as_str(), r.revision().number))
        .collect();
    entries.sort_unstable();
    hasher.update(table_tag(T::TABLE));
    hasher.update((entries.len() as u64).to_be_bytes());
    for (id, revision) in entries {
        hasher.update((id.len() as u64).to_be_bytes());
        hasher.update(id.as_bytes());
        hasher.update(revision.to_be_bytes());
    }
}

fn table_tag(table: Table) -> [u8; 1] {
    match table {
        Table::Workspaces => [1],
        Table::Credentials => [2],
        Table::Flows => [3],
    }
}

/// The sealed digest of `snapshot`'s records, with the change log's head (changelog.rs).
pub(crate) fn seal(key: &DataKey, vault_id: &str, snapshot: &Snapshot, head: Head) -> Vec<u8> {
    let mut plain = of(snapshot).to_vec();
    plain.extend_from_slice(&changelog::encode_head(head));
    key.seal(&plain, &aad(vault_id))
}

/// The change log's head the sealed digest holds.
pub(crate) fn open_head(key: &DataKey, vault_id: &str, sealed: &[u8]) -> Result<Head, String> {
    let stored = key
        .open(sealed, &aad(vault_id))
        .map_err(|_| "its record digest failed authentication".to_string())?;
    stored
        .get(32..)
        .and_then(changelog::decode_head)
        .ok_or_else(|| "its record digest is malformed".to_string())
}

/// Whether the sealed digest `sealed` is that of `snapshot`; the error says what is wrong.
pub(crate) fn check(
    key: &DataKey,
    vault_id: &str,
    sealed: Option<&[u8]>,
    snapshot: &Snapshot,
) -> Result<Head, String> {
    let Some(sealed) = sealed else {
        return Err("its record digest is missing".into());
    };
    let stored = key
        .open(sealed, &aad(vault_id))
        .map_err(|_| "its record digest failed authentication".to_string())?;
    if stored.get(..32) != Some(of(snapshot).as_slice()) {
        return Err(
            "its records are not the set the vault last wrote: a record was deleted, added or rolled back to an older revision outside keyway"
                .into(),
        );
    }
    stored
        .get(32..)
        .and_then(changelog::decode_head)
        .ok_or_else(|| "its record digest is malformed".to_string())
}
