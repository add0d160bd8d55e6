//! A team vault's change log (issue 15) through the real binary: who did what, names
//! decrypted for a member, filters; a database administrator's deleted or edited log row, and
//! deleted newest rows, each reported as a broken chain by `keyway log` and `keyway audit`.

use std::process::Output;

use serde_json::Value;

use super::team_vault::Team;
use crate::support::*;

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// alice's team vault with bob as a member, and a few changes by each.
fn team_with_history() -> (Team, Team) {
    let alice = Team::new();
    alice.ok(&["init", "--url", &alice.url(), "--member", "alice"]);
    let bob = alice.join();
    let key = stdout(&bob.ok(&["member", "keygen"])).trim().to_string();
    alice.ok(&["member", "add", "bob", &key]);
    alice.ok(&["workspace", "add", "ws_SENTINEL_log"]);
    bob.ok(&["workspace", "add", "other"]);
    bob.ok(&["workspace", "rename", "other", "renamed"]);
    alice.ok(&["workspace", "rm", "renamed"]);
    (alice, bob)
}

#[test]
fn the_log_shows_who_did_what_with_names_decrypted() {
    let (alice, bob) = team_with_history();
    let log = json(&bob.ok(&["log", "--json"]));
    let entries = log.as_array().unwrap();
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            let member = e["member"].as_str().unwrap();
            (
                member.split(',').next().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expect = |m: &str, a: &str, t: &str| (m.to_string(), a.to_string(), t.to_string());
    assert_eq!(
        summary,
        [
            expect("alice", "member added", "bob"),
            expect("alice", "workspace added", "ws_SENTINEL_log"),
            expect("bob", "workspace added", "other"),
            expect("bob", "workspace renamed", "renamed"),
            expect("alice", "workspace removed", "renamed"),
        ]
    );
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert!(e["at"].as_str().is_some(), "{e}");
        for key in [
            "seq",
            "member",
            "action",
            "workspace",
            "target",
            "revision",
            "at",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }
    assert_eq!(entries[3]["revision"], 2);
    // The server holds no name of it.
    let dump = alice.pg.pg_dump(&alice.database);
    assert!(!String::from_utf8_lossy(&dump).contains("ws_SENTINEL_log"));
    // Filters.
    let recent = json(&alice.ok(&["log", "--json", "--since", "1h"]));
    assert_eq!(recent.as_array().unwrap().len(), 5);
    let future = json(&alice.ok(&["log", "--json", "--since", "2999-01-01T00:00:00Z"]));
    assert_eq!(future, Value::Array(vec![]));
    let o = alice.keyway(&["log", "--since", "yesterday-ish"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // member list: the last change of each from the log; reading wrote nothing.
    let before = alice.sql("SELECT generation FROM keyway_meta");
    let members = json(&alice.ok(&["member", "list", "--json"]));
    assert!(members[0]["last_change_at"].as_str().is_some(), "{members}");
    assert!(members[1]["last_change_at"].as_str().is_some(), "{members}");
    assert_eq!(alice.sql("SELECT generation FROM keyway_meta"), before);
    alice.ok(&["log"]);
}

/// `keyway log` and `keyway audit` both exit 1 naming entry `seq`.
fn assert_broken_at(t: &Team, seq: u64) {
    for args in [vec!["log"], vec!["audit"]] {
        let o = t.keyway(&args);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("the change log of") && err.contains(&format!("broken at entry {seq}")),
            "{args:?}: {err}"
        );
        if args[0] == "log" {
            assert!(stdout(&o).is_empty(), "{}", stdout(&o));
        }
    }
}

#[test]
fn a_deleted_or_edited_log_row_is_a_broken_chain() {
    let (alice, _bob) = team_with_history();
    alice.ok(&["log"]);
    alice.ok(&["audit"]);
    alice.sql("CREATE TABLE saved_log AS SELECT * FROM keyway_change_log");
    let restore =
        "DELETE FROM keyway_change_log; INSERT INTO keyway_change_log SELECT * FROM saved_log";

    // A middle row deleted.
    alice.sql("DELETE FROM keyway_change_log WHERE seq = 3");
    assert_broken_at(&alice, 3);
    alice.sql(restore);
    alice.ok(&["log"]);

    // A row edited (one byte of its ciphertext).
    alice.sql(
        "UPDATE keyway_change_log SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) WHERE seq = 2",
    );
    assert_broken_at(&alice, 2);
    alice.sql(restore);

    // A row's ciphertext replaced by another's.
    alice.sql(
        "UPDATE keyway_change_log SET sealed = (SELECT sealed FROM saved_log WHERE seq = 4) WHERE seq = 5",
    );
    assert_broken_at(&alice, 5);
    alice.sql(restore);

    // The newest rows deleted: the head sealed with the record digest still names them.
    alice.sql("DELETE FROM keyway_change_log WHERE seq >= 4");
    assert_broken_at(&alice, 4);
    alice.sql(restore);
    alice.ok(&["log"]);
    alice.ok(&["audit"]);
}
