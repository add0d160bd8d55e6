//! Session benchmark (issue 18): N commands through the real binary on a vault with the KDF
//! calibrated on this machine (`keyway init` without [kdf] settings, as a user gets), each
//! paying the KDF with the passphrase, against the same N commands with a session token from
//! `keyway unlock` (the key comes from the agent; no derivation). Timings, not a test: the
//! suite asserts the KDF is skipped by its debug line, never by time.
//!
//! Run: `cargo bench --bench session` (about a minute). Prints the totals and per-command medians.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COMMANDS: usize = 50;
const PASSPHRASE: &str = "correct horse battery staple";

fn keyway(
    vault: &Path,
    runtime: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyway"));
    cmd.arg("--vault")
        .arg(vault)
        .arg("--config")
        .arg(vault.with_file_name("config.toml"))
        .args(args)
        .stdin(Stdio::null())
        .env_remove("KEYWAY_PASSPHRASE")
        .env_remove("KEYWAY_SESSION")
        .env("XDG_RUNTIME_DIR", runtime);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run keyway");
    assert!(
        o.status.success(),
        "keyway {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn run_all(label: &str, mut one: impl FnMut()) -> (Duration, Duration) {
    let mut each = Vec::with_capacity(COMMANDS);
    let start = Instant::now();
    for _ in 0..COMMANDS {
        let t = Instant::now();
        one();
        each.push(t.elapsed());
    }
    let total = start.elapsed();
    each.sort();
    let median = each[each.len() / 2];
    println!(
        "{label:<28} {COMMANDS} commands: {:>7.2} s total, median {:>7.1} ms",
        total.as_secs_f64(),
        median.as_secs_f64() * 1000.0
    );
    (total, median)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = dir.path().join("vault.redb");
    std::fs::write(dir.path().join("config.toml"), "").expect("config");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).expect("runtime dir");
    let pass = [("KEYWAY_PASSPHRASE", PASSPHRASE)];
    let o = keyway(&vault, &runtime, &["init"], &pass);
    print!("{}", String::from_utf8_lossy(&o.stdout));
    keyway(&vault, &runtime, &["workspace", "add", "acme"], &pass);

    let (with_kdf, _) = run_all("with the passphrase (KDF)", || {
        keyway(
            &vault,
            &runtime,
            &["credential", "list", "-w", "acme"],
            &pass,
        );
    });
    let o = keyway(&vault, &runtime, &["unlock", "--for", "10m"], &pass);
    let line = String::from_utf8_lossy(&o.stdout).into_owned();
    let token = line
        .trim()
        .strip_prefix("export KEYWAY_SESSION=")
        .expect("token")
        .to_string();
    let session = [("KEYWAY_SESSION", token.as_str())];
    let (with_session, _) = run_all("with a session (no KDF)", || {
        keyway(
            &vault,
            &runtime,
            &["credential", "list", "-w", "acme"],
            &session,
        );
    });
    keyway(&vault, &runtime, &["lock"], &[]);
    println!(
        "the session's commands took {:.1}% of the time ({:.1}x faster)",
        100.0 * with_session.as_secs_f64() / with_kdf.as_secs_f64(),
        with_kdf.as_secs_f64() / with_session.as_secs_f64()
    );
}
