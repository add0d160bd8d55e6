//! Encrypted export and import through the real binary: round trip, refusal of damaged or
//! wrongly-keyed files with nothing changed, name conflicts, and verification on import.

use crate::support::http::api_server;
use crate::support::{code, stderr, stdout, TestVault, PASS};
use serde_json::Value;

const SECRET: &str = "sk_SENTINEL_transfer_33";
const EXPORT_PASS: &str = "export passphrase";

fn run(v: &TestVault, args: &[&str]) -> std::process::Output {
    v.keyway_with(
        args,
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_EXPORT_PASSPHRASE", EXPORT_PASS),
        ],
        None,
    )
}

fn names(v: &TestVault, workspace: &str) -> Vec<String> {
    let o = run(v, &["credential", "list", "-w", workspace, "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let mut n: Vec<String> = list
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn export_import_round_trip_conflicts_and_damage() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(SECRET, None));
    let base = format!("base_url={}", server.base_url());
    let a = TestVault::with_loopback_component();
    assert_eq!(code(&run(&a, &["workspace", "add", "acme"])), 0);
    for name in ["billing", "ledger"] {
        let key = format!("api_key={SECRET}");
        let o = a.add_loopback(name, &["-f", &base, "-f", &key]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    // Two rechecks that find what the save did: billing's history is one run of three checks.
    for _ in 0..2 {
        let o = run(&a, &["credential", "verify", "-w", "acme", "billing"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let file = a.dir.path().join("acme.kwx");
    let f = file.to_string_lossy().into_owned();
    let o = run(&a, &["export", "-w", "acme", &f]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "plaintext secret in export"
    );
    assert!(!stdout(&o).contains(SECRET) && !stderr(&o).contains(SECRET));
    // Never overwrites.
    assert_eq!(code(&run(&a, &["export", "-w", "acme", &f])), 1);

    // Another host's vault: import creates the workspace and verifies each credential.
    let b = TestVault::with_loopback_component();
    let o = run(&b, &["import", &f]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(names(&b, "acme"), vec!["billing", "ledger"]);
    let o = run(
        &b,
        &[
            "credential",
            "show",
            "-w",
            "acme",
            "billing",
            "--json",
            "--reveal",
        ],
    );
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["fields"]["api_key"], SECRET);
    assert_eq!(shown["status"], "verified");
    // The history came along, its run intact, headed by the import's own verification (a new
    // entry: the credential is new to this vault).
    let history = shown["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{shown}");
    assert!(history.iter().all(|h| h["status"] == "verified"));
    assert_eq!(history[0]["checks"], 1, "{shown}");
    assert_eq!(history[1]["checks"], 3, "{shown}");

    // Conflicts: refused without a choice when not on a terminal; skip; rename.
    let o = run(&b, &["import", &f]);
    assert_eq!(code(&o), 1, "a name taken is a rule: {}", stderr(&o));
    assert!(stderr(&o).contains("--on-conflict"));
    let o = run(&b, &["import", &f, "--on-conflict", "skip"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("0 added, 0 rejected, 0 unreachable, 0 unmappable, 2 skipped"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("skipped      loopback_api/billing: the name 'billing' is taken"),
        "{}",
        stdout(&o)
    );
    assert_eq!(names(&b, "acme").len(), 2);
    assert_eq!(
        code(&run(&b, &["import", &f, "--on-conflict", "rename"])),
        0
    );
    assert_eq!(
        names(&b, "acme"),
        vec!["billing", "billing-2", "ledger", "ledger-2"]
    );
    let o = run(&b, &["import", &f, "--on-conflict", "rename", "--verbose"]);
    assert!(
        stdout(&o).contains("added        loopback_api/billing-3"),
        "--verbose names what was added: {}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains(": 2 added, 0 rejected"),
        "{}",
        stdout(&o)
    );
    // Into another workspace, unverified on request.
    let o = run(&b, &["import", &f, "-w", "staging-copy", "--no-verify"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&b, &["credential", "list", "-w", "staging-copy", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(list.iter().all(|c| c["status"] == "unverified"));

    // Damaged, truncated, wrong passphrase: refused, nothing changes.
    let before = names(&b, "acme");
    let mut damaged = bytes.clone();
    let at = damaged.len() - 40;
    damaged[at] ^= 0x01;
    let damaged_path = b.dir.path().join("damaged.kwx");
    std::fs::write(&damaged_path, &damaged).unwrap();
    let truncated_path = b.dir.path().join("truncated.kwx");
    std::fs::write(&truncated_path, &bytes[..bytes.len() / 2]).unwrap();
    for p in [&damaged_path, &truncated_path] {
        let o = run(
            &b,
            &[
                "import",
                &p.to_string_lossy(),
                "-w",
                "fresh",
                "--on-conflict",
                "rename",
            ],
        );
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("nothing was imported"),
            "{}",
            stderr(&o)
        );
    }
    let o = b.keyway_with(
        &["import", &f, "-w", "fresh"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_EXPORT_PASSPHRASE", "wrong"),
        ],
        None,
    );
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("wrong export passphrase"),
        "{}",
        stderr(&o)
    );
    assert_eq!(names(&b, "acme"), before);
    let o = run(&b, &["workspace", "list", "--json"]);
    let ws: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        ws.iter().all(|w| w["name"] != "fresh"),
        "no workspace created by a failed import"
    );
    drop(rt);
}

#[test]
fn a_damaged_history_does_not_keep_credentials_from_being_exported() {
    let a = TestVault::with_loopback_component();
    assert_eq!(code(&run(&a, &["workspace", "add", "acme"])), 0);
    let key = format!("api_key={SECRET}");
    // Nothing listens on a free port: saved unverified, which records a first result.
    let closed = crate::support::closed_base_url();
    let o = a.add_loopback("billing", &["-f", &closed, "-f", &key, "--save-unverified"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A second result (unreachable again), so the first is history and no longer the latest.
    let o = run(&a, &["credential", "verify", "-w", "acme", "billing"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // Flip a byte of the first result (slot 0) behind keyway's back.
    {
        let history = keyway::vault::tables::HISTORY;
        let db = redb::Database::open(&a.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            use redb::ReadableTable;
            let mut t = txn.open_table(history).unwrap();
            let ids: Vec<String> = t
                .iter()
                .unwrap()
                .map(|e| e.unwrap().0.value().1.to_string())
                .collect();
            assert_eq!(ids.len(), 2);
            let key = (0, ids[0].as_str());
            let mut bytes = t.get(key).unwrap().unwrap().value().to_vec();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            t.insert(key, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let o = run(&a, &["credential", "show", "-w", "acme", "billing"]);
    assert_eq!(code(&o), 4, "the damage is reported: {}", stderr(&o));
    assert!(
        stderr(&o).contains("history entry 0") && stderr(&o).contains("failed authentication"),
        "{}",
        stderr(&o)
    );

    let file = a.dir.path().join("acme.kwx");
    let o = run(&a, &["export", "-w", "acme", &file.to_string_lossy()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("warning: exporting loopback_api/billing without its verification history"),
        "{}",
        stderr(&o)
    );
    let b = TestVault::with_loopback_component();
    let o = run(&b, &["import", &file.to_string_lossy(), "--no-verify"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(names(&b, "acme"), vec!["billing"]);
}

#[test]
fn import_verifies_and_skips_what_the_service_rejects() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(SECRET, None));
    let base = format!("base_url={}", server.base_url());
    let a = TestVault::with_loopback_component();
    assert_eq!(code(&run(&a, &["workspace", "add", "acme"])), 0);
    let good = format!("api_key={SECRET}");
    assert_eq!(
        code(&a.add_loopback("good", &["-f", &base, "-f", &good])),
        0
    );
    // Stored unverified while its service was unreachable; it still cannot be verified, so an
    // import (which verifies everything) leaves it out.
    let closed = crate::support::closed_base_url();
    let o = a.add_loopback(
        "bad",
        &["-f", &closed, "-f", "api_key=sk_bad", "--save-unverified"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &a,
        &[
            "credential",
            "edit",
            "-w",
            "acme",
            "bad",
            "-f",
            &base,
            "--save-unverified",
        ],
    );
    assert_eq!(code(&o), 1, "the service rejects its key: {}", stderr(&o));
    let file = a.dir.path().join("x.kwx");
    let f = file.to_string_lossy().into_owned();
    assert_eq!(code(&run(&a, &["export", "-w", "acme", &f])), 0);
    let b = TestVault::with_loopback_component();
    let o = run(&b, &["import", &f]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("unreachable  loopback_api/bad: "),
        "{}",
        stdout(&o)
    );
    assert!(
        !stdout(&o).contains("added        "),
        "no --verbose: {}",
        stdout(&o)
    );
    assert_eq!(names(&b, "acme"), vec!["good"]);
    drop(rt);
}
