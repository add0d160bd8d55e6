//! A team vault's server that goes silent mid-way: no FIN, no RST, the packets just stop being
//! answered (a relay between keyway and the real PostgreSQL stops forwarding while keeping both
//! sockets open, tests/support/relay.rs). To TCP that connection is healthy, so only keyway's
//! own answer deadline (vault.server_timeout_secs) ends the wait: the command exits 7 with one
//! sentence, never hangs, and a write that was cut off saved nothing.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::team_vault::Team;
use crate::support::pg::ETL_PASSWORD;
use crate::support::relay::Relay;
use crate::support::*;

/// How long a test waits for a command that must end by itself (well above the 1 s lock wait
/// plus 5 s server timeout the config gives, on a slow machine).
const DEADLINE: Duration = Duration::from_secs(90);

/// A team vault whose config keeps the server's answer deadline short, with one workspace.
fn team() -> Team {
    let t = Team::new();
    let mut config = std::fs::read_to_string(&t.v.config).unwrap();
    assert!(config.trim_end().contains("[vault]"), "{config}");
    config.push_str("lock_wait_secs = 1\nserver_timeout_secs = 5\n");
    std::fs::write(&t.v.config, config).unwrap();
    t.ok(&["init", "--url", &t.url()]);
    t.ok(&["workspace", "add", "acme"]);
    t
}

/// The team vault's URL through `relay`, with `extra` query parameters.
fn via(t: &Team, relay: &Relay, extra: &str) -> String {
    format!(
        "postgresql://etl@{}/{}?sslmode=disable{extra}",
        relay.addr, t.database
    )
}

/// Runs keyway on `url`; fails the test if it has not ended within DEADLINE (killing it).
fn run_bounded(t: &Team, url: &str, args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_keyway"))
        .arg("--vault")
        .arg(url)
        .arg("--config")
        .arg(&t.v.config)
        .args(args)
        .env_remove("KEYWAY_VAULT")
        .env_remove("PGPASSFILE")
        .env("HOME", t.v.dir.path())
        .env("XDG_CONFIG_HOME", t.v.dir.path().join("xdg-config"))
        .env("KEYWAY_PASSPHRASE", PASS)
        .env("PGPASSWORD", ETL_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keyway");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("wait for keyway"),
        Err(_) => {
            // SAFETY: signalling the child this test started, which has not been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("keyway {args:?} still waited on a silent server after {DEADLINE:?}");
        }
    }
}

fn assert_unreachable_sentence(o: &Output, says: &str) {
    assert_eq!(code(o), 7, "{}", stderr(o));
    let err = stderr(o);
    assert!(
        err.contains("the team vault's server cannot be reached")
            && err.contains(says)
            && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_read_or_a_write_the_server_stops_answering_mid_way_exits_7_and_saves_nothing() {
    let t = team();
    let relay = Relay::start(([127, 0, 0, 1], t.pg.port).into());
    let url = via(&t, &relay, "");
    // Connected, logged in and the schema checked; silent from the read transaction on.
    relay.go_silent_when_sent(b"REPEATABLE READ");
    let o = run_bounded(&t, &url, &["workspace", "list"]);
    assert!(relay.wait_triggered(Duration::ZERO), "the read never began");
    assert_unreachable_sentence(&o, "stopped answering");

    // A write: silent from the moment it asks for its turn.
    let relay = Relay::start(([127, 0, 0, 1], t.pg.port).into());
    let url = via(&t, &relay, "");
    relay.go_silent_when_sent(b"lock_timeout");
    let o = run_bounded(&t, &url, &["workspace", "add", "cut_off"]);
    assert!(
        relay.wait_triggered(Duration::ZERO),
        "the write never began"
    );
    assert_unreachable_sentence(&o, "stopped answering");
    relay.resume();
    let list = stdout(&t.ok(&["workspace", "list"]));
    assert!(list.contains("acme") && !list.contains("cut_off"), "{list}");
}

#[test]
fn a_server_that_accepts_the_connection_and_never_answers_exits_7_after_the_connect_timeout() {
    let t = team();
    let relay = Relay::start(([127, 0, 0, 1], t.pg.port).into());
    relay.go_silent();
    let url = via(&t, &relay, "&connect_timeout=2");
    let o = run_bounded(&t, &url, &["workspace", "list"]);
    assert_eq!(relay.accepted(), 1);
    assert_unreachable_sentence(&o, "did not answer in time (connect timeout 2 s)");
}
