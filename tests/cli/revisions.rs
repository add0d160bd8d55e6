//! Revisions for scripts, through the real binary: `revision`, `changed_by` and `changed_at` in
//! the JSON of workspaces, credentials and flows; `--expect-revision N` on every command that
//! changes an existing record (a mismatch exits 6 with nothing written); two edits from one
//! revision (the first wins, the second gets 6, nothing else is lost); and every command that
//! only reads leaves the vault's bytes as they were.

use serde_json::Value;
use sha2::Digest;

use crate::support::http::api_server;
use crate::support::*;

const KEY: &str = "sk_SENTINEL_revisions";

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn sha256(v: &TestVault) -> Vec<u8> {
    sha2::Sha256::digest(file_bytes(&v.path)).to_vec()
}

/// A vault with workspace acme, two loopback credentials (billing, ledger) verified against
/// `base`, and an inactive flow "sync" on billing.
fn seeded(base: &str) -> TestVault {
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let key = format!("api_key={KEY}");
    for name in ["billing", "ledger"] {
        let o = v.add_loopback(name, &["-f", base, "-f", &key]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let o = v.keyway(&[
        "flow",
        "add",
        "-w",
        "acme",
        "-n",
        "sync",
        "--step",
        "loopback_api=billing",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    v
}

fn revision_of(list: &Value, name: &str) -> u64 {
    let found = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"));
    found["revision"].as_u64().unwrap()
}

#[test]
fn json_output_carries_each_records_revision_and_who_changed_it_when() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let v = seeded(&format!("base_url={}", server.base_url()));
    for args in [
        vec!["workspace", "list", "--json"],
        vec!["credential", "list", "--json"],
        vec!["flow", "list", "--json"],
    ] {
        let list = json(&v.keyway(&args));
        for record in list.as_array().unwrap() {
            assert_eq!(record["revision"], 1, "{args:?}: {record}");
            let by = record["changed_by"].as_str().unwrap();
            assert!(
                by.contains('@') && by.contains("(keyway "),
                "{args:?}: {by}"
            );
            let at = record["changed_at"].as_str().unwrap();
            assert!(keyway::core::time::parse_user_time(at).is_some(), "{at}");
        }
    }
    let shown = json(&v.keyway(&["credential", "show", "-w", "acme", "billing", "--json"]));
    assert_eq!(shown["revision"], 1);
    assert!(shown["changed_by"]
        .as_str()
        .unwrap()
        .ends_with("(keyway credential add)"));
    // A change moves the revision on and says who made it; recording a result does not.
    let o = v.keyway(&["credential", "verify", "-w", "acme", "billing"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway(&["flow", "activate", "-w", "acme", "sync"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let flows = json(&v.keyway(&["flow", "list", "--json"]));
    assert_eq!(revision_of(&flows, "sync"), 2);
    assert!(flows[0]["changed_by"]
        .as_str()
        .unwrap()
        .ends_with("(keyway flow activate)"));
    let creds = json(&v.keyway(&["credential", "list", "--json"]));
    assert_eq!(revision_of(&creds, "billing"), 1);
}

#[test]
fn expect_revision_refuses_every_change_of_a_record_that_moved_on_with_exit_6() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let v = seeded(&base);
    let key = format!("api_key={KEY}");
    // Each on what the ones before it left.
    let commands: Vec<Vec<&str>> = vec![
        vec!["credential", "edit", "-w", "acme", "ledger", "-f", &key],
        vec![
            "flow",
            "rebind",
            "-w",
            "acme",
            "sync",
            "--step",
            "loopback_api=ledger",
        ],
        vec!["flow", "activate", "-w", "acme", "sync"],
        vec!["flow", "deactivate", "-w", "acme", "sync"],
        vec!["flow", "rm", "-w", "acme", "sync"],
        vec!["credential", "rm", "-w", "acme", "ledger"],
        vec!["workspace", "rename", "acme", "acme2"],
        vec!["workspace", "rm", "acme2", "--force"],
    ];
    for args in commands {
        let kind = args[0];
        let list = json(&v.keyway(&[kind, "list", "--json"]));
        let name = if kind == "workspace" {
            args[2]
        } else {
            args[4]
        };
        let current = revision_of(&list, name);
        let wrong = (current + 5).to_string();
        let before = sha256(&v);
        let mut stale = args.clone();
        stale.extend(["--expect-revision", &wrong]);
        let o = v.keyway(&stale);
        assert_eq!(code(&o), 6, "{stale:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(" since you read it: ")
                && err.contains(&format!("it is now revision {current} (written by keyway "))
                && err.contains(&format!("you had revision {wrong}"))
                && err.contains("nothing was written"),
            "{stale:?}: {err}"
        );
        assert_eq!(sha256(&v), before, "{stale:?} wrote to the vault");
        // With the revision it has, it goes through.
        let current = current.to_string();
        let mut right = args.clone();
        right.extend(["--expect-revision", &current]);
        let o = v.keyway(&right);
        assert_eq!(code(&o), 0, "{right:?}: {}", stderr(&o));
    }
    assert_eq!(
        json(&v.keyway(&["workspace", "list", "--json"])),
        Value::Array(vec![])
    );
}

#[test]
fn two_edits_from_the_same_revision_the_first_wins_the_second_exits_6() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let v = seeded(&base);
    let read = json(&v.keyway(&["credential", "show", "-w", "acme", "billing", "--json"]));
    let revision = read["revision"].as_u64().unwrap().to_string();
    // Two writers on two hosts (KEYWAY_MEMBER stands in for user@host).
    let as_writer = |writer: &str, args: &[&str]| {
        v.keyway_with(
            args,
            &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_MEMBER", writer)],
            None,
        )
    };
    let first = as_writer(
        "alice@ops-1",
        &[
            "credential",
            "edit",
            "-w",
            "acme",
            "billing",
            "--env",
            "production",
            "--expect-revision",
            &revision,
        ],
    );
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let second = as_writer(
        "bob@ops-2",
        &[
            "credential",
            "edit",
            "-w",
            "acme",
            "billing",
            "--rename",
            "billing-2",
            "--expect-revision",
            &revision,
        ],
    );
    assert_eq!(code(&second), 6, "{}", stderr(&second));
    // The message names who won and from which host, when, and what it overtook.
    let err = stderr(&second);
    assert!(
        err.contains("credential 'billing' was changed by alice@ops-1 at ")
            && err.contains(" since you read it: it is now revision 2 (written by keyway credential edit); you had revision 1; nothing was written"),
        "{err}"
    );
    assert!(!err.contains("bob@ops-2"), "{err}");
    let after = json(&v.keyway(&["credential", "list", "--json"]));
    let names: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing", "ledger"], "nothing else changed or lost");
    let billing = &after[0];
    assert_eq!(billing["environment"], "production");
    assert_eq!(billing["revision"], 2);
    assert_eq!(
        billing["changed_by"],
        "alice@ops-1 (keyway credential edit)"
    );
    assert_eq!(after[1]["revision"], 1);
    let flows = json(&v.keyway(&["flow", "list", "--json"]));
    assert_eq!(flows[0]["steps"][0]["credential"], "billing");
}

#[test]
fn a_keyway_member_that_cannot_name_a_writer_is_a_usage_error_that_writes_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let v = seeded(&format!("base_url={}", server.base_url()));
    let before = sha256(&v);
    for (bad, why) in [
        ("", "must not be empty"),
        ("alice (ops-1)", "must not contain '('"),
        ("alice, ops-1", "must not contain ','"),
        (
            "alice\u{1b}[31m@ops-1",
            "must not contain control characters",
        ),
    ] {
        let o = v.keyway_with(
            &["workspace", "add", "other"],
            &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_MEMBER", bad)],
            None,
        );
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("KEYWAY_MEMBER") && err.contains(why),
            "{bad:?}: {err}"
        );
        assert_eq!(sha256(&v), before, "{bad:?} wrote to the vault");
    }
}

#[test]
fn every_command_that_only_reads_leaves_the_vault_bytes_unchanged() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let v = seeded(&format!("base_url={}", server.base_url()));
    let export = v.dir.path().join("acme.kwx");
    let export = export.to_string_lossy().into_owned();
    let reads: Vec<Vec<&str>> = vec![
        vec!["workspace", "list"],
        vec!["workspace", "list", "--json"],
        vec!["credential", "list"],
        vec!["credential", "list", "-w", "acme", "--json"],
        vec!["credential", "show", "-w", "acme", "billing"],
        vec![
            "credential",
            "show",
            "-w",
            "acme",
            "billing",
            "--json",
            "--reveal",
        ],
        vec!["flow", "list"],
        vec!["flow", "list", "--json"],
        vec!["component", "list", "-w", "acme"],
        vec!["component", "show", "loopback_api"],
        vec!["export", "-w", "acme", &export],
    ];
    for args in reads {
        let before = sha256(&v);
        let o = v.keyway_with(
            &args,
            &[
                ("KEYWAY_PASSPHRASE", PASS),
                ("KEYWAY_EXPORT_PASSPHRASE", "an export passphrase"),
            ],
            None,
        );
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_eq!(sha256(&v), before, "{args:?} changed the vault's bytes");
    }
    // Refused reads leave it alone too.
    for args in [
        vec!["credential", "show", "-w", "acme", "nope"],
        vec!["workspace", "list", "--bogus"],
    ] {
        let before = sha256(&v);
        assert_ne!(code(&v.keyway(&args)), 0);
        assert_eq!(sha256(&v), before, "{args:?}");
    }
    let before = sha256(&v);
    let o = v.keyway_with(
        &["workspace", "list"],
        &[("KEYWAY_PASSPHRASE", "wrong")],
        None,
    );
    assert_eq!(code(&o), 3);
    assert_eq!(sha256(&v), before);
}
