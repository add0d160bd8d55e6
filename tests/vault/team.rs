//! The team vault's sharded state (vault/digest.rs, schema 3) through the library, against the
//! tests' PostgreSQL cluster: a refresh reads only the position shards that moved and gets
//! each credential's newest result right, and a shard rolled back, swapped or deleted by a
//! database administrator is refused, by a refresh as by an open.

use keyway::catalog::Catalog;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Credential, Environment, RecordId, Status, Verification};
use keyway::store::{CredentialDraft, Store};
use keyway::vault::keyslot::MemberInfo;
use keyway::vault::{Options, Unlock, VaultError};
use secrecy::SecretString;

use crate::support::pg::{PgCluster, ETL_PASSWORD};

fn options() -> Options {
    Options {
        changed_by: "tests@loopback (vault::team)".into(),
        db_password: Some(SecretString::from(ETL_PASSWORD.to_string())),
        ..Options::default()
    }
}

struct Team {
    pg: &'static PgCluster,
    database: String,
    url: std::path::PathBuf,
    identity: age::x25519::Identity,
    catalog: Catalog,
}

impl Team {
    fn new() -> Team {
        let pg = PgCluster::shared();
        let database = pg.new_database("team_shards");
        let url = std::path::PathBuf::from(pg.vault_url(&database));
        let identity = age::x25519::Identity::generate();
        let member = MemberInfo {
            name: "alice".into(),
            kind: "person".into(),
            added_at: 0,
        };
        Store::create_team(&url, &identity, member, &options()).expect("create the team vault");
        Team {
            pg,
            database,
            url,
            identity,
            catalog: Catalog::builtin().expect("catalog"),
        }
    }

    fn open(&self) -> Result<Store, VaultError> {
        Store::open_with(
            &self.url,
            Unlock::Identity(Box::new(self.identity.clone())),
            &options(),
        )
    }

    fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.database, sql)
    }
}

fn result(reason: &str, at: i64) -> Verification {
    Verification {
        status: Status::Verified,
        reason: reason.into(),
        detail: None,
        latency_ms: Some(5),
        at: Timestamp(at),
        run: None,
        tls: None,
    }
}

/// A verified Stripe credential named `name`, saved by `store`.
fn save(store: &mut Store, catalog: &Catalog, ws: &RecordId, name: &str) -> Credential {
    let draft = CredentialDraft {
        workspace: ws.clone(),
        component: "stripe".into(),
        name: name.into(),
        environment: Environment::Staging,
        changes: vec![(
            "api_key".to_string(),
            FieldValue::Secret(SecretString::from(format!("sk_test_{name}"))),
        )],
    };
    let mut c = store
        .prepare_credential(catalog, draft, None, Timestamp(1))
        .expect("prepare");
    c.record_verification(result("first check", 2));
    store.save_credential(c.clone()).expect("save");
    store
        .snapshot()
        .credentials
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .expect("saved")
}

fn latest_reason(store: &Store, id: &RecordId) -> Option<String> {
    store
        .snapshot()
        .credentials
        .iter()
        .find(|c| &c.id == id)
        .and_then(|c| c.last_verification.as_ref())
        .map(|v| v.reason.clone())
}

fn assert_damaged(e: VaultError, why: &str) {
    let text = e.to_string();
    assert!(
        matches!(e, VaultError::Corrupt { .. }) && text.contains(why),
        "{text}"
    );
}

#[test]
fn a_refresh_reads_the_moved_position_shards_and_a_shard_rolled_back_is_refused() {
    let team = Team::new();
    let mut alice = team.open().unwrap();
    let ws = alice.add_workspace("ops", Timestamp(0)).unwrap().id;
    let names: Vec<String> = (0..40).map(|i| format!("api-{i:02}")).collect();
    let saved: Vec<Credential> = names
        .iter()
        .map(|n| save(&mut alice, &team.catalog, &ws, n))
        .collect();
    // 40 credentials spread over many shards; only the shards holding one have a row, and
    // the first format's one record of every position is not there.
    let shards: Vec<String> = team
        .sql("SELECT shard FROM keyway_positions ORDER BY shard")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        shards.len() > 10 && shards.len() <= 40,
        "{} shards",
        shards.len()
    );
    assert_eq!(
        team.sql("SELECT positions IS NULL FROM keyway_meta").trim(),
        "t"
    );

    // A second process sees a new result of one credential, and only that one moves.
    let mut bob = team.open().unwrap();
    let target = &saved[7];
    let revision = target.revision.number;
    alice
        .record_verification(
            &target.id,
            revision,
            result("second check", 3),
            None,
            Timestamp(3),
        )
        .unwrap();
    let changes = bob.refresh().unwrap().expect("a change");
    assert!(!changes.reloaded);
    assert_eq!(changes.results, std::slice::from_ref(&target.id));
    assert_eq!(
        latest_reason(&bob, &target.id).as_deref(),
        Some("second check")
    );
    for other in saved.iter().filter(|c| c.id != target.id) {
        assert_eq!(
            latest_reason(&bob, &other.id).as_deref(),
            Some("first check")
        );
    }

    // The shards as they are now, then one more result: rolling its shard back to the copy
    // kept (a history rolled back by one entry, positions and all) is refused by a refresh
    // and by an open, and nothing of it is shown.
    team.sql("CREATE TABLE old_positions AS SELECT * FROM keyway_positions");
    alice
        .record_verification(
            &target.id,
            revision,
            result("third check", 4),
            None,
            Timestamp(4),
        )
        .unwrap();
    team.sql(
        "CREATE TABLE new_positions AS SELECT * FROM keyway_positions;
         UPDATE keyway_positions p SET sealed = o.sealed FROM old_positions o
         WHERE p.shard = o.shard AND p.sealed <> o.sealed",
    );
    assert_damaged(bob.refresh().unwrap_err(), "failed authentication");
    assert_eq!(
        latest_reason(&bob, &target.id).as_deref(),
        Some("second check")
    );
    assert_damaged(team.open().unwrap_err(), "failed authentication");
    team.sql(
        "UPDATE keyway_positions p SET sealed = n.sealed FROM new_positions n
         WHERE p.shard = n.shard",
    );
    bob.refresh().unwrap();
    assert_eq!(
        latest_reason(&bob, &target.id).as_deref(),
        Some("third check")
    );

    // Two shards' rows swapped, and one deleted: each refused.
    let (a, b) = (&shards[0], &shards[1]);
    let swap = format!(
        "UPDATE keyway_positions p SET sealed = o.sealed FROM keyway_positions o
         WHERE (p.shard, o.shard) IN (({a}, {b}), ({b}, {a}))"
    );
    team.sql(&swap);
    assert_damaged(team.open().unwrap_err(), "failed authentication");
    team.sql(&swap);
    team.open().expect("opens again once put back");
    team.sql(&format!("DELETE FROM keyway_positions WHERE shard = {a}"));
    assert_damaged(team.open().unwrap_err(), "are missing");
    team.sql(&format!(
        "INSERT INTO keyway_positions SELECT * FROM new_positions WHERE shard = {a}"
    ));
    let reopened = team.open().unwrap();
    assert_eq!(reopened.snapshot().credentials.len(), saved.len());
    assert_eq!(
        latest_reason(&reopened, &target.id).as_deref(),
        Some("third check")
    );
}

#[test]
fn a_refresh_after_a_teammates_add_edit_and_delete_matches_a_fresh_open() {
    let team = Team::new();
    let mut alice = team.open().unwrap();
    let ws = alice.add_workspace("ops", Timestamp(0)).unwrap().id;
    let kept = save(&mut alice, &team.catalog, &ws, "kept");
    let doomed = save(&mut alice, &team.catalog, &ws, "doomed");
    let mut bob = team.open().unwrap();
    // Alice adds one, re-checks one and deletes one; bob, who had the vault open, follows
    // each change by refreshing, and ends where a fresh open does.
    let added = save(&mut alice, &team.catalog, &ws, "added");
    alice
        .record_verification(
            &kept.id,
            kept.revision.number,
            result("again", 5),
            None,
            Timestamp(5),
        )
        .unwrap();
    bob.refresh().unwrap().expect("changes");
    alice.remove_credential(&doomed.id).unwrap();
    let changes = bob.refresh().unwrap().expect("changes");
    assert_eq!(changes.removed, std::slice::from_ref(&doomed.id));
    let fresh = team.open().unwrap();
    // Credentials hold secrets, compared by what they show (Debug redacts the secrets, which
    // are the same bytes in both: the records are) and by their latest results.
    let shown = |s: &Store| {
        let mut c: Vec<String> = s
            .snapshot()
            .credentials
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        c.sort();
        c
    };
    assert_eq!(shown(&bob), shown(&fresh));
    assert_eq!(bob.snapshot().workspaces, fresh.snapshot().workspaces);
    assert_eq!(latest_reason(&bob, &kept.id).as_deref(), Some("again"));
    assert_eq!(
        latest_reason(&bob, &added.id).as_deref(),
        Some("first check")
    );
    // Bob writes on top of what he followed: the commit's digest is the vault's.
    save(&mut bob, &team.catalog, &ws, "bobs");
    assert_eq!(team.open().unwrap().snapshot().credentials.len(), 3);
}

#[test]
fn a_running_process_refuses_an_earlier_digest_put_back_with_its_shards() {
    let team = Team::new();
    let mut alice = team.open().unwrap();
    let ws = alice.add_workspace("ops", Timestamp(0)).unwrap().id;
    let c = save(&mut alice, &team.catalog, &ws, "api");
    let mut bob = team.open().unwrap();
    // The state as it is now, kept by a database administrator.
    team.sql(
        "CREATE TABLE kept_meta AS SELECT * FROM keyway_meta;
         CREATE TABLE kept_positions AS SELECT * FROM keyway_positions",
    );
    let head: i64 = team
        .sql("SELECT max(seq) FROM keyway_change_log")
        .trim()
        .parse()
        .unwrap();
    alice
        .record_verification(
            &c.id,
            c.revision.number,
            result("failing now", 3),
            None,
            Timestamp(3),
        )
        .unwrap();
    bob.refresh().unwrap().expect("the new result");
    assert_eq!(latest_reason(&bob, &c.id).as_deref(), Some("failing now"));
    // Everything put back as it was, the newer log entries deleted and the generation moved
    // on, so that it looks like a change: bob, who saw the newer state, refuses it.
    team.sql(&format!(
        "UPDATE keyway_meta m SET record_digest = k.record_digest, generation = m.generation + 1
         FROM kept_meta k;
         UPDATE keyway_positions p SET sealed = k.sealed FROM kept_positions k WHERE p.shard = k.shard;
         DELETE FROM keyway_change_log WHERE seq > {head}"
    ));
    assert_damaged(bob.refresh().unwrap_err(), "an earlier state was put back");
    assert_eq!(latest_reason(&bob, &c.id).as_deref(), Some("failing now"));
}

#[test]
fn a_rekey_refuses_a_history_with_an_entry_deleted() {
    let team = Team::new();
    let mut alice = team.open().unwrap();
    let ws = alice.add_workspace("ops", Timestamp(0)).unwrap().id;
    let c = save(&mut alice, &team.catalog, &ws, "api");
    alice
        .record_verification(
            &c.id,
            c.revision.number,
            result("second", 3),
            None,
            Timestamp(3),
        )
        .unwrap();
    let bob = age::x25519::Identity::generate();
    alice
        .add_member(
            &bob.to_public(),
            MemberInfo {
                name: "bob".into(),
                kind: "person".into(),
                added_at: 0,
            },
        )
        .unwrap();
    team.sql("DELETE FROM keyway_results WHERE slot = 0");
    let before = team.sql("SELECT encode(key_slots, 'hex') FROM keyway_meta");
    let err = alice.remove_member("bob").unwrap_err();
    assert!(err.to_string().contains("is missing"), "{err}");
    // Nothing was re-keyed: the slots are as they were.
    assert_eq!(
        team.sql("SELECT encode(key_slots, 'hex') FROM keyway_meta"),
        before
    );
}
