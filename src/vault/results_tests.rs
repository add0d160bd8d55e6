//! The history ring and the sequence numbers through a real vault file: the ring's bounds and
//! order, its integrity checks, cleanup on delete, and the older formats (1 to 4): read as
//! they are, without a byte written, and migrated by the first write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::crypto::DataKey;
use super::kdf;
use super::tables::*;
use super::{crypto, file, header::Header, Vault, VaultError};
use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::Snapshot;
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
        revision: Default::default(),
        password_changed_at: None,
        pending_rotation: None,
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

/// A vault with its snapshot, written through the vault's own write path.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    vault: Vault,
    snapshot: Snapshot,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.redb");
        let vault = Vault::create(&path, PASS, kdf::FLOOR, 0).unwrap();
        Fixture {
            _dir: dir,
            path,
            vault,
            snapshot: Snapshot::default(),
        }
    }

    /// A fixture with one credential that has `results` results recorded one by one.
    fn with_results(results: i64) -> (Fixture, RecordId) {
        let mut fx = Fixture::new();
        let c = fx.save(credential(&crypto::fresh_id()), None);
        for n in 0..results {
            fx.add(&c, &result(n));
        }
        (fx, c)
    }

    fn reopen(&mut self) {
        let (vault, snapshot) = Vault::open_and_load(&self.path, PASS).unwrap();
        self.vault = vault;
        self.snapshot = snapshot;
    }

    /// Writes `c` (over the revision it carries) and, if given, a new result of it.
    fn save(&mut self, c: Credential, result: Option<&Verification>) -> RecordId {
        self.vault
            .write(&mut self.snapshot, |change| {
                let id = change.put_credential(c)?.id;
                if let Some(v) = result {
                    change.add_result(&id, v)?;
                }
                Ok::<_, VaultError>(id)
            })
            .unwrap()
    }

    /// The credential as the snapshot has it (with its revision), saved again.
    fn save_again(&mut self, id: &RecordId, result: &Verification) {
        let c = self.snapshot.credential(id).unwrap().clone();
        self.save(c, Some(result));
    }

    /// Adds `v` to `id`'s history as a new entry.
    fn add(&mut self, id: &RecordId, v: &Verification) {
        self.vault
            .write(&mut self.snapshot, |change| change.add_result(id, v))
            .unwrap();
    }

    /// A recheck of `id` that found `v`, its newest result so far being `newest`.
    fn recheck(&mut self, id: &RecordId, v: &Verification, newest: Option<&Verification>) {
        let mut newest = newest.cloned();
        self.vault
            .write(&mut self.snapshot, |change| {
                change.recheck(id, &mut newest, v.clone())
            })
            .unwrap();
    }

    fn delete(&mut self, id: &RecordId) {
        let revision = self.snapshot.credential(id).unwrap().revision.number;
        self.vault
            .write(&mut self.snapshot, |change| {
                change.delete_credential(id, revision)
            })
            .unwrap();
    }

    fn history(&self, id: &RecordId) -> Result<Vec<Verification>, VaultError> {
        self.vault.history(id)
    }

    fn latest(&self) -> Option<Verification> {
        self.snapshot.credentials[0].last_verification.clone()
    }
}

/// A handle of our own on the file, as another process would have: to look at what is stored
/// and to damage it behind the vault's back.
fn raw(path: &Path) -> redb::Database {
    file::builder().open(path).unwrap()
}

fn stored(path: &Path, id: &str, slot: u8) -> Option<Vec<u8>> {
    let db = raw(path);
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(HISTORY).unwrap();
    let bytes = table.get((slot, id)).unwrap().map(|b| b.value().to_vec());
    bytes
}

/// Overwrites (or removes) one history entry.
fn put_history(path: &Path, id: &str, slot: u8, bytes: Option<&[u8]>) {
    let db = raw(path);
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(HISTORY).unwrap();
        match bytes {
            Some(b) => t.insert((slot, id), b).unwrap(),
            None => t.remove((slot, id)).unwrap(),
        };
    }
    txn.commit().unwrap();
}

fn ring_len(path: &Path) -> u64 {
    let db = raw(path);
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(HISTORY).unwrap();
    table.len().unwrap()
}

fn reasons(history: &[Verification]) -> Vec<String> {
    history.iter().map(|v| v.reason.clone()).collect()
}

fn corrupt_detail(err: VaultError) -> String {
    match err {
        VaultError::Corrupt { detail, .. } => detail,
        other => panic!("expected damage, got {other}"),
    }
}

#[test]
fn the_history_keeps_the_newest_results_newest_first_across_reopen() {
    let (mut fx, c) = Fixture::with_results(HISTORY_LIMIT as i64 + 5);
    let history = fx.history(&c).unwrap();
    let expected: Vec<String> = (5..HISTORY_LIMIT as i64 + 5)
        .rev()
        .map(|n| format!("result {n}"))
        .collect();
    assert_eq!(reasons(&history), expected);
    fx.reopen();
    assert_eq!(fx.history(&c).unwrap(), history);
    // The latest result comes with the snapshot; the next result continues the sequence.
    assert_eq!(fx.latest().as_ref(), history.first());
    fx.add(&c, &result(99));
    let after = fx.history(&c).unwrap();
    assert_eq!(after[0].reason, "result 99");
    assert_eq!(after[1..], history[..HISTORY_LIMIT - 1]);
}

#[test]
fn deleting_a_credential_removes_its_results() {
    let (mut fx, c) = Fixture::with_results(3);
    let workspace = fx.snapshot.credentials[0].workspace.clone();
    let kept = fx.save(credential(&workspace), None);
    fx.add(&kept, &result(1));
    fx.delete(&c);
    assert!(fx.history(&c).unwrap().is_empty());
    assert_eq!(ring_len(&fx.path), 1);
    // The sequence numbers no longer name it (they would make open look for its results), and
    // the other credential keeps its own.
    fx.reopen();
    assert_eq!(fx.vault.state.positions.len(), 1);
    assert_eq!(fx.snapshot.credentials.len(), 1);
    assert_eq!(fx.latest(), Some(result(1)));
}

#[test]
fn a_missing_or_replayed_history_entry_is_reported_as_damage() {
    let (mut fx, c) = Fixture::with_results(1);
    let (path, id) = (fx.path.clone(), c.as_str().to_string());
    let id = id.as_str();
    let first = stored(&path, id, 0).unwrap();
    // Result number HISTORY_LIMIT overwrites slot 0; putting the old entry back is a replay.
    for n in 1..=HISTORY_LIMIT as i64 {
        fx.add(&c, &result(n));
    }
    put_history(&path, id, 0, Some(&first));
    let err = fx.history(&c).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("history entry 20") && detail.contains("holds entry 0 instead")),
        "{err}"
    );
    put_history(&path, id, 0, None);
    let err = fx.history(&c).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("is missing")),
        "{err}"
    );
    // An entry moved to another slot is out of sequence.
    let slot5 = stored(&path, id, 5).unwrap();
    put_history(&path, id, 0, Some(&slot5));
    let err = fx.history(&c).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("holds entry 5 instead")),
        "{err}"
    );
    // A sequence number edited to fit the slot fails authentication (it is in the AAD).
    let mut forged = slot5.clone();
    forged[..8].copy_from_slice(&20u64.to_be_bytes());
    put_history(&path, id, 0, Some(&forged));
    let err = fx.history(&c).unwrap_err();
    assert!(
        matches!(&err, VaultError::Corrupt { detail, .. } if detail.contains("failed authentication")),
        "{err}"
    );
    // Another credential's entry fails authentication too (the credential is in the AAD).
    let workspace = fx.snapshot.credentials[0].workspace.clone();
    let other = fx.save(credential(&workspace), None);
    fx.add(&other, &result(7));
    let mut moved = stored(&path, other.as_str(), 0).unwrap();
    moved[..8].copy_from_slice(&20u64.to_be_bytes());
    put_history(&path, id, 0, Some(&moved));
    assert!(matches!(
        fx.history(&c).unwrap_err(),
        VaultError::Corrupt { detail, .. } if detail.contains("failed authentication")
    ));
}

#[test]
fn open_reads_each_newest_entry_and_refuses_a_rolled_back_or_unsequenced_ring() {
    let (mut fx, c) = Fixture::with_results(5);
    let (path, id) = (fx.path.clone(), c.as_str().to_string());
    let id = id.as_str();
    let entry4 = stored(&path, id, 4).unwrap();
    // 20 more: the ring wraps, so the newest (24) overwrites entry 4 in slot 4.
    for n in 5..HISTORY_LIMIT as i64 + 5 {
        fx.add(&c, &result(n));
    }
    let newest = stored(&path, id, 4).unwrap();
    fx.reopen();
    assert_eq!(fx.latest(), Some(result(HISTORY_LIMIT as i64 + 4)));
    // Entry 4 put back where 24 is: the ring now reads exactly as it did one result earlier,
    // which no entry-by-entry check can tell from the real thing. The sequence numbers can.
    put_history(&path, id, 4, Some(&entry4));
    let detail = corrupt_detail(Vault::open_and_load(&path, PASS).unwrap_err());
    assert!(
        detail.contains("history entry 24") && detail.contains("holds entry 4 instead"),
        "{detail}"
    );
    // The refusal changed nothing: with the real entry back, the vault opens as before.
    put_history(&path, id, 4, Some(&newest));
    let (vault, again) = Vault::open_and_load(&path, PASS).unwrap();
    assert_eq!(again.credentials[0].last_verification, fx.latest());
    assert_eq!(vault.history(&c).unwrap().len(), HISTORY_LIMIT);

    // Sequence numbers that fail authentication, or none at all beside a non-empty ring.
    let sealed = {
        let db = raw(&path);
        let txn = db.begin_read().unwrap();
        let t = txn.open_table(SEQUENCES).unwrap();
        let bytes = t.get(SEQUENCES_KEY).unwrap().unwrap().value().to_vec();
        bytes
    };
    let mut flipped = sealed.clone();
    flipped[crypto::NONCE_LEN] ^= 1;
    let set = |bytes: Option<&[u8]>| {
        let db = raw(&path);
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(SEQUENCES).unwrap();
            match bytes {
                Some(b) => t.insert(SEQUENCES_KEY, b).unwrap(),
                None => t.remove(SEQUENCES_KEY).unwrap(),
            };
        }
        txn.commit().unwrap();
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
fn repeated_rechecks_extend_one_run_and_a_change_ends_it() {
    let (mut fx, c) = Fixture::with_results(1);
    let first = result(0);
    // The same result (status, reason, detail) twice more, with other times and latencies.
    let again = |at: i64| Verification {
        latency_ms: Some(40 + at as u64),
        at: Timestamp(at),
        ..first.clone()
    };
    fx.recheck(&c, &again(10), Some(&first));
    let mut newest = run_of(&again(10), 0, 2);
    fx.recheck(&c, &again(20), Some(&newest));
    newest = run_of(&again(20), 0, 3);
    assert_eq!(ring_len(&fx.path), 1, "repeats write no history entry");
    assert_eq!(fx.history(&c).unwrap(), [newest.clone()]);

    // The run, its latest time and latency come back from the sequence record.
    fx.reopen();
    assert_eq!(fx.latest(), Some(newest.clone()));
    assert_eq!(fx.history(&c).unwrap(), [newest.clone()]);

    // A different result is a new entry, which keeps the run's final state.
    let changed = result(31);
    fx.recheck(&c, &changed, Some(&newest));
    assert_eq!(ring_len(&fx.path), 2);
    fx.reopen();
    assert_eq!(fx.latest(), Some(changed.clone()));
    assert_eq!(fx.history(&c).unwrap(), [changed.clone(), newest.clone()]);

    // A saved version's result is always a new entry, even the same result again.
    let saved = Verification {
        at: Timestamp(40),
        ..changed.clone()
    };
    fx.save_again(&c, &saved);
    assert_eq!(fx.history(&c).unwrap(), [saved.clone(), changed, newest]);
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
fn a_save_after_a_run_ends_it_with_one_insert() {
    let (mut fx, c) = Fixture::with_results(1);
    let first = result(0);
    let later = Verification {
        at: Timestamp(9),
        ..first.clone()
    };
    fx.recheck(&c, &later, Some(&first));
    let run = run_of(&later, 0, 2);
    let head = stored(&fx.path, c.as_str(), 0);
    fx.save_again(&c, &result(11));
    // Ending the run is one insert: the new entry holds the run's final state, and the run's
    // own entry stays as it was written.
    assert_eq!(ring_len(&fx.path), 2);
    assert_eq!(stored(&fx.path, c.as_str(), 0), head);
    fx.reopen();
    assert_eq!(fx.history(&c).unwrap(), [result(11), run]);
}

// ---- older formats ----------------------------------------------------------------------------

/// The record tables of the current format and of formats 1 to 4, with the name their
/// associated data binds.
type RecordTable = TableDefinition<'static, &'static str, &'static [u8]>;

const RECORD_TABLES: [(RecordTable, RecordTable, &str); 3] = [
    (WORKSPACES, WORKSPACES_V1, WORKSPACES_NAME),
    (CREDENTIALS, CREDENTIALS_V1, CREDENTIALS_NAME),
    (FLOWS, FLOWS_V1, FLOWS_NAME),
];

/// Turns the (closed) vault at `path` back into one of format `format`: its records moved to
/// the `-v1` tables under the older associated data and without revisions (`rewrite` may
/// change each record's JSON further), no generation counter, a header of that format without
/// key id or check; then `older` makes the results tables look as that format left them, all
/// in one transaction.
fn make_older(
    path: &Path,
    key: &DataKey,
    format: u32,
    rewrite: impl Fn(&str, &mut serde_json::Value),
    older: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
) {
    let db = raw(path);
    let txn = db.begin_write().unwrap();
    let mut header = {
        let t = txn.open_table(META).unwrap();
        let bytes = t.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
        Header::decode(&bytes).unwrap()
    };
    let vault_id = header.vault_id.clone();
    for (current, v1, name) in RECORD_TABLES {
        let rows: Vec<(String, Vec<u8>)> = {
            let t = txn.open_table(current).unwrap();
            let rows = t
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value().to_string(), v.value().to_vec())
                })
                .collect();
            rows
        };
        {
            let mut old = txn.open_table(v1).unwrap();
            for (id, value) in rows {
                let revision = u64::from_be_bytes(value[..8].try_into().unwrap());
                let aad = crypto::revision_aad(&vault_id, name, &id, revision);
                let plain = key.open(&value[8..], &aad).unwrap();
                let mut json: serde_json::Value = serde_json::from_slice(&plain).unwrap();
                json.as_object_mut().unwrap().remove("revision");
                rewrite(name, &mut json);
                let sealed = key.seal(
                    &serde_json::to_vec(&json).unwrap(),
                    &crypto::record_aad(&vault_id, name, &id),
                );
                old.insert(id.as_str(), sealed.as_slice()).unwrap();
            }
        }
        txn.delete_table(current).unwrap();
    }
    header.format = format;
    header.key_id = None;
    header.key_check = None;
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.remove(GENERATION_KEY).unwrap();
        meta.insert(HEADER_KEY, header.encode().as_slice()).unwrap();
    }
    older(&txn).unwrap();
    txn.commit().unwrap();
}

fn sha256(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// Opens a vault of an older format: it reads as it is, and nothing is written.
fn open_older(fx: &mut Fixture, format: u32) {
    let before = sha256(&fx.path);
    fx.reopen();
    assert_eq!(fx.vault.format(), format);
    drop(fx.vault.history(&fx.snapshot.credentials[0].id));
    assert_eq!(
        sha256(&fx.path),
        before,
        "reading a format-{format} vault wrote to it"
    );
}

/// The first write migrates: the current format, every record at revision 1.
fn migrate_by_a_write(fx: &mut Fixture) {
    let w = crate::core::Workspace {
        id: crypto::fresh_id(),
        name: "written after the migration".into(),
        created_at: Timestamp(5),
        revision: Default::default(),
    };
    fx.vault
        .write(&mut fx.snapshot, |change| change.put_workspace(w))
        .unwrap();
    assert_eq!(fx.vault.format(), super::header::FORMAT);
    assert!(fx
        .snapshot
        .credentials
        .iter()
        .all(|c| c.revision.number == 1 && c.revision.changed_by.starts_with("unknown")));
    let db = raw(&fx.path);
    let txn = db.begin_read().unwrap();
    for (_, v1, _) in RECORD_TABLES {
        assert!(matches!(
            txn.open_table(v1),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
}

/// Takes the fixture's vault and key, closing the vault.
fn close(fx: &mut Fixture) -> DataKey {
    let key = fx.vault.state.key.clone();
    let placeholder = Vault::create(
        &fx._dir.path().join("placeholder.redb"),
        PASS,
        kdf::FLOOR,
        0,
    )
    .unwrap();
    drop(std::mem::replace(&mut fx.vault, placeholder));
    key
}

#[test]
fn a_format4_vault_is_read_untouched_and_migrated_by_its_first_write() {
    let (mut fx, c) = Fixture::with_results(3);
    let history = fx.history(&c).unwrap();
    let key = close(&mut fx);
    make_older(&fx.path, &key, 4, |_, _| {}, |_| Ok(()));
    open_older(&mut fx, 4);
    assert_eq!(fx.latest(), Some(result(2)));
    assert_eq!(fx.history(&c).unwrap(), history);
    migrate_by_a_write(&mut fx);
    fx.reopen();
    assert_eq!(fx.snapshot.workspaces.len(), 1);
    assert_eq!(fx.history(&c).unwrap(), history);
    assert_eq!(fx.snapshot.credentials[0].revision.number, 1);
    // The header now names the data key.
    assert!(fx.vault.state.header.key_id.is_some());
    assert!(super::keyslot::check_key(&fx.vault.state.header, &key).is_ok());
}

#[test]
fn a_format1_vault_is_read_as_it_is_and_migrated_with_its_histories() {
    let mut fx = Fixture::new();
    let c = fx.save(credential(&crypto::fresh_id()), None);
    let history: Vec<Verification> = (0..5).rev().map(result).collect();
    let key = close(&mut fx);
    // Format 1: the latest result and the history inside the record, no results tables.
    let embedded = history.clone();
    make_older(
        &fx.path,
        &key,
        1,
        |name, json| {
            if name == CREDENTIALS_NAME {
                json["last_verification"] = serde_json::to_value(&embedded[0]).unwrap();
                json["history"] = serde_json::to_value(&embedded).unwrap();
            }
        },
        |txn| {
            txn.delete_table(HISTORY)?;
            txn.delete_table(SEQUENCES)?;
            Ok(())
        },
    );
    open_older(&mut fx, 1);
    assert_eq!(fx.latest(), Some(history[0].clone()));
    assert_eq!(fx.history(&c).unwrap(), history);
    migrate_by_a_write(&mut fx);
    assert_eq!(fx.history(&c).unwrap(), history);
    // The record was rewritten without the embedded results.
    let db = raw(&fx.path);
    let txn = db.begin_read().unwrap();
    let value = txn
        .open_table(CREDENTIALS)
        .unwrap()
        .get(c.as_str())
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    let aad = crypto::revision_aad(fx.vault.vault_id(), CREDENTIALS_NAME, c.as_str(), 1);
    let plain = key.open(&value[8..], &aad).unwrap();
    let text = String::from_utf8(plain.to_vec()).unwrap();
    assert!(!text.contains("history") && !text.contains("last_verification"));
    drop(txn);
    drop(db);
    // Opening again finds the current format and the same state.
    fx.reopen();
    assert_eq!(fx.history(&c).unwrap(), history);
    assert_eq!(fx.latest(), Some(history[0].clone()));
}

#[test]
fn a_format2_vault_is_migrated_without_losing_a_latest_result() {
    let (mut fx, c) = Fixture::with_results(7);
    let id = c.as_str().to_string();
    let history = fx.history(&c).unwrap();
    let newest = stored(&fx.path, &id, 6).unwrap();
    let key = close(&mut fx);
    // Format 2: no sequence numbers, and a copy of each latest result in a table of its own.
    // Here the ring has also lost that newest entry: the copy is all that is left of it.
    make_older(
        &fx.path,
        &key,
        2,
        |_, _| {},
        |txn| {
            txn.delete_table(SEQUENCES)?;
            txn.open_table(FORMAT2_LATEST)?
                .insert(id.as_str(), newest.as_slice())?;
            txn.open_table(HISTORY)?.remove((6, id.as_str()))?;
            Ok(())
        },
    );
    open_older(&mut fx, 2);
    assert_eq!(fx.latest(), Some(result(6)));
    migrate_by_a_write(&mut fx);
    assert_eq!(stored(&fx.path, &id, 6), Some(newest));
    assert_eq!(fx.history(&c).unwrap(), history);
    {
        let db = raw(&fx.path);
        let txn = db.begin_read().unwrap();
        assert!(matches!(
            txn.open_table(FORMAT2_LATEST),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
    // The sequence continues after the migrated latest result, and a reopen agrees.
    fx.add(&c, &result(7));
    fx.reopen();
    assert_eq!(fx.latest(), Some(result(7)));
    assert_eq!(fx.history(&c).unwrap()[1..], history[..]);
}

#[test]
fn a_format3_vault_is_migrated_and_its_entries_read_as_they_are() {
    let (mut fx, c) = Fixture::with_results(3);
    let id = c.as_str().to_string();
    let history = fx.history(&c).unwrap();
    let vault_id = fx.vault.vault_id().to_string();
    let key = close(&mut fx);
    // Format 3: entries encoded without a run (version byte 1), and a sequence record of
    // bare numbers.
    let old_entry = |seq: u64| {
        let v = result(seq as i64);
        let plain = [
            &[1u8][..],
            &postcard::to_allocvec(&(v.status, &v.reason, &v.detail, v.latency_ms, v.at)).unwrap(),
        ]
        .concat();
        let aad = crypto::record_aad(&vault_id, RESULTS_NAME, &format!("{id}/{seq}"));
        [&seq.to_be_bytes()[..], &key.seal(&plain, &aad)].concat()
    };
    let numbers = postcard::to_allocvec(&vec![(id.as_str(), 3u64)]).unwrap();
    let sequences = key.seal(
        &numbers,
        &crypto::record_aad(&vault_id, SEQUENCES_NAME, SEQUENCES_KEY),
    );
    let old_entries: Vec<Vec<u8>> = (0..3).map(old_entry).collect();
    make_older(
        &fx.path,
        &key,
        3,
        |_, _| {},
        |txn| {
            txn.open_table(SEQUENCES)?
                .insert(SEQUENCES_KEY, sequences.as_slice())?;
            let mut ring = txn.open_table(HISTORY)?;
            for (seq, entry) in old_entries.iter().enumerate() {
                ring.insert((seq as u8, id.as_str()), entry.as_slice())?;
            }
            Ok(())
        },
    );
    open_older(&mut fx, 3);
    assert_eq!(fx.latest(), Some(result(2)));
    assert_eq!(fx.history(&c).unwrap(), history);
    // The migration rewrote the sequence record: it reads as the current format now.
    migrate_by_a_write(&mut fx);
    fx.reopen();
    assert_eq!(fx.history(&c).unwrap(), history);
    // The old newest entry heads a run like any other, and the record now holds runs.
    let later = Verification {
        at: Timestamp(5),
        ..result(2)
    };
    fx.recheck(&c, &later, Some(&result(2)));
    fx.reopen();
    let run = run_of(&later, 2, 2);
    assert_eq!(fx.latest(), Some(run.clone()));
    assert_eq!(fx.history(&c).unwrap()[0], run);
    assert_eq!(fx.history(&c).unwrap()[1..], history[1..]);
}
