//! The team vault's change log: an append-only table (`keyway_change_log`: sequence, time,
//! sealed entry) of who did what. Each entry is sealed like the records (AES-256-GCM under the
//! data key, AAD = vault, "change-log", sequence), so the names it holds stay hidden from the
//! server, and carries the hash of the entry before it: SHA-256 over the previous entry's
//! plaintext, a chain a database administrator cannot rebuild without the key. The chain's head
//! (sequence and hash) is sealed with the record digest (digest.rs), which every commit
//! rewrites, so deleting the newest entries is noticed too.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crypto::{self, DataKey};
use super::VaultError;

/// Where the chain stands: the newest entry's sequence number and hash (0 and zeros: empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    pub seq: u64,
    pub hash: [u8; 32],
}

/// One entry, as a member reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub member: String,
    pub action: String,
    pub workspace: Option<String>,
    pub target: Option<String>,
    /// The record's id, for a change of one.
    pub record: Option<String>,
    pub revision: Option<u64>,
    pub at: i64,
    /// Hex SHA-256 of the previous entry's plaintext (zeros for the first).
    pub prev: String,
}

/// An entry about to be appended (its sequence and chain filled in at commit).
#[derive(Debug, Clone)]
pub struct Pending {
    pub action: &'static str,
    pub workspace: Option<String>,
    pub target: Option<String>,
    pub record: Option<String>,
    pub revision: Option<u64>,
}

fn aad(vault_id: &str, seq: u64) -> Vec<u8> {
    crypto::record_aad(vault_id, "change-log", &seq.to_string())
}

fn hash(plain: &[u8]) -> [u8; 32] {
    Sha256::digest(plain).into()
}

/// Seals `pending` as the entries after `head`; returns them (sequence, time, sealed) and the
/// new head.
pub fn seal_after(
    key: &DataKey,
    vault_id: &str,
    head: Head,
    member: &str,
    at: i64,
    pending: &[Pending],
) -> (Vec<(u64, i64, Vec<u8>)>, Head) {
    let mut head = head;
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        let entry = Entry {
            seq: head.seq + 1,
            member: member.to_string(),
            action: p.action.to_string(),
            workspace: p.workspace.clone(),
            target: p.target.clone(),
            record: p.record.clone(),
            revision: p.revision,
            at,
            prev: hex::encode(head.hash),
        };
        // A struct of strings and numbers always serializes.
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&entry).unwrap_or_default());
        out.push((entry.seq, at, key.seal(&plain, &aad(vault_id, entry.seq))));
        head = Head {
            seq: entry.seq,
            hash: hash(&plain),
        };
    }
    (out, head)
}

/// Why the chain is broken: the first bad entry and what is wrong with it.
pub fn broken(path: &std::path::Path, seq: u64, why: &str) -> VaultError {
    VaultError::LogBroken {
        path: path.to_path_buf(),
        seq,
        why: why.to_string(),
    }
}

/// Opens and checks the whole chain (`stored`: sequence and sealed bytes in sequence order)
/// against `head`; the first bad entry is named.
pub fn verify(
    path: &std::path::Path,
    key: &DataKey,
    vault_id: &str,
    head: Head,
    stored: &[(u64, Vec<u8>)],
) -> Result<Vec<Entry>, VaultError> {
    let mut running = Head::default();
    let mut entries = Vec::with_capacity(stored.len());
    for (seq, sealed) in stored {
        let expected = running.seq + 1;
        if *seq != expected {
            return Err(broken(
                path,
                expected,
                "it is missing (deleted outside keyway)",
            ));
        }
        let plain = key.open(sealed, &aad(vault_id, *seq)).map_err(|_| {
            broken(
                path,
                *seq,
                "it fails authentication (edited outside keyway)",
            )
        })?;
        let entry: Entry = serde_json::from_slice(&plain)
            .map_err(|_| broken(path, *seq, "it cannot be decoded"))?;
        if entry.seq != *seq || entry.prev != hex::encode(running.hash) {
            return Err(broken(
                path,
                *seq,
                "it does not follow the entry before it (an entry was replaced outside keyway)",
            ));
        }
        running = Head {
            seq: *seq,
            hash: hash(&plain),
        };
        entries.push(entry);
    }
    if running != head {
        let first_missing = running.seq + 1;
        return Err(if head.seq > running.seq {
            broken(
                path,
                first_missing,
                "the newest entries are missing (deleted outside keyway)",
            )
        } else {
            broken(path, head.seq.max(1), "the chain's head does not match it")
        });
    }
    Ok(entries)
}

/// The entries re-sealed under `new` (a re-key): the plaintexts, and so the chain, unchanged.
pub fn reseal(
    path: &std::path::Path,
    old: &DataKey,
    new: &DataKey,
    vault_id: &str,
    stored: &[(u64, Vec<u8>)],
) -> Result<Vec<(u64, Vec<u8>)>, VaultError> {
    stored
        .iter()
        .map(|(seq, sealed)| {
            let plain = old.open(sealed, &aad(vault_id, *seq)).map_err(|_| {
                broken(
                    path,
                    *seq,
                    "it fails authentication (edited outside keyway)",
                )
            })?;
            Ok((*seq, new.seal(&plain, &aad(vault_id, *seq))))
        })
        .collect()
}

/// The head as the digest blob keeps it: seq (8 bytes, big-endian) || hash.
pub fn encode_head(head: Head) -> Vec<u8> {
    let mut out = head.seq.to_be_bytes().to_vec();
    out.extend_from_slice(&head.hash);
    out
}

pub fn decode_head(bytes: &[u8]) -> Option<Head> {
    if bytes.is_empty() {
        return Some(Head::default());
    }
    if bytes.len() != 40 {
        return None;
    }
    let seq = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    let hash: [u8; 32] = bytes[8..].try_into().ok()?;
    Some(Head { seq, hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_verifies_and_names_its_first_bad_entry() {
        let (key, _) = DataKey::generate();
        let path = std::path::Path::new("postgresql://x@h/db");
        let p = |target: &str| Pending {
            action: "workspace added",
            workspace: None,
            target: Some(target.into()),
            record: None,
            revision: Some(1),
        };
        let (first, head) = seal_after(&key, "v", Head::default(), "alice", 1, &[p("a"), p("b")]);
        let (more, head) = seal_after(&key, "v", head, "bob", 2, &[p("c")]);
        let stored: Vec<(u64, Vec<u8>)> = first
            .into_iter()
            .chain(more)
            .map(|(s, _, b)| (s, b))
            .collect();
        let entries = verify(path, &key, "v", head, &stored).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].member, "bob");
        let bad = |stored: &[(u64, Vec<u8>)]| match verify(path, &key, "v", head, stored) {
            Err(VaultError::LogBroken { seq, .. }) => seq,
            other => panic!("{other:?}"),
        };
        // A middle entry deleted, the newest deleted, one edited.
        assert_eq!(bad(&[stored[0].clone(), stored[2].clone()]), 2);
        assert_eq!(bad(&stored[..2]), 3);
        let mut edited = stored.clone();
        edited[1].1[20] ^= 1;
        assert_eq!(bad(&edited), 2);
        // Re-sealed under a new key: the same chain.
        let (new, _) = DataKey::generate();
        let resealed = reseal(path, &key, &new, "v", &stored).unwrap();
        assert_eq!(verify(path, &new, "v", head, &resealed).unwrap(), entries);
        assert_eq!(decode_head(&encode_head(head)), Some(head));
    }
}
