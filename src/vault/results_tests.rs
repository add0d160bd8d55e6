//! The history ring and the sequence numbers through a real vault file: the ring's bounds and
//! order, its integrity checks, cleanup on delete, and the migrations of format-1 and format-2
//! vaults.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, ReadableTableMetadata};

use super::kdf;
use super::tables::*;
use super::{crypto, header::Header, Vault, VaultError};
use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::{Credential, Environment, RecordId, Status, Verification, HISTORY_LIMIT};

const PASS: &[u8] = b"correct horse";

fn credential(workspace: &RecordId) -> Credential {
    Credential {
        id: crypto::fresh_id(),
        workspace: workspace.clone(),
        component: "stripe".into(),
        name: "billing".into(),
        environment: Environment::Production,
        public: BTreeMap::new(),
        secrets: SecretFields::new(),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        last_verification: None,
    }
}

fn result(n: i64) -> Verification {
    Verification {
        status: if n % 2 == 0 {
            Status::Verified
        } else {
            Status::Rejected
        },
        reason: format!("result {n}"),
        detail: None,
        latency_ms: Some(n as u64),
        at: Timestamp(n),
        run: None,
        tls: None,
    }
}

/// Adds `v` to `id`'s history as a new entry.
fn add(vault: &mut Vault, id: &RecordId, v: &Verification) {
    vault.write_results(|batch| batch.add(id, v)).unwrap();
}

/// A vault with one credential that has `results` results recorded one by one.
fn vault_with_results(dir: &std::path::Path, results: i64) -> (Vault, Credential) {
    let mut vault = Vault::create(&dir.join("v.redb"), PASS, kdf::FLOOR, 0).unwrap();
    let c = credential(&crypto::fresh_id());
    vault.save_verified(&c, None).unwrap();
    for n in 0..results {
        add(&mut vault, &c.id, &result(n));
    }
    (vault, c)
}

fn reasons(history: &[Verification]) -> Vec<String> {
    history.iter().map(|v| v.reason.clone()).collect()
}

#[test]
fn the_history_keeps_the_newest_results_newest_first_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, c) = vault_with_results(dir.path(), HISTORY_LIMIT as i64 + 5);
    let history = vault.history(&c.id).unwrap();
    let expected: Vec<String> = (5..HISTORY_LIMIT as i64 + 5)
        .rev()
        .map(|n| format!("result {n}"))
        .collect();
    assert_eq!(reasons(&history), expected);
    let path = vault.path().to_path_buf();
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.history(&c.id).unwrap(), history);
    // The latest result comes with the snapshot; the next result continues the sequence.
    assert_eq!(
        snapshot.credentials[0].last_verification.as_ref(),
        history.first()
    );
    let mut vault = vault;
    add(&mut vault, &c.id, &result(99));
    let after = vault.history(&c.id).unwrap();
    assert_eq!(after[0].reason, "result 99");
    assert_eq!(after[1..], history[..HISTORY_LIMIT - 1]);
}

#[test]
fn deleting_a_credential_removes_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, c) = vault_with_results(dir.path(), 3);
    let kept = credential(&c.workspace);
    vault.save_verified(&kept, None).unwrap();
    add(&mut vault, &kept.id, &result(1));
    vault.delete_credential(&c.id).unwrap();
    assert!(vault.history(&c.id).unwrap().is_empty());
    {
        let txn = vault.db().begin_read().unwrap();
        assert_eq!(txn.open_table(HISTORY).unwrap().len().unwrap(), 1);
    }
    // The sequence numbers no longer name it (they would make open look for its results), and
    // the other credential keeps its own.
    let path = vault.path().to_path_buf();
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.positions.len(), 1);
    assert_eq!(snapshot.credentials.len(), 1);
    assert_eq!(snapshot.credentials[0].last_verification, Some(result(1)));
}

#[test]
fn a_missing_or_replayed_history_entry_is_reported_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, c) = vault_with_results(dir.path(), 1);
    let id = c.id.as_str();
    let first = {
        let txn = vault.db().begin_read().unwrap();
        let table = txn.open_table(HISTORY).unwrap();
        let bytes = table.get((0, id)).unwrap().unwrap().value().to_vec();
        bytes
    };
    // Result number HISTORY_LIMIT overwrites slot 0; putting the old entry back is a replay.
    for n in 1..=HISTORY_LIMIT as i64 {
        add(&mut vault, &c.id, &result(n));
    }
    put_history(&vault, id, 0, Some(&first));
    let err = vault.history(&c.id).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("history entry 20") && detail.contains("holds entry 0 instead")),
        "{err}"
    );
    put_history(&vault, id, 0, None);
    let err = vault.history(&c.id).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("is missing")),
        "{err}"
    );
    // An entry moved to another slot is out of sequence.
    let slot5 = {
        let txn = vault.db().begin_read().unwrap();
        let table = txn.open_table(HISTORY).unwrap();
        let bytes = table.get((5, id)).unwrap().unwrap().value().to_vec();
        bytes
    };
    put_history(&vault, id, 0, Some(&slot5));
    let err = vault.history(&c.id).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("holds entry 5 instead")),
        "{err}"
    );
    // A sequence number edited to fit the slot fails authentication (it is in the AAD).
    let mut forged = slot5.clone();
    forged[..8].copy_from_slice(&20u64.to_be_bytes());
    put_history(&vault, id, 0, Some(&forged));
    let err = vault.history(&c.id).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("failed authentication")),
        "{err}"
    );
    // Another credential's entry fails authentication too (the credential is in the AAD).
    let other = credential(&c.workspace);
    vault.save_verified(&other, None).unwrap();
    add(&mut vault, &other.id, &result(7));
    let theirs = {
        let txn = vault.db().begin_read().unwrap();
        let table = txn.open_table(HISTORY).unwrap();
        let bytes = table
            .get((0, other.id.as_str()))
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        bytes
    };
    let mut moved = theirs;
    moved[..8].copy_from_slice(&20u64.to_be_bytes());
    put_history(&vault, id, 0, Some(&moved));
    assert!(matches!(
        vault.history(&c.id).unwrap_err(),
        VaultError::Corrupt { detail, .. } if detail.contains("failed authentication")
    ));
}

/// Overwrites (or removes) one history entry behind the vault's back.
fn put_history(vault: &Vault, id: &str, slot: u8, bytes: Option<&[u8]>) {
    vault
        .write(|txn| {
            let mut t = txn.open_table(HISTORY)?;
            match bytes {
                Some(b) => t.insert((slot, id), b)?,
                None => t.remove((slot, id))?,
            };
            Ok(())
        })
        .unwrap()
}

/// Turns `vault` back into one of format `format`: its header says so and `older` makes the
/// tables look as that format left them, in one transaction. Then reopens it (which migrates
/// it) and checks that it is at the current format.
fn reopened_from_format(
    vault: Vault,
    format: u32,
    older: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
) -> (Vault, crate::core::Snapshot) {
    let mut header: Header = vault.header.clone();
    header.format = format;
    vault
        .write(|txn| {
            txn.open_table(META)?
                .insert(HEADER_KEY, header.encode().as_slice())?;
            older(txn)
        })
        .unwrap();
    let path = vault.path().to_path_buf();
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.header.format, super::header::FORMAT);
    (vault, snapshot)
}

/// Writes `c` as format 1 did: the latest result and the history inside the record.
fn put_format1_record(vault: &Vault, c: &Credential, history: &[Verification]) {
    let mut json = serde_json::to_value(c).unwrap();
    json["last_verification"] = serde_json::to_value(&history[0]).unwrap();
    json["history"] = serde_json::to_value(history).unwrap();
    let plain = serde_json::to_vec(&json).unwrap();
    let sealed = vault.key.seal(
        &plain,
        &crypto::record_aad(vault.vault_id(), CREDENTIALS_NAME, c.id.as_str()),
    );
    vault
        .write(|txn| {
            txn.open_table(CREDENTIALS)?
                .insert(c.id.as_str(), sealed.as_slice())?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_format1_vault_is_migrated_once_with_its_histories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.redb");
    let vault = Vault::create(&path, PASS, kdf::FLOOR, 0).unwrap();
    let c = credential(&crypto::fresh_id());
    let history: Vec<Verification> = (0..5).rev().map(result).collect();
    put_format1_record(&vault, &c, &history);
    // Back to format 1: its header, and no results tables.
    let (vault, snapshot) = reopened_from_format(vault, 1, |txn| {
        txn.delete_table(HISTORY)?;
        txn.delete_table(SEQUENCES)?;
        Ok(())
    });
    assert_eq!(
        snapshot.credentials[0].last_verification.as_ref(),
        Some(&history[0])
    );
    assert_eq!(vault.history(&c.id).unwrap(), history);
    // The record was rewritten without the embedded results.
    let txn = vault.db().begin_read().unwrap();
    let sealed = txn
        .open_table(CREDENTIALS)
        .unwrap()
        .get(c.id.as_str())
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    let plain = vault
        .key
        .open(
            &sealed,
            &crypto::record_aad(vault.vault_id(), CREDENTIALS_NAME, c.id.as_str()),
        )
        .unwrap();
    let text = String::from_utf8(plain.to_vec()).unwrap();
    assert!(!text.contains("history") && !text.contains("last_verification"));
    drop(txn);
    drop(vault);
    // Opening again finds the current format and the same state.
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.history(&c.id).unwrap(), history);
    assert_eq!(
        snapshot.credentials[0].last_verification.as_ref(),
        Some(&history[0])
    );
}

/// One stored history entry, as bytes.
fn stored(vault: &Vault, id: &str, slot: u8) -> Option<Vec<u8>> {
    let txn = vault.db().begin_read().unwrap();
    let table = txn.open_table(HISTORY).unwrap();
    let bytes = table.get((slot, id)).unwrap().map(|b| b.value().to_vec());
    bytes
}

fn corrupt_detail(err: VaultError) -> String {
    match err {
        VaultError::Corrupt { detail, .. } => detail,
        other => panic!("expected damage, got {other}"),
    }
}

#[test]
fn open_reads_each_newest_entry_and_refuses_a_rolled_back_or_unsequenced_ring() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, c) = vault_with_results(dir.path(), 5);
    let (path, id) = (vault.path().to_path_buf(), c.id.clone());
    let id = id.as_str();
    let entry4 = stored(&vault, id, 4).unwrap();
    // 20 more: the ring wraps, so the newest (24) overwrites entry 4 in slot 4.
    for n in 5..HISTORY_LIMIT as i64 + 5 {
        add(&mut vault, &c.id, &result(n));
    }
    let newest = stored(&vault, id, 4).unwrap();
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(
        snapshot.credentials[0].last_verification,
        Some(result(HISTORY_LIMIT as i64 + 4))
    );
    // Entry 4 put back where 24 is: the ring now reads exactly as it did one result earlier,
    // which no entry-by-entry check can tell from the real thing. The sequence numbers can.
    put_history(&vault, id, 4, Some(&entry4));
    drop(vault);
    let detail = corrupt_detail(Vault::open_and_load(&path, PASS).unwrap_err());
    assert!(
        detail.contains("history entry 24") && detail.contains("holds entry 4 instead"),
        "{detail}"
    );
    // The refusal changed nothing: with the real entry back, the vault opens as before.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(HISTORY)
            .unwrap()
            .insert((4, id), newest.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let (vault, again) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(
        again.credentials[0].last_verification,
        snapshot.credentials[0].last_verification
    );
    assert_eq!(vault.history(&c.id).unwrap().len(), HISTORY_LIMIT);

    // Sequence numbers that fail authentication, or none at all beside a non-empty ring.
    let sealed = {
        let txn = vault.db().begin_read().unwrap();
        let t = txn.open_table(SEQUENCES).unwrap();
        let bytes = t.get(SEQUENCES_KEY).unwrap().unwrap().value().to_vec();
        bytes
    };
    let mut flipped = sealed.clone();
    flipped[crypto::NONCE_LEN] ^= 1;
    let set = |bytes: Option<&[u8]>| {
        vault
            .write(|txn| {
                let mut t = txn.open_table(SEQUENCES)?;
                match bytes {
                    Some(b) => t.insert(SEQUENCES_KEY, b)?,
                    None => t.remove(SEQUENCES_KEY)?,
                };
                Ok(())
            })
            .unwrap()
    };
    set(Some(&flipped));
    let detail = corrupt_detail(vault.load().unwrap_err());
    assert_eq!(detail, "the result sequence numbers failed authentication");
    set(None);
    let detail = corrupt_detail(vault.load().unwrap_err());
    assert!(
        detail.contains("history entries have no sequence numbers"),
        "{detail}"
    );
    set(Some(&sealed));
    assert!(vault.load().is_ok());
}

#[test]
fn a_format2_vault_is_migrated_without_losing_a_latest_result() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, c) = vault_with_results(dir.path(), 7);
    let id = c.id.as_str();
    let history = vault.history(&c.id).unwrap();
    let newest = stored(&vault, id, 6).unwrap();
    // Format 2: no sequence numbers, and a copy of each latest result in a table of its own.
    // Here the ring has also lost that newest entry: the copy is all that is left of it.
    let (mut vault, snapshot) = reopened_from_format(vault, 2, |txn| {
        txn.delete_table(SEQUENCES)?;
        txn.open_table(FORMAT2_LATEST)?
            .insert(id, newest.as_slice())?;
        txn.open_table(HISTORY)?.remove((6, id))?;
        Ok(())
    });
    let path = vault.path().to_path_buf();
    assert_eq!(snapshot.credentials[0].last_verification, Some(result(6)));
    assert_eq!(stored(&vault, id, 6), Some(newest));
    assert_eq!(vault.history(&c.id).unwrap(), history);
    {
        let txn = vault.db().begin_read().unwrap();
        assert!(matches!(
            txn.open_table(FORMAT2_LATEST),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
    // The sequence continues after the migrated latest result, and a reopen agrees.
    add(&mut vault, &c.id, &result(7));
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(snapshot.credentials[0].last_verification, Some(result(7)));
    assert_eq!(vault.history(&c.id).unwrap()[1..], history[..]);
}

/// A recheck of `id` that found `v`, its newest result so far being `newest`.
fn recheck(vault: &mut Vault, id: &RecordId, v: &Verification, newest: Option<&Verification>) {
    let mut newest = newest.cloned();
    vault
        .write_results(|batch| batch.recheck(id, &mut newest, v.clone()))
        .unwrap();
}

fn ring_len(vault: &Vault) -> u64 {
    let txn = vault.db().begin_read().unwrap();
    txn.open_table(HISTORY).unwrap().len().unwrap()
}

/// `v` with `count` checks from `first` to its own time.
fn run_of(v: &Verification, first: i64, count: u32) -> Verification {
    Verification {
        run: Some(crate::core::Run {
            first: Timestamp(first),
            count,
        }),
        ..v.clone()
    }
}

#[test]
fn repeated_rechecks_extend_one_run_and_a_change_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, c) = vault_with_results(dir.path(), 1);
    let path = vault.path().to_path_buf();
    let first = result(0);
    // The same result (status, reason, detail) twice more, with other times and latencies.
    let again = |at: i64| Verification {
        latency_ms: Some(40 + at as u64),
        at: Timestamp(at),
        ..first.clone()
    };
    recheck(&mut vault, &c.id, &again(10), Some(&first));
    let mut newest = run_of(&again(10), 0, 2);
    recheck(&mut vault, &c.id, &again(20), Some(&newest));
    newest = run_of(&again(20), 0, 3);
    assert_eq!(ring_len(&vault), 1, "repeats write no history entry");
    assert_eq!(vault.history(&c.id).unwrap(), [newest.clone()]);
    drop(vault);

    // The run, its latest time and latency come back from the sequence record.
    let (mut vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(
        snapshot.credentials[0].last_verification,
        Some(newest.clone())
    );
    assert_eq!(vault.history(&c.id).unwrap(), [newest.clone()]);

    // A different result is a new entry, which keeps the run's final state.
    let changed = result(31);
    recheck(&mut vault, &c.id, &changed, Some(&newest));
    assert_eq!(ring_len(&vault), 2);
    drop(vault);
    let (mut vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(
        snapshot.credentials[0].last_verification,
        Some(changed.clone())
    );
    assert_eq!(
        vault.history(&c.id).unwrap(),
        [changed.clone(), newest.clone()]
    );

    // A saved version's result is always a new entry, even the same result again.
    let saved = Verification {
        at: Timestamp(40),
        ..changed.clone()
    };
    vault.save_verified(&c, Some(&saved)).unwrap();
    assert_eq!(
        vault.history(&c.id).unwrap(),
        [saved.clone(), changed, newest]
    );
}

#[test]
fn a_save_after_a_run_ends_it_with_one_insert() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, c) = vault_with_results(dir.path(), 1);
    let first = result(0);
    let later = Verification {
        at: Timestamp(9),
        ..first.clone()
    };
    recheck(&mut vault, &c.id, &later, Some(&first));
    let run = run_of(&later, 0, 2);
    let head = stored(&vault, c.id.as_str(), 0);
    vault.save_verified(&c, Some(&result(11))).unwrap();
    // Ending the run is one insert: the new entry holds the run's final state, and the run's
    // own entry stays as it was written.
    assert_eq!(ring_len(&vault), 2);
    assert_eq!(stored(&vault, c.id.as_str(), 0), head);
    let path = vault.path().to_path_buf();
    drop(vault);
    let (vault, _) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.history(&c.id).unwrap(), [result(11), run]);
}

#[test]
fn a_format3_vault_is_migrated_and_its_entries_read_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, c) = vault_with_results(dir.path(), 3);
    let id = c.id.as_str();
    let history = vault.history(&c.id).unwrap();
    // Format 3: entries encoded without a run (version byte 1), and a sequence record of
    // bare numbers.
    let vault_id = vault.vault_id().to_string();
    let old_entry = |seq: u64| {
        let v = result(seq as i64);
        let plain = [
            &[1u8][..],
            &postcard::to_allocvec(&(v.status, &v.reason, &v.detail, v.latency_ms, v.at)).unwrap(),
        ]
        .concat();
        let aad = crypto::record_aad(&vault_id, RESULTS_NAME, &format!("{id}/{seq}"));
        [&seq.to_be_bytes()[..], &vault.key.seal(&plain, &aad)].concat()
    };
    let numbers = postcard::to_allocvec(&vec![(id, 3u64)]).unwrap();
    let sequences = vault.key.seal(
        &numbers,
        &crypto::record_aad(&vault_id, SEQUENCES_NAME, SEQUENCES_KEY),
    );
    let old_entries: Vec<Vec<u8>> = (0..3).map(old_entry).collect();
    let (vault, snapshot) = reopened_from_format(vault, 3, |txn| {
        txn.open_table(SEQUENCES)?
            .insert(SEQUENCES_KEY, sequences.as_slice())?;
        let mut ring = txn.open_table(HISTORY)?;
        for (seq, entry) in old_entries.iter().enumerate() {
            ring.insert((seq as u8, id), entry.as_slice())?;
        }
        Ok(())
    });
    let path = vault.path().to_path_buf();
    assert_eq!(snapshot.credentials[0].last_verification, Some(result(2)));
    assert_eq!(vault.history(&c.id).unwrap(), history);
    // The migration itself rewrote the sequence record: it reads as format 4 now.
    drop(vault);
    let (mut vault, _) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(vault.history(&c.id).unwrap(), history);
    // The old newest entry heads a run like any other, and the record now holds runs.
    recheck(
        &mut vault,
        &c.id,
        &Verification {
            at: Timestamp(5),
            ..result(2)
        },
        Some(&result(2)),
    );
    drop(vault);
    let (vault, snapshot) = Vault::open_and_load(&path, PASS).unwrap();
    let run = run_of(
        &Verification {
            at: Timestamp(5),
            ..result(2)
        },
        2,
        2,
    );
    assert_eq!(snapshot.credentials[0].last_verification, Some(run.clone()));
    assert_eq!(vault.history(&c.id).unwrap()[0], run);
    assert_eq!(vault.history(&c.id).unwrap()[1..], history[1..]);
}
