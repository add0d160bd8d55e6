//! One vault, many processes: writers from four processes at once, readers that never wait, a
//! writer that gives up after the lock wait, other processes' changes seen by a refresh, stale
//! writes refused with both versions, the rules checked against the vault as it is, results
//! that belong to the revision they verified, passphrase changes and re-keys while others have
//! the vault open, crash recovery on an unnamed copy, and a replaced file noticed.
//!
//! Two `Store`s opened in one test process behave as two processes would: each has its own
//! file descriptor, and redb's locks are per open file description.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;
use crate::vault::store::populated;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Environment, Flow, FlowStep, RecordKind, RuleError, Status, Verification};
use keyway::store::{Checked, CredentialDraft, Store, StoreError};
use keyway::vault::{Options, Unlock, VaultError};
use secrecy::SecretString;

fn verified(at: i64) -> Verification {
    Verification {
        status: Status::Verified,
        reason: "The service accepted the credential.".into(),
        detail: None,
        latency_ms: Some(5),
        at: Timestamp(at),
        run: None,
        tls: None,
    }
}

/// A new secret for a stored credential, saved unverified: its next revision.
fn new_secret(store: &mut Store, index: usize, secret: &str) {
    let c = store.snapshot().credentials[index].clone();
    let catalog = keyway::catalog::Catalog::builtin().unwrap();
    let draft = CredentialDraft {
        workspace: c.workspace.clone(),
        component: c.component.clone(),
        name: c.name.clone(),
        environment: c.environment.clone(),
        changes: vec![(
            "api_key".into(),
            FieldValue::Secret(SecretString::from(secret.to_string())),
        )],
    };
    let mut edited = store
        .prepare_credential(&catalog, draft, Some(&c.id), Timestamp(50))
        .unwrap();
    edited.record_verification(Verification::unverified(
        "Saved unverified.".into(),
        Timestamp(50),
    ));
    store.save_credential(edited).unwrap();
}

/// The credential of `populated` that no flow uses.
fn ledger(store: &Store) -> keyway::core::Credential {
    let s = store.snapshot();
    s.credentials
        .iter()
        .find(|c| c.name == "ledger")
        .unwrap()
        .clone()
}

#[test]
fn four_writer_processes_commit_250_times_each_and_all_1000_are_there() {
    let v = TestVault::new();
    drop(v.create());
    let path = v.path.to_string_lossy().into_owned();
    let started = Instant::now();
    let children: Vec<_> = (0..4)
        .map(|i| {
            child_command(&[&path, "count", &format!("writer{i}"), "250"])
                .env("KEYWAY_PASSPHRASE", PASS)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut waits = 0;
    for mut child in children {
        let out = BufReader::new(child.stdout.take().unwrap());
        for line in out.lines().map_while(Result::ok) {
            assert!(!line.contains("error"), "a writer failed: {line}");
            if line.ends_with("busy") {
                waits += 1;
            }
            if let Some(at) = line.find("ack ") {
                acknowledged.push(line[at + 4..].to_string());
            }
        }
        assert!(child.wait().unwrap().success(), "a writer did not finish");
    }
    eprintln!(
        "4 x 250 commits from 4 processes in {:?} ({waits} waits over the lock wait)",
        started.elapsed()
    );
    assert_eq!(acknowledged.len(), 1000);
    let store = v.open();
    let s = store.snapshot();
    assert_eq!(s.workspaces.len(), 4);
    assert_eq!(s.credentials.len(), 996);
    for name in &acknowledged {
        let found = s.workspaces.iter().any(|w| &w.name == name)
            || s.credentials.iter().any(|c| &c.name == name);
        assert!(found, "acknowledged {name} is not there");
    }
}

#[test]
fn readers_never_wait_for_a_writer_and_a_writer_gives_up_after_the_lock_wait() {
    let v = TestVault::new();
    drop(populated(&v));
    let holder = hold_write(&v.path);
    let options = Options {
        lock_wait: Duration::from_secs(1),
        ..Options::default()
    };
    // Opening and reading go on beside the held write lock.
    let mut store =
        Store::open_with(&v.path, Unlock::Passphrase(PASS.as_bytes()), &options).unwrap();
    assert_eq!(store.snapshot().credentials.len(), 2);
    assert_eq!(store.refresh().unwrap(), None);
    let err = store.add_workspace("late", Timestamp(9)).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Vault(VaultError::Busy { waited_secs: 1, .. })
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), 5);
    drop(holder);
    assert!(v.open().snapshot().workspace_by_name("late").is_err());
    // The lock is free again: the same store writes.
    store.add_workspace("late", Timestamp(9)).unwrap();
    assert!(v.open().snapshot().workspace_by_name("late").is_ok());
}

#[test]
fn a_refresh_brings_in_exactly_what_other_processes_changed() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut mine = v.open();
    let mut theirs = v.open();
    assert_eq!(mine.refresh().unwrap(), None, "nothing changed yet");
    let w = theirs.add_workspace("second", Timestamp(20)).unwrap();
    new_secret(&mut theirs, 1, "SENTINEL-rotated");
    let c0 = theirs.snapshot().credentials[0].clone();
    let revision = c0.revision.number;
    theirs
        .record_verification(&c0.id, revision, verified(21), None, Timestamp(21))
        .unwrap();
    let flow = theirs.snapshot().flows[0].clone();
    theirs.remove_flow(&flow.id).unwrap();

    let changes = mine.refresh().unwrap().expect("changes seen");
    assert!(!changes.reloaded);
    assert_eq!(changes.workspaces, vec![w.id.clone()]);
    let c1 = theirs.snapshot().credentials[1].id.clone();
    assert_eq!(changes.credentials, vec![c1.clone()]);
    assert_eq!(changes.removed, vec![flow.id.clone()]);
    let mut results = changes.results.clone();
    results.sort();
    let mut expected = vec![c0.id.clone(), c1];
    expected.sort();
    assert_eq!(results, expected);
    // What the refresh brought in is what a fresh open reads.
    let fresh = v.open();
    let view = |s: &Store| {
        let snap = s.snapshot();
        let mut creds: Vec<String> = snap
            .credentials
            .iter()
            .map(|c| {
                format!(
                    "{}|{}|{:?}|{:?}|{:?}",
                    c.id,
                    c.name,
                    c.revision,
                    c.last_verification,
                    c.secrets.expose("api_key")
                )
            })
            .collect();
        creds.sort();
        let mut ws: Vec<String> = snap.workspaces.iter().map(|w| format!("{w:?}")).collect();
        ws.sort();
        format!("{ws:?}{creds:?}{:?}", snap.flows)
    };
    assert_eq!(view(&mine), view(&fresh));
    assert_eq!(mine.refresh().unwrap(), None, "nothing new since");
}

#[test]
fn two_changes_from_one_revision_conflict_and_the_conflict_carries_both_versions() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut first = v.open();
    let mut second = v.open();
    // "ledger": no flow uses it, so only revisions decide.
    let base = ledger(&first);
    assert_eq!(base.revision.number, 1);
    let mut a = base.clone();
    a.environment = Environment::Staging;
    first.save_credential(a).unwrap();
    let mut b = base.clone();
    b.name = "renamed by the second".into();
    let err = second.save_credential(b).unwrap_err();
    assert_eq!(err.exit_code(), 6);
    let conflict = err.conflict().expect("a conflict");
    assert_eq!(conflict.based_on, 1);
    let mine = conflict.mine.as_ref().unwrap();
    let theirs = conflict.theirs.as_ref().unwrap();
    assert_eq!(mine.name(), "renamed by the second");
    assert_eq!(theirs.revision().number, 2);
    assert!(
        theirs.revision().changed_by.contains('@'),
        "{:?}",
        theirs.revision()
    );
    let text = err.to_string();
    assert!(
        text.contains(" since you read it: it is now revision 2 "),
        "{text}"
    );
    // Nothing of the second change was written; the first one stands.
    let after = v.open();
    let c = after.snapshot().credential(&base.id).unwrap();
    assert_eq!(
        (c.name.as_str(), c.revision.number),
        (base.name.as_str(), 2)
    );
    assert_eq!(c.environment, Environment::Staging);
    // A deletion based on the old revision is a conflict too; other records are not.
    let err = second.remove_credential(&base.id).unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");
    let other = second.snapshot().credentials[0].clone();
    second
        .rename_workspace(&other.workspace, "renamed")
        .unwrap();
    // --expect-revision: the same check before anything is written.
    let err = second
        .expect_revision(RecordKind::Credential, &base.id, 1)
        .unwrap_err();
    assert_eq!(err.exit_code(), 6);
    assert!(second
        .expect_revision(RecordKind::Credential, &base.id, 2)
        .is_ok());
}

#[test]
fn rules_are_checked_against_the_vault_as_it_is_not_a_stale_snapshot() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut stale = v.open();
    let mut other = v.open();
    let target = ledger(&other);
    let workspace = target.workspace.clone();
    other
        .save_flow(Flow {
            id: keyway::vault::crypto::fresh_id(),
            workspace: workspace.clone(),
            name: "made active elsewhere".into(),
            environment: Environment::Production,
            steps: vec![FlowStep {
                component: "stripe".into(),
                credential: target.id.clone(),
            }],
            active: true,
            created_at: Timestamp(30),
            updated_at: Timestamp(30),
            revision: Default::default(),
        })
        .unwrap();
    // The stale process has not seen the flow; the delete guard has.
    let err = stale.remove_credential(&target.id).unwrap_err();
    assert!(
        matches!(&err, StoreError::Rule(RuleError::CredentialInUse { flows, .. }) if flows.contains("made active elsewhere")),
        "{err}"
    );
    assert!(v.open().snapshot().credential(&target.id).is_some());
    // Names taken meanwhile are taken.
    other.add_workspace("taken", Timestamp(31)).unwrap();
    let err = stale.add_workspace("taken", Timestamp(32)).unwrap_err();
    assert!(
        matches!(err, StoreError::Rule(RuleError::WorkspaceExists(_))),
        "{err}"
    );
    assert_eq!(
        v.open()
            .snapshot()
            .workspaces
            .iter()
            .filter(|w| w.name == "taken")
            .count(),
        1
    );
}

/// An audit that verified revision 3 of a credential never marks revision 4 (a new secret
/// saved meanwhile) as verified. Made deterministic: the result is recorded after the other
/// process saved, as it would be if the save came during the check.
#[test]
fn a_verification_result_belongs_to_the_revision_it_verified() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut auditor = v.open();
    let mut editor = v.open();
    let checked = auditor.snapshot().credentials[0].clone();
    new_secret(&mut editor, 0, "SENTINEL-new-secret");
    let recorded = auditor
        .record_verifications(
            vec![Checked {
                id: checked.id.clone(),
                revision: checked.revision.number,
                result: verified(40),
                tokens: None,
            }],
            Timestamp(40),
        )
        .unwrap();
    assert_eq!(recorded.stale, vec![checked.id.clone()]);
    let after = v.open();
    let c = after.snapshot().credential(&checked.id).unwrap();
    assert_eq!(c.revision.number, checked.revision.number + 1);
    assert_eq!(c.status_word(), "unverified");
    assert_eq!(after.history(&c.id).unwrap()[0].status, Status::Unverified);
    // A result for the revision as it is now is recorded.
    let now = auditor
        .snapshot()
        .credential(&checked.id)
        .unwrap()
        .revision
        .number;
    let recorded = auditor
        .record_verification(&checked.id, now, verified(41), None, Timestamp(41))
        .unwrap();
    assert!(recorded.stale.is_empty());
    assert_eq!(
        v.open()
            .snapshot()
            .credential(&checked.id)
            .unwrap()
            .status_word(),
        "verified"
    );
}

#[test]
fn a_passphrase_change_leaves_other_processes_working() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut changer = v.open();
    let mut other = v.open();
    changer
        .change_passphrase(b"the new passphrase", keyway::vault::kdf::FLOOR)
        .unwrap();
    // The data key did not change: the other process reads and writes on.
    assert!(other.refresh().unwrap().is_some());
    other
        .add_workspace("after the change", Timestamp(60))
        .unwrap();
    assert!(matches!(
        Store::open(&v.path, PASS.as_bytes()),
        Err(VaultError::WrongPassphrase(_))
    ));
    let reopened = Store::open(&v.path, b"the new passphrase").unwrap();
    assert!(reopened
        .snapshot()
        .workspace_by_name("after the change")
        .is_ok());
}

#[test]
fn a_rekey_makes_other_processes_unlock_again_and_the_old_key_opens_nothing() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut rekeyer = v.open();
    let mut other = v.open();
    let before = crate::vault::store::summary(&rekeyer);
    let old_key = other.vault().data_key().clone();
    rekeyer.rekey(PASS.as_bytes()).unwrap();
    // Reading a history under the old key would look like damage: it says re-keyed instead.
    let some_credential = other.snapshot().credentials[0].id.clone();
    let err = other.history(&some_credential).unwrap_err();
    assert!(
        matches!(&err, StoreError::Vault(VaultError::Rekeyed(_))),
        "{err}"
    );
    let err = other.refresh().unwrap_err();
    assert!(matches!(err, VaultError::Rekeyed(_)), "{err}");
    assert_eq!(err.exit_code(), 6);
    let err = other
        .add_workspace("with the old key", Timestamp(70))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Vault(VaultError::Rekeyed(_))),
        "{err}"
    );
    // Unlocked again with the same passphrase, everything reads as before.
    let reopened = v.open();
    assert_eq!(crate::vault::store::summary(&reopened), before);
    // The old key opens nothing: not the vault, and no record of it.
    let err = Store::open_with(
        &v.path,
        Unlock::Key(Box::new(old_key.clone())),
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase(_)), "{err}");
    drop(reopened);
    drop(rekeyer);
    drop(other);
    let vault_id = v.open().vault().vault_id().to_string();
    let records = crate::vault::store::raw_table(&v, keyway::vault::tables::CREDENTIALS);
    assert_eq!(records.len(), 2);
    for (id, value) in records {
        let revision = u64::from_be_bytes(value[..8].try_into().unwrap());
        let aad = keyway::vault::crypto::revision_aad(&vault_id, "credentials", &id, revision);
        assert!(
            old_key.open(&value[8..], &aad).is_err(),
            "record {id} opens with the old key"
        );
    }
}

/// A writer killed with nobody else holding the vault leaves it needing crash recovery. A
/// reader recovers a private, unnamed copy and reads from it: the file is left as it is. The
/// next writer recovers the file itself.
#[test]
fn a_crashed_writer_is_recovered_on_an_unnamed_copy_before_the_file_is_touched() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut child = child_command(&[&v.path.to_string_lossy(), "write", "before-the-crash"])
        .env("KEYWAY_PASSPHRASE", PASS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < 3 {
        let line = lines.next().expect("the writer commits").unwrap();
        if let Some(at) = line.find("ack ") {
            acked.push(line[at + 4..].to_string());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // redb's own read-only open refuses the file: it needs recovery.
    let mut multi = redb::Builder::new();
    multi.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    assert!(matches!(
        multi.open_read_only(&v.path),
        Err(redb::DatabaseError::RepairAborted)
    ));
    let before = file_bytes(&v.path);
    let reader = v.open();
    for name in &acked {
        assert!(
            reader.snapshot().workspace_by_name(name).is_ok(),
            "{name} lost"
        );
    }
    // The copy it reads from has no name (it is in memory, or for a large vault an unlinked
    // temporary file): nothing beside the vault.
    let dir = v.path.parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["vault.redb"]);
    assert_eq!(
        file_bytes(&v.path),
        before,
        "a reader recovered the file itself"
    );
    drop(reader);
    assert_eq!(file_bytes(&v.path), before);
    // A writer recovers it (after recovering and checking a copy first), and writes.
    let mut writer = v.open();
    writer
        .add_workspace("after the recovery", Timestamp(80))
        .unwrap();
    drop(writer);
    assert!(multi.open_read_only(&v.path).is_ok());
    let after = v.open();
    assert!(after
        .snapshot()
        .workspace_by_name("after the recovery")
        .is_ok());
    for name in &acked {
        assert!(
            after.snapshot().workspace_by_name(name).is_ok(),
            "{name} lost"
        );
    }
}

#[test]
fn a_vault_file_replaced_under_an_open_store_is_noticed_never_written() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut store = v.open();
    let other = TestVault::new();
    drop(other.create());
    std::fs::rename(&other.path, &v.path).unwrap();
    let replacement = file_bytes(&v.path);
    let err = store.refresh().unwrap_err();
    assert!(matches!(err, VaultError::Replaced(_)), "{err}");
    let err = store
        .add_workspace("into the wrong file", Timestamp(90))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Vault(VaultError::Replaced(_))),
        "{err}"
    );
    assert_eq!(file_bytes(&v.path), replacement);
}

/// A write that does not commit leaves the store exactly as it was, even though it read other
/// processes' changes under the write lock: what the face last saw stays what its next change
/// is based on, and a refresh then brings the changes in.
#[test]
fn a_refused_write_leaves_the_store_as_it_was() {
    let v = TestVault::new();
    drop(populated(&v));
    let mut mine = v.open();
    let mut theirs = v.open();
    let before = format!("{:?}", mine.snapshot());
    theirs.add_workspace("taken", Timestamp(100)).unwrap();
    new_secret(&mut theirs, 0, "SENTINEL-other");
    let flow = theirs.snapshot().flows[0].id.clone();
    theirs.remove_flow(&flow).unwrap();
    let err = mine.add_workspace("taken", Timestamp(101)).unwrap_err();
    assert!(
        matches!(err, StoreError::Rule(RuleError::WorkspaceExists(_))),
        "{err}"
    );
    assert_eq!(format!("{:?}", mine.snapshot()), before);
    let changes = mine
        .refresh()
        .unwrap()
        .expect("the changes are still to be seen");
    assert_eq!(changes.removed, vec![flow]);
    assert_eq!(changes.workspaces.len(), 1);
    assert!(mine.snapshot().workspace_by_name("taken").is_ok());
}

/// Review of issue 11: `cp backup.redb vault.redb` while a process has the vault open for
/// writing rewrites the same file (same inode) under it. That process's redb handle still
/// holds the old file's state (which pages are free), so its next write, or its close, wrote
/// that state into the restored file. Seeing an older generation than it saw before, it must
/// treat the file as replaced: refuse to write (exit 6, unlock again) and never touch the
/// restored file, which then reads exactly as the backup.
#[test]
fn a_backup_copied_over_the_vault_under_a_writer_is_left_as_restored() {
    let v = TestVault::new();
    let mut long_lived = v.create();
    long_lived
        .add_workspace("before-the-backup", Timestamp(1))
        .unwrap();
    let backup = file_bytes(&v.path);
    for i in 0..5 {
        long_lived
            .add_workspace(&format!("after-the-backup-{i}"), Timestamp(2))
            .unwrap();
    }
    // What `cp` does: truncate the file and write the backup's bytes into it.
    std::fs::write(&v.path, &backup).unwrap();
    let e = long_lived
        .add_workspace("written-over-the-restore", Timestamp(3))
        .unwrap_err();
    assert_eq!(e.exit_code(), 6, "{e}");
    assert!(e.to_string().contains("replaced"), "{e}");
    drop(long_lived);
    assert_eq!(file_bytes(&v.path), backup, "the restored file was written");
    let restored = v.open();
    let names: Vec<&str> = restored
        .snapshot()
        .workspaces
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(names, ["before-the-backup"]);
}

/// Review of issue 12, item 2: a re-key left the old ciphertexts and the old wrapped key in the
/// pages it freed, so a copy of the file's bytes still held everything the old key opens. The
/// re-keyed vault is a fresh file renamed over the old one: none of the old sealed records,
/// nor the old wrapped key, is anywhere in its bytes. A process that had the vault open finds
/// it replaced (or re-keyed) and must unlock again; the vault reads as before.
#[test]
fn after_a_rekey_the_file_holds_no_old_ciphertext_and_no_old_wrapped_key() {
    use keyway::vault::header::Header;
    use keyway::vault::tables::{CREDENTIALS, FLOWS, HEADER_KEY, META, WORKSPACES};
    let v = TestVault::new();
    let before = crate::vault::store::summary(&populated(&v));
    let raw = |t| crate::vault::store::raw_table(&v, t);
    let old_sealed: Vec<Vec<u8>> = [WORKSPACES, CREDENTIALS, FLOWS]
        .into_iter()
        .flat_map(|t| raw(t).into_values())
        .map(|value| value[8..].to_vec())
        .collect();
    assert!(old_sealed.len() >= 4);
    let old_header = Header::decode(&raw(META)[HEADER_KEY]).unwrap();
    let mut other = v.open();
    let mut rekeyer = v.open();
    rekeyer.rekey(PASS.as_bytes()).unwrap();
    drop(rekeyer);
    let bytes = file_bytes(&v.path);
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for sealed in &old_sealed {
        // Any 24 bytes of the ciphertext would do; its middle, past nonce and framing.
        let middle = &sealed[sealed.len() / 2 - 12..sealed.len() / 2 + 12];
        assert!(!holds(middle), "an old ciphertext is still in the file");
    }
    assert!(
        !holds(old_header.wrapped_key.as_bytes()),
        "the old wrapped key is still in the file"
    );
    let e = other
        .add_workspace("after-the-rekey", Timestamp(9))
        .unwrap_err();
    assert_eq!(e.exit_code(), 6, "{e}");
    assert_eq!(crate::vault::store::summary(&v.open()), before);
    let dir = v.path.parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["vault.redb"]);
}
