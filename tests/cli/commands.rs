//! The headless CLI through the real binary: commands, JSON shapes, exit codes, passphrase
//! sources, and secrets kept out of every output without --reveal.

use crate::support::*;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Environment, Flow, FlowStep};
use keyway::store::CredentialDraft;
use secrecy::SecretString;
use serde_json::Value;

const SENTINEL: &str = "SENTINEL-cli-4b7e2d";

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// A vault holding workspace "acme" with a Stripe credential whose key is the sentinel, used by
/// an active flow.
fn seeded() -> TestVault {
    let v = TestVault::new();
    let mut store = v.create();
    let catalog = keyway::catalog::Catalog::builtin().unwrap();
    let w = store.add_workspace("acme", Timestamp(1)).unwrap();
    store.add_workspace("empty", Timestamp(1)).unwrap();
    let draft = CredentialDraft {
        workspace: w.id.clone(),
        component: "stripe".into(),
        name: "billing".into(),
        environment: Environment::Production,
        changes: vec![(
            "api_key".into(),
            FieldValue::Secret(SecretString::from(SENTINEL)),
        )],
    };
    let c = store
        .prepare_credential(&catalog, draft, None, Timestamp(2))
        .unwrap();
    store.save_credential(c.clone()).unwrap();
    store
        .save_flow(Flow {
            id: keyway::vault::crypto::fresh_id(),
            workspace: w.id,
            name: "payments-sync".into(),
            environment: Environment::Production,
            steps: vec![FlowStep {
                component: "stripe".into(),
                credential: c.id,
            }],
            active: true,
            created_at: Timestamp(3),
            updated_at: Timestamp(3),
            revision: Default::default(),
        })
        .unwrap();
    v
}

#[test]
fn init_then_workspaces_through_the_binary() {
    let v = TestVault::new();
    let o = v.keyway(&["init"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(v.path.exists());
    // init refuses to overwrite
    let o = v.keyway(&["init"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let o = v.keyway(&["workspace", "add", "acme"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("workspace 'acme' already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&v.keyway(&["workspace", "rename", "acme", "acme-corp"])),
        0
    );
    let list = json(&v.keyway(&["workspace", "list", "--json"]));
    assert_eq!(list[0]["name"], "acme-corp");
    assert_eq!(code(&v.keyway(&["workspace", "rm", "acme-corp"])), 0);
    assert_eq!(
        json(&v.keyway(&["workspace", "list", "--json"])),
        Value::Array(vec![])
    );
}

#[test]
fn deleting_a_workspace_with_records_needs_force() {
    let v = seeded();
    let o = v.keyway(&["workspace", "rm", "acme"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        json(&v.keyway(&["workspace", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let o = v.keyway(&["workspace", "rm", "acme", "--force"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let creds = json(&v.keyway(&["credential", "list", "--json"]));
    assert_eq!(creds, Value::Array(vec![]));
}

#[test]
fn json_shapes_are_stable() {
    let v = seeded();
    let comps = json(&v.keyway(&["component", "list", "--workspace", "acme", "--json"]));
    let comps = comps.as_array().unwrap();
    assert!(comps.len() >= 15);
    let stripe = comps.iter().find(|c| c["id"] == "stripe").unwrap();
    for key in ["id", "name", "kind", "credentials"] {
        assert!(stripe.get(key).is_some(), "component missing {key}");
    }
    assert_eq!(stripe["credentials"], 1);
    assert_eq!(stripe["kind"], "api_key");
    let github = comps.iter().find(|c| c["id"] == "github").unwrap();
    assert_eq!(github["credentials"], 0);
    let empty = json(&v.keyway(&["component", "list", "-w", "empty", "--json"]));
    assert!(empty
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["credentials"] == 0));

    let creds = json(&v.keyway(&["credential", "list", "--workspace", "acme", "--json"]));
    let c = &creds[0];
    for key in [
        "workspace",
        "component",
        "name",
        "environment",
        "status",
        "verified_at",
        "fields",
    ] {
        assert!(c.get(key).is_some(), "credential missing {key}");
    }
    assert_eq!(c["workspace"], "acme");
    assert_eq!(c["environment"], "production");
    assert_eq!(c["status"], "never");
    assert_eq!(c["fields"]["api_key"], "********");
    assert_eq!(c["fields"]["base_url"], "https://api.stripe.com");

    let shown = json(&v.keyway(&["credential", "show", "-w", "acme", "billing", "--json"]));
    assert_eq!(shown["name"], "billing");
    assert_eq!(shown["fields"]["api_key"], "********");
    let revealed = json(&v.keyway(&[
        "credential",
        "show",
        "-w",
        "acme",
        "billing",
        "--json",
        "--reveal",
    ]));
    assert_eq!(revealed["fields"]["api_key"], SENTINEL);
}

#[test]
fn the_sentinel_secret_stays_out_of_every_output_without_reveal() {
    let v = seeded();
    let commands: Vec<Vec<&str>> = vec![
        vec!["workspace", "list"],
        vec!["workspace", "list", "--json"],
        vec!["component", "list", "-w", "acme"],
        vec!["credential", "list"],
        vec!["credential", "list", "--json"],
        vec!["credential", "show", "-w", "acme", "billing"],
        vec!["credential", "show", "-w", "acme", "billing", "--json"],
        vec!["credential", "rm", "-w", "acme", "billing"],
        vec!["credential", "show", "-w", "acme", "nope"],
    ];
    for args in commands {
        let o = v.keyway(&args);
        assert!(!stdout(&o).contains(SENTINEL), "stdout of {args:?}");
        assert!(!stderr(&o).contains(SENTINEL), "stderr of {args:?}");
    }
    let o = v.keyway(&["credential", "show", "-w", "acme", "billing", "--reveal"]);
    assert!(stdout(&o).contains(SENTINEL), "--reveal shows the secret");
    let bytes = file_bytes(&v.path);
    assert!(!bytes
        .windows(SENTINEL.len())
        .any(|w| w == SENTINEL.as_bytes()));
}

#[test]
fn a_credential_used_by_an_active_flow_is_not_deleted() {
    let v = seeded();
    let o = v.keyway(&["credential", "rm", "-w", "acme", "billing"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("'payments-sync'"), "{err}");
    assert!(err.contains("delete those flows or rebind"), "{err}");
    assert_eq!(
        json(&v.keyway(&["credential", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn exit_codes_follow_the_readme() {
    let v = seeded();
    // 2: usage
    assert_eq!(code(&v.keyway(&["credential", "frobnicate"])), 2);
    assert_eq!(
        code(&v.keyway(&["component", "list", "--json", "--bogus"])),
        2
    );
    // 3: wrong passphrase
    let o = v.keyway_with(
        &["workspace", "list"],
        &[("KEYWAY_PASSPHRASE", "nope")],
        None,
    );
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("wrong passphrase"));
    // 4: missing, foreign
    let missing = TestVault::new();
    let o = missing.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 4);
    assert!(stderr(&o).contains("keyway init"));
    std::fs::create_dir_all(missing.path.parent().unwrap()).unwrap();
    std::fs::write(&missing.path, b"not a vault at all").unwrap();
    let o = missing.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 4);
    assert!(
        stderr(&o).contains("is not a keyway vault"),
        "{}",
        stderr(&o)
    );
    // 1: a rule
    assert_eq!(code(&v.keyway(&["workspace", "rm", "nope"])), 1);
    // errors are one line on stderr, nothing on stdout
    let o = v.keyway(&["workspace", "rm", "nope"]);
    assert_eq!(stderr(&o).trim().lines().count(), 1);
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_writer_waits_for_another_write_then_gives_up_with_exit_5_and_readers_never_wait() {
    let v = seeded();
    std::fs::write(
        &v.config,
        "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[vault]\nlock_wait_secs = 1\n",
    )
    .unwrap();
    let holder = hold_write(&v.path);
    // Readers are never refused and never wait for the writer.
    let o = v.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A writer waits vault.lock_wait_secs for the write lock, then says what it waited for.
    let o = v.keyway(&["workspace", "add", "late"]);
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("being written by another keyway process")
            && err.contains("waited 1 s")
            && err.contains("vault.lock_wait_secs")
            && err.contains("nothing was written"),
        "{err}"
    );
    drop(holder);
    assert!(!stdout(&v.keyway(&["workspace", "list"])).contains("late"));
    // Once the other write is over, it goes through.
    assert_eq!(code(&v.keyway(&["workspace", "add", "late"])), 0);
    assert!(stdout(&v.keyway(&["workspace", "list"])).contains("late"));
}

#[test]
fn passphrase_sources_and_passwd() {
    let v = seeded();
    let file = v.dir.path().join("pass.txt");
    std::fs::write(&file, format!("{PASS}\n")).unwrap();
    let f = file.to_string_lossy().into_owned();
    let o = v.keyway_with(&["--passphrase-file", &f, "workspace", "list"], &[], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // no source at all, not on a terminal
    let o = v.keyway_with(&["workspace", "list"], &[], None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("KEYWAY_PASSPHRASE"));
    // passwd: new passphrase from KEYWAY_NEW_PASSPHRASE
    let o = v.keyway_with(
        &["passwd"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_NEW_PASSPHRASE", "brand new"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(code(&v.keyway(&["workspace", "list"])), 3);
    let o = v.keyway_with(
        &["workspace", "list"],
        &[("KEYWAY_PASSPHRASE", "brand new")],
        None,
    );
    assert_eq!(code(&o), 0);
}

#[test]
fn config_errors_name_the_key_and_the_file() {
    let v = seeded();
    std::fs::write(&v.config, "[verify]\nconcurency = 4\n").unwrap();
    let o = v.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("concurency") && err.contains("config.toml"),
        "{err}"
    );
    std::fs::write(&v.config, "[kdf]\nmemory_kib = 1024\n").unwrap();
    let err = stderr(&v.keyway(&["workspace", "list"]));
    assert!(
        err.contains("kdf.memory_kib") && err.contains("config.toml"),
        "{err}"
    );
    // an explicitly named config file must exist
    std::fs::remove_file(&v.config).unwrap();
    assert_eq!(code(&v.keyway(&["workspace", "list"])), 2);
}

#[test]
fn every_command_has_help() {
    let v = TestVault::new();
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["passwd", "--help"],
        vec!["workspace", "add", "--help"],
        vec!["workspace", "rm", "--help"],
        vec!["component", "list", "--help"],
        vec!["credential", "show", "--help"],
        vec!["credential", "rm", "--help"],
    ] {
        let o = v.keyway(&args);
        assert_eq!(code(&o), 0, "{args:?}");
        assert!(stdout(&o).contains("Usage"), "{args:?}");
    }
}
