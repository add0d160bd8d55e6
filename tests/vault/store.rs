//! The vault through the library: round trips, passphrase changes, damaged and foreign files,
//! moved ciphertexts, and secrets never reaching the file in plaintext.

use std::collections::BTreeMap;

use crate::support::*;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Environment, Flow, FlowStep, Status, Verification};
use keyway::store::{Checked, CredentialDraft, Store};
use keyway::vault::header::Header;
use keyway::vault::tables::{CREDENTIALS, HEADER_KEY, META, WORKSPACES};
use keyway::vault::{Vault, VaultError};
use redb::{ReadableDatabase, ReadableTable};
use secrecy::SecretString;

const SENTINEL: &str = "SENTINEL-5f3c9a-secret";
const NAME_SENTINEL: &str = "WSNAME-7d1e";

/// A vault with a workspace, two credentials (one with a sentinel secret) and a flow.
pub fn populated(v: &TestVault) -> Store {
    let mut store = v.create();
    let catalog = keyway::catalog::Catalog::builtin().unwrap();
    let w = store.add_workspace(NAME_SENTINEL, Timestamp(1)).unwrap();
    for (i, name) in ["billing", "ledger"].iter().enumerate() {
        let draft = CredentialDraft {
            workspace: w.id.clone(),
            component: "stripe".into(),
            name: name.to_string(),
            environment: Environment::Production,
            changes: vec![(
                "api_key".into(),
                FieldValue::Secret(SecretString::from(format!("{SENTINEL}-{i}"))),
            )],
        };
        let mut c = store
            .prepare_credential(&catalog, draft, None, Timestamp(2))
            .unwrap();
        c.record_verification(Verification {
            status: Status::Verified,
            reason: "Stripe accepted the key".into(),
            detail: Some("acct_1".into()),
            latency_ms: Some(42),
            at: Timestamp(3),
            run: None,
            tls: None,
        });
        store.save_credential(c).unwrap();
    }
    let cred = store.snapshot().credentials[0].clone();
    store
        .save_flow(Flow {
            id: keyway::vault::crypto::fresh_id(),
            workspace: w.id.clone(),
            name: "payments".into(),
            environment: Environment::Production,
            steps: vec![FlowStep {
                component: "stripe".into(),
                credential: cred.id.clone(),
            }],
            active: true,
            created_at: Timestamp(4),
            updated_at: Timestamp(4),
            revision: Default::default(),
        })
        .unwrap();
    store
}

pub fn summary(store: &Store) -> String {
    // A comparable rendering that includes secret values (tests only).
    let s = store.snapshot();
    let mut creds: Vec<String> = s
        .credentials
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}",
                c.id,
                c.workspace,
                c.name,
                c.environment,
                c.public,
                c.secrets.expose("api_key"),
                c.last_verification,
                // History is authenticated when it is read, so damage there surfaces here.
                store.history(&c.id).map_err(|e| e.exit_code())
            )
        })
        .collect();
    creds.sort();
    format!("{:?}\n{:?}\n{}", s.workspaces, s.flows, creds.join("\n"))
}

#[test]
fn every_record_type_round_trips() {
    let v = TestVault::new();
    let before = summary(&populated(&v));
    let after = v.open();
    assert_eq!(summary(&after), before);
    let s = after.snapshot();
    assert_eq!(s.workspaces.len(), 1);
    assert_eq!(s.credentials.len(), 2);
    assert_eq!(s.flows.len(), 1);
    for c in &s.credentials {
        assert_eq!(after.history(&c.id).unwrap().len(), 1);
    }
    assert!(s
        .credentials
        .iter()
        .any(|c| c.secrets.expose("api_key") == Some(&format!("{SENTINEL}-0"))));
}

#[test]
fn passphrase_change_rewraps_only_the_key() {
    let v = TestVault::new();
    let mut store = populated(&v);
    let before = summary(&store);
    store
        .change_passphrase(b"a new passphrase", keyway::vault::kdf::FLOOR)
        .unwrap();
    drop(store);
    let records_after = raw_table(&v, CREDENTIALS);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::WrongPassphrase(_))
    ));
    let reopened = Store::open(&v.path, b"a new passphrase").unwrap();
    assert_eq!(summary(&reopened), before);
    drop(reopened);
    // O(1): the credential records are byte-for-byte what they were before the change.
    let v2 = TestVault::new();
    let store2 = populated(&v2);
    drop(store2);
    let records_before = raw_table(&v2, CREDENTIALS);
    let mut store2 = v2.open();
    store2
        .change_passphrase(b"other", keyway::vault::kdf::FLOOR)
        .unwrap();
    drop(store2);
    assert_eq!(raw_table(&v2, CREDENTIALS), records_before);
    assert_eq!(records_after.len(), 2);
}

pub fn raw_table(
    v: &TestVault,
    table: redb::TableDefinition<&str, &[u8]>,
) -> BTreeMap<String, Vec<u8>> {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_read().unwrap();
    let t = txn.open_table(table).unwrap();
    t.iter()
        .unwrap()
        .map(|e| {
            let (k, val) = e.unwrap();
            (k.value().to_string(), val.value().to_vec())
        })
        .collect()
}

pub fn write_raw(
    v: &TestVault,
    table: redb::TableDefinition<&str, &[u8]>,
    key: &str,
    value: &[u8],
) {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(table).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

#[test]
fn secrets_and_names_never_reach_the_file_in_plaintext() {
    let v = TestVault::new();
    let store = populated(&v);
    let debug = format!("{store:?} {:?}", store.snapshot());
    drop(store);
    let bytes = file_bytes(&v.path);
    for needle in [SENTINEL, NAME_SENTINEL, "billing", "payments", "stripe"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} found in the vault file"
        );
    }
    assert!(!debug.contains(SENTINEL), "secret in Debug output");
}

#[test]
fn a_wrong_passphrase_is_not_damage_and_changes_nothing() {
    let v = TestVault::new();
    drop(populated(&v));
    let before = file_bytes(&v.path);
    let err = Store::open(&v.path, b"wrong").unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase(_)), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(file_bytes(&v.path), before);
}

#[test]
fn single_bit_flips_in_a_record_are_rejected() {
    let v = TestVault::new();
    drop(populated(&v));
    let records = raw_table(&v, CREDENTIALS);
    let (id, sealed) = records
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let len = sealed.len();
    // Every bit of the nonce (first 12 bytes) and of the tag (last 16), and bits across the body.
    let mut bits: Vec<usize> = (0..12 * 8).collect();
    bits.extend((len - 16) * 8..len * 8);
    bits.extend((12 * 8..(len - 16) * 8).step_by(13));
    for bit in bits {
        let mut bad = sealed.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        write_raw(&v, CREDENTIALS, &id, &bad);
        match Store::open(&v.path, PASS.as_bytes()) {
            Err(VaultError::Corrupt { detail, .. }) => assert!(detail.contains(&id), "{detail}"),
            other => panic!("bit {bit}: expected a corrupt record, got {other:?}"),
        }
    }
    write_raw(&v, CREDENTIALS, &id, &sealed);
    assert_eq!(v.open().snapshot().credentials.len(), 2);
}

#[test]
fn ciphertexts_moved_between_records_tables_or_vaults_are_rejected() {
    let v = TestVault::new();
    drop(populated(&v));
    let creds = raw_table(&v, CREDENTIALS);
    let ids: Vec<&String> = creds.keys().collect();
    // Another record of the same table.
    write_raw(&v, CREDENTIALS, ids[0], &creds[ids[1]]);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::Corrupt { .. })
    ));
    write_raw(&v, CREDENTIALS, ids[0], &creds[ids[0]]);
    // Another table, same id.
    write_raw(&v, WORKSPACES, ids[0], &creds[ids[0]]);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::Corrupt { .. })
    ));
    // Another vault with the same passphrase, same table, same id.
    let other = TestVault::new();
    drop(populated(&other));
    write_raw(&other, CREDENTIALS, ids[0], &creds[ids[0]]);
    assert!(matches!(
        Store::open(&other.path, PASS.as_bytes()),
        Err(VaultError::Corrupt { .. })
    ));
}

#[test]
fn foreign_and_newer_files_are_refused_untouched() {
    let v = TestVault::new();
    std::fs::create_dir_all(v.path.parent().unwrap()).unwrap();
    // Not redb at all.
    std::fs::write(&v.path, b"PK\x03\x04 just a zip file, honest").unwrap();
    let before = file_bytes(&v.path);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::Foreign(_))
    ));
    assert_eq!(file_bytes(&v.path), before);
    // A redb database of someone else's.
    std::fs::remove_file(&v.path).unwrap();
    {
        let db = redb::Database::create(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        let t: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("theirs");
        txn.open_table(t).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let before = file_bytes(&v.path);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::Foreign(_))
    ));
    assert_eq!(file_bytes(&v.path), before);
    // A keyway vault of a newer format.
    std::fs::remove_file(&v.path).unwrap();
    drop(populated(&v));
    let newer = keyway::vault::header::FORMAT + 1;
    rewrite_header(&v, |h| h.format = newer);
    let before = file_bytes(&v.path);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::NewerFormat { found, .. }) if found == newer
    ));
    assert_eq!(file_bytes(&v.path), before);
}

pub fn rewrite_header(v: &TestVault, change: impl FnOnce(&mut Header)) {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(META).unwrap();
        let bytes = t.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
        let mut h = Header::decode(&bytes).unwrap();
        change(&mut h);
        t.insert(HEADER_KEY, h.encode().as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_tampered_kdf_setting_fails_the_unwrap() {
    let v = TestVault::new();
    drop(populated(&v));
    // Raise iterations within bounds and recompute the checksum: the key's AAD no longer matches.
    rewrite_header(&v, |h| h.kdf.params.iterations += 1);
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::WrongPassphrase(_))
    ));
}

#[test]
fn any_number_of_processes_open_the_vault_but_an_older_keyway_holding_it_is_refused() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut first = v.open();
    let mut second = v.open();
    // Both read and write (writes to different records never conflict).
    first.add_workspace("from-first", Timestamp(10)).unwrap();
    second.add_workspace("from-second", Timestamp(11)).unwrap();
    assert_eq!(v.open().snapshot().workspaces.len(), 3);
    // An older keyway locks the whole file: it cannot open beside us...
    assert!(redb::Database::open(&v.path).is_err());
    drop((first, second));
    // ...and while it holds the file, keyway says so (exit 5), leaving it untouched.
    let exclusive = redb::Database::open(&v.path).unwrap();
    let err = Vault::open(&v.path, PASS.as_bytes()).unwrap_err();
    assert!(matches!(err, VaultError::InUse(_)), "{err}");
    assert_eq!(err.exit_code(), 5);
    drop(exclusive);
    assert!(Vault::open(&v.path, PASS.as_bytes()).is_ok());
}

#[test]
fn init_never_overwrites_a_file() {
    let v = TestVault::new();
    std::fs::create_dir_all(v.path.parent().unwrap()).unwrap();
    std::fs::write(&v.path, b"precious").unwrap();
    let err = Store::create(
        &v.path,
        PASS.as_bytes(),
        keyway::vault::kdf::FLOOR,
        Timestamp(0),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists(_)));
    assert_eq!(file_bytes(&v.path), b"precious");
}

#[test]
fn vault_file_and_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let v = TestVault::new();
    drop(v.create());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&v.path), 0o600);
    assert_eq!(mode(v.path.parent().unwrap()), 0o700);
    assert!(v.open().vault().warnings.is_empty());
    std::fs::set_permissions(&v.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warnings = v.open().vault().warnings.clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("chmod 600"));
}

/// The store's view after rechecks in several batches (repeats, changes and both for the same
/// credential in one batch), saves that end runs, the ring wrapping while runs go on, and a
/// deletion, is what the core rule gives, and what a reopened vault reads back.
#[test]
fn recorded_runs_match_the_core_rule_and_survive_reopening() {
    let v = TestVault::new();
    let mut store = populated(&v);
    let ids: Vec<_> = store
        .snapshot()
        .credentials
        .iter()
        .map(|c| c.id.clone())
        .collect();
    // The expected newest result and history (newest first) of each credential.
    let mut expected: Vec<(Option<Verification>, Vec<Verification>)> = ids
        .iter()
        .map(|id| {
            let last = store
                .snapshot()
                .credential(id)
                .unwrap()
                .last_verification
                .clone();
            (last, store.history(id).unwrap())
        })
        .collect();
    let result = |status: Status, at: i64| Verification {
        status,
        reason: format!("{status:?}"),
        detail: None,
        latency_ms: Some(at as u64 % 7),
        at: Timestamp(at),
        run: None,
        tls: None,
    };
    let mut at = 10;
    // A fixed pseudo-random walk: mostly repeats, sometimes a change, now and then a save.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..60 {
        let mut batch = Vec::new();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let which = (seed % 2) as usize;
            let status = if seed % 5 == 0 {
                Status::Rejected
            } else {
                Status::Verified
            };
            at += 1;
            batch.push((which, result(status, at)));
        }
        let results = batch
            .iter()
            .map(|(i, r)| Checked {
                id: ids[*i].clone(),
                revision: store
                    .snapshot()
                    .credential(&ids[*i])
                    .unwrap()
                    .revision
                    .number,
                result: r.clone(),
                tokens: None,
            })
            .collect();
        store.record_verifications(results, Timestamp(at)).unwrap();
        for (i, r) in batch {
            let (last, history) = &mut expected[i];
            match Verification::record_recheck(last, r) {
                (keyway::core::Recheck::Repeated, run) => history[0] = run.clone(),
                (keyway::core::Recheck::New, new) => history.insert(0, new.clone()),
            }
            history.truncate(keyway::core::HISTORY_LIMIT);
        }
        if round % 17 == 16 {
            // A saved edit of credential 0, verified again with the same result: a new entry.
            at += 1;
            let mut c = store.snapshot().credentials[0].clone();
            let again = Verification {
                at: Timestamp(at),
                run: None,
                tls: None,
                ..expected[0].0.clone().unwrap()
            };
            c.record_verification(again.clone());
            store.save_credential(c).unwrap();
            expected[0].0 = Some(again.clone());
            expected[0].1.insert(0, again);
            expected[0].1.truncate(keyway::core::HISTORY_LIMIT);
        }
    }
    let check = |store: &Store, expected: &[(Option<Verification>, Vec<Verification>)]| {
        for (id, (last, history)) in ids.iter().zip(expected) {
            let c = store.snapshot().credential(id).unwrap();
            assert_eq!(&c.last_verification, last);
            assert_eq!(&store.history(id).unwrap(), history);
        }
    };
    check(&store, &expected);
    assert!(
        expected
            .iter()
            .any(|(_, h)| h.iter().any(|e| e.checks() > 2)),
        "the walk should leave runs"
    );
    assert!(
        expected
            .iter()
            .any(|(_, h)| h.len() == keyway::core::HISTORY_LIMIT),
        "the walk should wrap a ring"
    );
    drop(store);
    let mut store = v.open();
    check(&store, &expected);

    // Deleting a credential whose newest entry heads a run leaves the other one readable.
    let repeat = Verification {
        at: Timestamp(at + 1),
        ..expected[1].0.clone().unwrap()
    };
    let revision = store
        .snapshot()
        .credential(&ids[1])
        .unwrap()
        .revision
        .number;
    store
        .record_verification(&ids[1], revision, repeat, None, Timestamp(at + 1))
        .unwrap();
    let newest = store.snapshot().credential(&ids[1]).unwrap();
    assert!(newest.last_verification.as_ref().unwrap().run.is_some());
    store.remove_credential(&ids[1]).unwrap();
    drop(store);
    let store = v.open();
    assert!(store.snapshot().credential(&ids[1]).is_none());
    assert_eq!(store.history(&ids[0]).unwrap(), expected[0].1);
}
