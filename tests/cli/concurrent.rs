//! The real binary beside other processes: reads, audits and adds go through while another
//! process (an open TUI, say) holds the vault; an audit whose credential gets a new secret while
//! it is being checked does not mark the new one verified; `keyway rekey` leaves old copies and
//! old keys opening nothing of the vault, while other processes must unlock again.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::support::http::{api_server, serve};
use crate::support::*;
use keyway::vault::{Options, Unlock, VaultError};

const KEY: &str = "sk_SENTINEL_concurrent";

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn reads_audits_and_adds_go_through_while_another_process_holds_the_vault() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let key = format!("api_key={KEY}");
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let o = v.add_loopback("first", &["-f", &base, "-f", &key]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let holder = hold(&v.path);
    let o = v.keyway(&["credential", "list", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o).as_array().unwrap().len(), 1);
    let o = v.keyway(&["audit", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)[0]["status"], "verified");
    // The secret from stdin is read once, and the add is not refused for the holder.
    let o = v.keyway_with(
        &add_loopback_args("second", &["-f", &base, "-f", "api_key=-"]),
        &[("KEYWAY_PASSPHRASE", PASS)],
        Some(&format!("{KEY}\n")),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    drop(holder);
    let names: Vec<String> = json(&v.keyway(&["credential", "list", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["first", "second"]);
}

/// A loopback API that accepts KEY, and, while armed, holds each request until released,
/// saying first that it arrived: a verification caught in mid-flight, on cue.
struct Gate {
    armed: AtomicBool,
    arrived: Mutex<Option<mpsc::Sender<()>>>,
    release: tokio::sync::Semaphore,
}

async fn gated(State(gate): State<Arc<Gate>>, headers: HeaderMap) -> Response {
    if gate.armed.load(Ordering::SeqCst) {
        if let Some(tx) = gate.arrived.lock().unwrap().take() {
            let _ = tx.send(());
        }
        let _permit = gate.release.acquire().await;
    }
    let auth = headers.get("authorization").and_then(|h| h.to_str().ok());
    if auth == Some(format!("Bearer {KEY}").as_str()) {
        Json(json!({"account": {"id": "acct_gate"}})).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn gate_server(gate: Arc<Gate>) -> SocketAddr {
    serve(Router::new().route("/v1/me", get(gated)).with_state(gate)).await
}

/// Issue 11: an audit that verifies a credential while another process saves a new secret for
/// it must not mark the new revision verified. The audit's request is held at the server until
/// the new secret is saved, so the order is certain.
#[test]
fn an_audit_never_marks_a_secret_saved_during_its_check_as_verified() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (arrived_tx, arrived) = mpsc::channel();
    let gate = Arc::new(Gate {
        armed: AtomicBool::new(false),
        arrived: Mutex::new(Some(arrived_tx)),
        release: tokio::sync::Semaphore::new(0),
    });
    let addr = rt.block_on(gate_server(gate.clone()));
    let v = TestVault::with_loopback_component();
    // A long deadline: the audit's check waits at the gate for as long as the edit takes.
    let config = std::fs::read_to_string(&v.config)
        .unwrap()
        .replace("deadline_secs = 3", "deadline_secs = 120");
    std::fs::write(&v.config, config).unwrap();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let base = format!("base_url=http://{addr}");
    let o = v.add_loopback("billing", &["-f", &base, "-f", &format!("api_key={KEY}")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    gate.armed.store(true, Ordering::SeqCst);
    let audit = v
        .command(&["audit", "--json"], &[("KEYWAY_PASSPHRASE", PASS)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    arrived
        .recv_timeout(Duration::from_secs(120))
        .expect("the audit's check reached the server");
    // Meanwhile, another process saves a new secret (unverified: its service is elsewhere).
    let o = v.keyway(&[
        "credential",
        "edit",
        "-w",
        "acme",
        "billing",
        "-f",
        "api_key=sk_SENTINEL_the_new_one",
        "-f",
        &closed_base_url(),
        "--save-unverified",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    gate.release.add_permits(1);
    let audit = audit.wait_with_output().unwrap();
    // The audit verified the old secret, recorded nothing, and says so.
    assert_eq!(code(&audit), 1, "{}", stderr(&audit));
    let rows = json(&audit);
    assert_eq!(rows[0]["status"], "changed", "{rows}");
    let listed = json(&v.keyway(&["credential", "list", "--json"]));
    assert_eq!(listed[0]["status"], "unverified", "{listed}");
    assert_eq!(listed[0]["revision"], 2);
    let shown = json(&v.keyway(&["credential", "show", "-w", "acme", "billing", "--json"]));
    let history: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["unverified", "verified"], "{shown}");
}

/// `keyway rekey`: exit 0, the passphrase kept, every record under a new data key. A copy of
/// the vault made before (and a passphrase changed since) still opens as the copy it is, but
/// its key opens nothing of the vault; a process that had the vault open must unlock again.
#[test]
fn rekey_leaves_old_copies_and_old_keys_opening_nothing_of_the_vault() {
    let v = TestVault::with_workspace("acme");
    let copy = v.dir.path().join("old-copy.redb");
    std::fs::copy(&v.path, &copy).unwrap();
    let o = v.keyway_with(
        &["passwd"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_NEW_PASSPHRASE", "a newer passphrase"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let new_pass = "a newer passphrase";
    let mut open_before = keyway::store::Store::open(&v.path, new_pass.as_bytes()).unwrap();
    let o = v.keyway_with(&["rekey"], &[("KEYWAY_PASSPHRASE", new_pass)], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Re-keyed"), "{}", stdout(&o));
    // The passphrase is what it was; the data is all there.
    let o = v.keyway_with(
        &["workspace", "list"],
        &[("KEYWAY_PASSPHRASE", new_pass)],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("acme"));
    // The process that had it open finds out at its next access.
    let err = open_before
        .add_workspace("late", keyway::core::time::Timestamp(2))
        .unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");
    assert!(err.to_string().contains("re-keyed"), "{err}");
    // The old copy opens with the old passphrase (it is a copy), but its key opens nothing of
    // the vault.
    let old = keyway::store::Store::open(&copy, PASS.as_bytes()).unwrap();
    let old_key = old.vault().data_key().clone();
    let err = keyway::store::Store::open_with(
        &v.path,
        Unlock::Key(Box::new(old_key)),
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase(_)), "{err}");
}
