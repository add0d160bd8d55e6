//! A team vault's members (issue 15) through the real binary: two members with separate
//! homes and identities at once, a machine member for cron, removal with its re-key (under a
//! concurrent reader, and killed with -9 in the middle), the removed identity opening nothing.

use std::process::{Output, Stdio};

use serde_json::Value;

use super::team_vault::Team;
use crate::support::pg::ETL_PASSWORD;
use crate::support::*;

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// This home's public key, made by `member keygen`.
fn keygen(t: &Team) -> String {
    let o = t.ok(&["member", "keygen"]);
    let key = stdout(&o).trim().to_string();
    assert!(key.starts_with("age1"), "{key}");
    key
}

/// A team vault of alice's, with bob (another home) added as a member.
fn alice_and_bob() -> (Team, Team) {
    let alice = Team::new();
    alice.ok(&["init", "--url", &alice.url(), "--member", "alice"]);
    let bob = alice.join();
    let bob_key = keygen(&bob);
    // Not a member yet: refused, with what to do.
    let o = bob.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("member add"), "{}", stderr(&o));
    alice.ok(&["member", "add", "bob", &bob_key]);
    (alice, bob)
}

#[test]
fn two_members_with_their_own_homes_and_identities_work_on_one_team_vault_at_once() {
    let (alice, bob) = alice_and_bob();
    let members = json(&alice.ok(&["member", "list", "--json"]));
    let names: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    for m in members.as_array().unwrap() {
        assert_eq!(m["kind"], "person");
        assert!(m["added_at"].as_str().is_some(), "{m}");
        assert!(m["public_key"].as_str().unwrap().starts_with("age1"));
    }
    // Concurrent adds from both members all land.
    let children: Vec<_> = (0..6)
        .map(|i| {
            let who = if i % 2 == 0 { &alice } else { &bob };
            let mut cmd = who.v.command(
                &["workspace", "add", &format!("ws-{i}")],
                &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)],
            );
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("spawn keyway")
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().expect("wait");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let listed = json(&bob.ok(&["workspace", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 6, "{listed}");
    // Two renames from the same revision: alice's (from the host KEYWAY_MEMBER names) wins,
    // bob's exits 6 naming alice, the member, and where she wrote from.
    let o = alice.v.keyway_with(
        &[
            "workspace",
            "rename",
            "ws-0",
            "first",
            "--expect-revision",
            "1",
        ],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("PGPASSWORD", ETL_PASSWORD),
            ("KEYWAY_MEMBER", "alice@ops-1"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = bob.keyway(&[
        "workspace",
        "rename",
        "ws-0",
        "second",
        "--expect-revision",
        "1",
    ]);
    assert_eq!(code(&o), 1, "ws-0 is gone by name: {}", stderr(&o));
    let o = bob.keyway(&[
        "workspace",
        "rename",
        "first",
        "second",
        "--expect-revision",
        "1",
    ]);
    assert_eq!(code(&o), 6, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("workspace 'first' was changed by alice (alice@ops-1) at "),
        "{}",
        stderr(&o)
    );
    let listed = json(&alice.ok(&["workspace", "list", "--json"]));
    let first = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "first")
        .expect("alice's rename");
    assert_eq!(
        first["changed_by"],
        "alice, alice@ops-1 (keyway workspace rename)"
    );
}

#[test]
fn removing_a_member_rekeys_and_their_identity_opens_nothing_afterwards() {
    let (alice, bob) = alice_and_bob();
    alice.ok(&["workspace", "add", "acme"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(crate::support::http::api_server(
        "sk_SENTINEL_members",
        None,
    ));
    let base = format!("base_url={}", server.base_url());
    for name in ["billing", "ledger"] {
        bob.ok(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "loopback_api",
            "-n",
            name,
            "-f",
            &base,
            "-f",
            "api_key=sk_SENTINEL_members",
        ]);
    }
    let old_slots = alice.sql("SELECT encode(key_slots, 'hex') FROM keyway_meta");
    // A reader keeps reading while the re-key runs: every read sees one whole state.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let alice_reads = alice.reader();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                let o = alice_reads(&["credential", "list", "--json"]);
                assert_eq!(code(&o), 0, "a read during the re-key: {}", stderr(&o));
                let list: Value = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
                reads += 1;
            }
            reads
        })
    };
    let o = alice.ok(&["member", "rm", "bob"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().expect("reader") > 0);
    let out = stdout(&o);
    assert!(
        out.contains("Removed member 'bob' and re-keyed")
            && out.contains("acme/billing")
            && out.contains("acme/ledger"),
        "{out}"
    );
    // Bob is refused; his identity is in no slot.
    let o = bob.keyway(&["credential", "list"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    // Even with the old key slots put back by a database administrator, what bob's identity
    // unwraps (the old key) opens none of the re-encrypted records.
    let new_slots = alice.sql("SELECT encode(key_slots, 'hex') FROM keyway_meta");
    alice.sql(&format!(
        "UPDATE keyway_meta SET key_slots = decode('{}', 'hex')",
        old_slots.trim()
    ));
    let o = bob.keyway(&["credential", "list"]);
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(!stderr(&o).contains("billing"), "{}", stderr(&o));
    alice.sql(&format!(
        "UPDATE keyway_meta SET key_slots = decode('{}', 'hex')",
        new_slots.trim()
    ));
    let list = json(&alice.ok(&["credential", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    // The last member cannot be removed.
    let o = alice.keyway(&["member", "rm", "alice"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("last member"), "{}", stderr(&o));
}

#[test]
fn a_machine_member_reads_with_its_identity_file_and_no_passphrase() {
    let alice = Team::new();
    alice.ok(&["init", "--url", &alice.url(), "--member", "alice"]);
    alice.ok(&["workspace", "add", "acme"]);
    let file = alice.v.dir.path().join("cron.identity");
    let file_text = file.to_string_lossy().into_owned();
    let o = alice.ok(&["member", "keygen", "--machine", &file_text]);
    let key = stdout(&o).trim().to_string();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    alice.ok(&["member", "add", "--machine", "cron", &key]);
    let cron = alice.join();
    let run = |args: &[&str]| {
        cron.v.keyway_with(
            args,
            &[
                ("KEYWAY_IDENTITY", file_text.as_str()),
                ("PGPASSWORD", ETL_PASSWORD),
            ],
            None,
        )
    };
    let o = run(&["workspace", "list", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)[0]["name"], "acme");
    let o = run(&["audit"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let members = json(&alice.ok(&["member", "list", "--json"]));
    assert_eq!(members[1]["name"], "cron");
    assert_eq!(members[1]["kind"], "machine");
    // An identity file others can read is refused.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&["workspace", "list"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
}

#[test]
fn a_rekey_killed_at_any_moment_leaves_the_vault_wholly_under_one_key() {
    let (alice, bob) = alice_and_bob();
    // Enough records that the re-key's transaction is open for a while.
    let mut store = alice.open_store();
    for i in 0..300 {
        store
            .add_workspace(&format!("w{i:03}"), keyway::core::time::Timestamp(1))
            .expect("workspace");
    }
    drop(store);
    let bob_key = {
        let list = json(&alice.ok(&["member", "list", "--json"]));
        list[1]["public_key"].as_str().unwrap().to_string()
    };
    // A watcher on a connection of its own, polling without a pause: the re-key rewrites the
    // records in one statement, so the window between it and the commit is short.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let watcher = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=etl password={ETL_PASSWORD} dbname={}",
                alice.pg.port, alice.database
            ),
            tokio_postgres::NoTls,
        )
        .await
        .expect("the watcher connects");
        tokio::spawn(connection);
        client
    });
    // Another backend holds the row lock of a write to keyway_records: rewritten, not committed.
    let rewriting = || {
        rt.block_on(watcher.query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE a.pid <> pg_backend_pid() AND l.granted AND l.mode = 'RowExclusiveLock'
               AND l.relation = 'keyway_records'::regclass",
            &[],
        ))
        .expect("poll pg_locks")
        .get::<_, i64>(0)
            > 0
    };
    let mut killed_mid_transaction = 0;
    for _ in 0..5 {
        let mut child = alice
            .v
            .command(
                &["member", "rm", "bob"],
                &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn rm");
        // The signal: the server shows the re-key's rewritten records in its open transaction.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut seen = false;
        while std::time::Instant::now() < deadline {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            if rewriting() {
                seen = true;
                break;
            }
        }
        if seen {
            let _ = child.kill();
            killed_mid_transaction += 1;
        }
        let _ = child.wait();
        // Wholly one key: alice reads every record, and bob is a member exactly when the
        // removal did not commit.
        let list = json(&alice.ok(&["workspace", "list", "--json"]));
        assert_eq!(list.as_array().unwrap().len(), 300);
        let members = json(&alice.ok(&["member", "list", "--json"]));
        let bob_in = members.as_array().unwrap().len() == 2;
        let o = bob.keyway(&["workspace", "list", "--json"]);
        assert_eq!(code(&o), if bob_in { 0 } else { 3 }, "{}", stderr(&o));
        if !bob_in {
            alice.ok(&["member", "add", "bob", &bob_key]);
        }
    }
    assert!(
        killed_mid_transaction > 0,
        "no round caught the re-key in its transaction"
    );
}
