//! kill -9 at random moments while a child commits records: after each round the vault opens
//! and every acknowledged record is there. The same for passphrase changes: the vault always
//! opens with the old or the new passphrase, and with the new one once its change was acknowledged.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;
use keyway::store::Store;
use rand::Rng;

/// Starts the writer, kills it after `delay`, returns every acknowledged line.
fn run_and_kill(args: &[&str], pass: &str, delay: Duration) -> Vec<String> {
    let mut child = child_command(args)
        .env("KEYWAY_PASSPHRASE", pass)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child process");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(delay);
    // SIGKILL: no destructor, no flush, no clean close.
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    rx.try_iter()
        .filter_map(|l| l.find("ack ").map(|at| l[at + 4..].to_string()))
        .collect()
}

#[test]
fn acknowledged_records_survive_kill_9() {
    let v = TestVault::new();
    drop(v.create());
    let mut rng = rand::thread_rng();
    let path = v.path.to_string_lossy().into_owned();
    let mut acknowledged: Vec<String> = Vec::new();
    let rounds = 200;
    for round in 0..rounds {
        // From "before the vault is even open" to "well into a run of commits".
        let delay = Duration::from_millis(rng.gen_range(0..60));
        let prefix = format!("r{round}");
        let acks = run_and_kill(&[&path, "write", &prefix], PASS, delay);
        acknowledged.extend(acks);
        let store = Store::open(&v.path, PASS.as_bytes())
            .unwrap_or_else(|e| panic!("round {round}: vault does not open after kill -9: {e}"));
        let names: std::collections::HashSet<&str> = store
            .snapshot()
            .workspaces
            .iter()
            .map(|w| w.name.as_str())
            .collect();
        for name in &acknowledged {
            assert!(
                names.contains(name.as_str()),
                "round {round}: acknowledged '{name}' lost"
            );
        }
    }
    assert!(
        acknowledged.len() > rounds / 2,
        "too few commits were acknowledged ({}) for the test to mean much",
        acknowledged.len()
    );
}

#[test]
fn passphrase_changes_survive_kill_9() {
    let v = TestVault::new();
    drop(v.create());
    let (a, b) = (PASS, "the second passphrase");
    let path = v.path.to_string_lossy().into_owned();
    let mut rng = rand::thread_rng();
    let mut current = a.to_string();
    let mut changes = 0;
    for round in 0..100 {
        let other = if current == a { b } else { a };
        let delay = Duration::from_millis(rng.gen_range(0..250));
        let acks = run_and_kill(&[&path, "passwd", &current, other], &current, delay);
        changes += acks.len();
        let opens_with = |p: &str| Store::open(&v.path, p.as_bytes()).is_ok();
        match acks.last() {
            // The last acknowledged change must hold (a later unacknowledged one may too).
            Some(last) => {
                let next = if last == a { b } else { a };
                assert!(
                    opens_with(last) || opens_with(next),
                    "round {round}: opens with neither passphrase"
                );
                current = if opens_with(last) {
                    last.clone()
                } else {
                    next.to_string()
                };
            }
            None => {
                assert!(
                    opens_with(&current) || opens_with(other),
                    "round {round}: vault lost"
                );
                if !opens_with(&current) {
                    current = other.to_string();
                }
            }
        }
    }
    assert!(
        changes > 20,
        "only {changes} passphrase changes acknowledged"
    );
}
