//! The TUI on a team vault (issue 15) in a pseudo-terminal: unlocked with this host's identity
//! passphrase; a teammate's change arriving by LISTEN/NOTIFY; the server restarted mid-session
//! (offline, read-only, a write refused, back by itself, nothing acknowledged lost); the
//! network between going silent (no FIN, no RST: a relay that stops forwarding), under the
//! change feed or under a write. Every wait is for text on the emulated screen, with a
//! deadline.

use std::path::PathBuf;
use std::process::Output;

use portable_pty::CommandBuilder;

use super::pty::{
    binary, closed, edit_the_loopback_credential, local_modes, loopback_components, quit,
    spawn_command, Spawned, CTRL_S, ESC,
};
use crate::support::http::api_server;
use crate::support::pg::{PgCluster, ETL_PASSWORD};
use crate::support::relay::Relay;

const PASSPHRASE: &str = "team live passphrase";
const API_KEY: &str = "sk_SENTINEL_team_live_77";

/// One member's home: its own identity (under XDG_CONFIG_HOME), the loopback components, a
/// config with the floor KDF, and the team vault's URL.
struct Member {
    home: tempfile::TempDir,
    config: PathBuf,
    url: String,
}

impl Member {
    fn new(url: &str) -> Member {
        let home = tempfile::tempdir().unwrap();
        let components = home.path().join("components");
        loopback_components(&components);
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 5\n[vault]\ncomponents_dir = {:?}\n",
                components.to_string_lossy()
            ),
        )
        .unwrap();
        Member {
            home,
            config,
            url: url.to_string(),
        }
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let home = self.home.path();
        vec![
            ("HOME", home.to_path_buf()),
            ("XDG_CONFIG_HOME", home.join("config")),
            ("XDG_STATE_HOME", home.join("state")),
            ("XDG_DATA_HOME", home.join("data")),
            ("XDG_RUNTIME_DIR", home.join("run")),
        ]
    }

    /// The CLI as this member, passphrase and database password in the environment.
    fn keyway(&self, args: &[&str]) -> Output {
        let run = self.home.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let mut cmd = std::process::Command::new(binary());
        cmd.stdin(std::process::Stdio::null())
            .arg("--vault")
            .arg(&self.url)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("KEYWAY_PASSPHRASE", PASSPHRASE)
            .env("PGPASSWORD", ETL_PASSWORD)
            .env_remove("KEYWAY_VAULT")
            .env_remove("PGPASSFILE");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.keyway(args);
        assert!(
            o.status.success(),
            "keyway {args:?} exited {:?}: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// The database of the member's vault URL.
    fn database(&self) -> String {
        let path = self.url.rsplit('/').next().unwrap_or_default();
        path.split('?').next().unwrap_or_default().to_string()
    }

    /// The TUI as this member in a fresh pty: no passphrase given (the Unlock screen asks),
    /// the database password from PGPASSWORD.
    fn tui(&self) -> Spawned {
        let run = self.home.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let mut cmd = self.pty_command(&[]);
        cmd.env("PGPASSWORD", ETL_PASSWORD);
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("KEYWAY_PASSPHRASE");
        spawn_command(cmd)
    }

    /// `keyway ARGS` as this member, for a pty: its vault, config and home, no vault or
    /// passfile from the environment.
    fn pty_command(&self, args: &[&str]) -> CommandBuilder {
        let mut cmd = CommandBuilder::new(binary());
        cmd.arg("--vault");
        cmd.arg(&self.url);
        cmd.arg("--config");
        cmd.arg(&self.config);
        for arg in args {
            cmd.arg(arg);
        }
        cmd.env("TERM", "xterm-256color");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env_remove("KEYWAY_VAULT");
        cmd.env_remove("PGPASSFILE");
        cmd
    }
}

/// A relay between `member`'s keyway and `pg` (tests/support/relay.rs), from now on the
/// member's way to the vault, with a short answer deadline in the config (lock wait 1 s,
/// server timeout 5 s: a change feed checks its connection every 5 s) and a 5 s connect
/// timeout in the URL: short for the test's time, long for a loaded machine's server.
fn through_relay(member: &mut Member, pg: &PgCluster) -> Relay {
    let mut config = std::fs::read_to_string(&member.config).unwrap();
    config.push_str("lock_wait_secs = 1\nserver_timeout_secs = 5\n");
    std::fs::write(&member.config, config).unwrap();
    let relay = Relay::start(([127, 0, 0, 1], pg.port).into());
    let database = member.database();
    member.url = format!(
        "postgresql://etl@{}/{database}?sslmode=disable&connect_timeout=5",
        relay.addr
    );
    relay
}

/// A loopback API server, on a runtime of its own, and a team vault in a new database of `pg`:
/// alice (the first member) with workspace acme and the verified Loopback API credential
/// "first" for that server. Bound in this order, they are dropped server first.
fn team_with_one_credential(
    pg: &PgCluster,
) -> (
    tokio::runtime::Runtime,
    crate::support::http::ApiServer,
    Member,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let database = pg.new_database("live");
    let alice = Member::new(&pg.vault_url(&database));
    alice.ok(&["init", "--url", &alice.url, "--member", "alice"]);
    alice.ok(&["workspace", "add", "acme"]);
    add_credential(&alice, "first", &server.base_url());
    (rt, server, alice)
}

fn add_credential(member: &Member, name: &str, base_url: &str) {
    let base = format!("base_url={base_url}");
    let key = format!("api_key={API_KEY}");
    member.ok(&crate::support::add_loopback_args(
        name,
        &["-f", &base, "-f", &key],
    ));
}

/// Types this host's identity passphrase on the Unlock screen and waits for the grid.
fn unlock(tty: &mut super::pty::Tty) {
    tty.wait_for("Unlock the team vault");
    tty.line(PASSPHRASE);
    tty.wait_for("ws: acme");
}

#[test]
fn a_teammates_change_reaches_the_open_tui_by_notify() {
    let pg = PgCluster::shared();
    let (_rt, server, alice) = team_with_one_credential(pg);
    // Bob, with a home and identity of his own, becomes a member.
    let bob = Member::new(&alice.url);
    let bob_key = bob.ok(&["member", "keygen"]);
    alice.ok(&["member", "add", "bob", bob_key.trim()]);

    let (child, mut tty, screen, reader_thread, master) = alice.tui();
    unlock(&mut tty);
    tty.send("/");
    tty.send("loopback api");
    tty.send("\r");
    tty.wait_for("Loopback API · api_key · 1 credential(s)");
    // The TUI listens on a connection of its own (it does not poll a team vault).
    let database = alice.database();
    // The listen task connects after the grid is drawn: wait for its connection to show.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let listening = pg.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' \
                 AND query = 'LISTEN keyway_changes'"
            ),
        );
        if listening.trim() == "1" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no single LISTEN connection within 60 s: {listening}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Bob adds a credential from his host; no key is pressed until alice's TUI shows it.
    add_credential(&bob, "second", &server.base_url());
    tty.wait_for("Loopback API · api_key · 2 credential(s)");
    tty.wait_for("second");
    tty.send(ESC);
    tty.wait_for("✓ 2");
    let raw = quit(child, tty, master, reader_thread, &screen);
    let drawn = String::from_utf8_lossy(&raw);
    assert!(!drawn.contains(API_KEY) && !drawn.contains(PASSPHRASE));
}

#[test]
fn the_server_restarted_mid_session_the_tui_goes_offline_read_only_and_comes_back() {
    // A cluster of its own: stopping it must not disturb the tests sharing the other one.
    let pg = PgCluster::start();
    let (_rt, _server, alice) = team_with_one_credential(&pg);
    let (child, mut tty, screen, reader_thread, master) = alice.tui();
    unlock(&mut tty);
    tty.wait_for("✓ 1");

    pg.stop_server();
    tty.wait_for("offline, read-only");
    // What was shown stays; a write is refused at once, with why, and never queued.
    tty.wait_for("✓ 1");
    tty.send("w");
    tty.wait_for(" Workspaces ");
    tty.send("n");
    tty.wait_for("Name of the new workspace");
    tty.line("during-outage");
    tty.wait_for("offline, read-only: nothing was saved");

    pg.start_server();
    tty.wait_until_gone("offline, read-only");
    tty.wait_for("Back online");
    tty.send(ESC);
    tty.wait_for("✓ 1");
    quit(child, tty, master, reader_thread, &screen);

    // Nothing acknowledged was lost, and the refused write was not queued.
    let listed = alice.ok(&["credential", "list", "-w", "acme"]);
    assert!(listed.contains("first"), "{listed}");
    let workspaces = alice.ok(&["workspace", "list"]);
    assert!(!workspaces.contains("during-outage"), "{workspaces}");
}

#[test]
fn the_change_feeds_connection_going_silent_takes_the_tui_offline_and_it_comes_back() {
    let pg = PgCluster::shared();
    let (_rt, _server, mut alice) = team_with_one_credential(pg);
    let relay = through_relay(&mut alice, pg);
    let (child, mut tty, screen, reader_thread, master) = alice.tui();
    unlock(&mut tty);
    tty.wait_for("✓ 1");
    // The feed listens, and its first check (a LISTEN again, 5 s later) was answered.
    assert!(
        relay.wait_sent(
            b"LISTEN keyway_changes",
            2,
            std::time::Duration::from_secs(60)
        ),
        "the change feed never listened through the relay"
    );

    // Packets stop; no connection is closed. The feed's next check goes unanswered.
    relay.go_silent();
    tty.wait_for("offline, read-only");
    // Its reconnection attempts meet the same silence (each ends at the connect timeout)...
    tty.wait_for("✓ 1");
    relay.resume();
    // ...and the first after forwarding resumes brings it back.
    tty.wait_until_gone("offline, read-only");
    tty.wait_for("Back online");
    quit(child, tty, master, reader_thread, &screen);
}

#[test]
fn a_save_that_finds_the_server_gone_before_the_feed_does_goes_offline_at_once_and_keeps_the_form()
{
    let pg = PgCluster::shared();
    let (_rt, _server, mut alice) = team_with_one_credential(pg);
    let relay = through_relay(&mut alice, pg);
    let (child, mut tty, screen, reader_thread, master) = alice.tui();
    unlock(&mut tty);
    // name, environment, base URL, API key → account
    edit_the_loopback_credential(&mut tty, 4);
    tty.send("typed-before-outage");
    // Only the store's connection goes silent, at the moment its write asks for its turn;
    // the change feed's stays healthy, so it is the write that must find the server gone.
    relay.go_silent_when_sent(b"lock_timeout");
    tty.send(CTRL_S);
    tty.wait_for("Not saved: the team vault's server"); // (the panel wraps the rest)
    tty.wait_for("offline, read-only");
    assert!(relay.wait_triggered(std::time::Duration::ZERO));
    // Nothing typed is lost: the form is still open with it.
    tty.wait_for("Edit Loopback API credential");
    tty.wait_for("typed-before-outage");
    // The reconnection (the relay forwards new connections) brings it back; the same form
    // then saves.
    tty.wait_until_gone("offline, read-only");
    tty.send(CTRL_S);
    tty.wait_for("Saved 'first' (verified");
    quit(child, tty, master, reader_thread, &screen);
    alice.url = pg.vault_url(
        alice
            .url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap(),
    );
    let shown = alice.ok(&["credential", "show", "-w", "acme", "first", "--json"]);
    assert!(shown.contains("typed-before-outage"), "{shown}");
}

#[test]
fn a_rekey_by_another_member_reloads_open_tuis_with_their_own_slot_and_the_removed_one_is_told() {
    let pg = PgCluster::shared();
    let (_rt, server, alice) = team_with_one_credential(pg);
    let (bob, carol) = (Member::new(&alice.url), Member::new(&alice.url));
    for (name, member) in [("bob", &bob), ("carol", &carol)] {
        let key = member.ok(&["member", "keygen"]);
        alice.ok(&["member", "add", name, key.trim()]);
    }
    let (mut alice_child, mut alice_tty, alice_screen, alice_reader, alice_master) = alice.tui();
    let (mut carol_child, mut carol_tty, carol_screen, carol_reader, carol_master) = carol.tui();
    unlock(&mut alice_tty);
    unlock(&mut carol_tty);
    alice_tty.wait_for("✓ 1");
    carol_tty.wait_for("✓ 1");

    // Bob removes carol: a new data key, wrapped for alice and bob only.
    bob.ok(&["member", "rm", "carol"]);
    // Carol's TUI does not reload (its slot is gone): it says she was removed.
    carol_tty.wait_for("you were removed from the team vault");
    carol_tty.wait_for("Unlock the team vault");
    // Alice's TUI reloaded under the new key with her own slot: what bob adds under it shows.
    add_credential(&bob, "second", &server.base_url());
    alice_tty.wait_for("✓ 2");
    // And alice writes under the new key from her TUI.
    alice_tty.send("w");
    alice_tty.wait_for(" Workspaces ");
    alice_tty.send("n");
    alice_tty.wait_for("Name of the new workspace");
    alice_tty.line("after-rekey");
    alice_tty.wait_for("Workspace created");
    assert!(!alice_tty.contents().contains("re-keyed"));

    for (child, tty) in [
        (&mut alice_child, &mut alice_tty),
        (&mut carol_child, &mut carol_tty),
    ] {
        tty.send("\x03"); // Ctrl-C leaves from any screen
        let status = child.wait().unwrap();
        assert!(status.success(), "keyway exited with {status:?}");
    }
    closed(alice_tty, alice_master, alice_reader, &alice_screen);
    closed(carol_tty, carol_master, carol_reader, &carol_screen);
    let listed = bob.ok(&["workspace", "list"]);
    assert!(listed.contains("after-rekey"), "{listed}");
    // Carol's identity opens nothing now.
    let o = carol.keyway(&["workspace", "list"]);
    assert_eq!(o.status.code(), Some(3));
}

/// `keyway ARGS` as `member` in a fresh pty with no database password anywhere (no
/// PGPASSWORD, no passfile in its home): keyway must ask on the terminal.
fn without_db_password(member: &Member, args: &[&str]) -> Spawned {
    let mut cmd = member.pty_command(args);
    cmd.env("KEYWAY_PASSPHRASE", PASSPHRASE);
    cmd.env_remove("PGPASSWORD");
    spawn_command(cmd)
}

/// Waits for the prompt and for the terminal's echo to be off (the prompt is printed just
/// before echo is turned off: typing earlier would be echoed by the tty itself), then types
/// `password`.
fn answer_prompt(tty: &mut super::pty::Tty, master: &dyn portable_pty::MasterPty, password: &str) {
    tty.wait_for("for the database:");
    let start = std::time::Instant::now();
    while local_modes(master) & libc::ECHO as libc::tcflag_t != 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "echo never went off: {}",
            tty.contents()
        );
        std::thread::sleep(std::time::Duration::from_millis(10)); // poll interval, not pacing
    }
    tty.line(password);
}

#[test]
fn the_database_password_is_asked_on_the_terminal_and_a_wrong_one_is_refused() {
    let pg = PgCluster::shared();
    let database = pg.new_database("prompt");
    let alice = Member::new(&pg.vault_url(&database));
    alice.ok(&["init", "--url", &alice.url, "--member", "alice"]);
    alice.ok(&["workspace", "add", "acme"]);
    assert!(!alice.home.path().join(".pgpass").exists());

    // A command: the right password typed at the prompt.
    let (mut child, mut tty, _screen, _reader, master) =
        without_db_password(&alice, &["workspace", "list"]);
    answer_prompt(&mut tty, &*master, ETL_PASSWORD);
    tty.wait_for("acme");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", tty.contents());
    assert!(
        !tty.contents().contains(ETL_PASSWORD),
        "the password was echoed"
    );

    // A wrong one: the server's refusal, exit 1 (README: a login the server refuses).
    let (mut child, mut tty, _screen, _reader, master) =
        without_db_password(&alice, &["workspace", "list"]);
    answer_prompt(&mut tty, &*master, "not-the-password");
    tty.wait_for("password authentication failed");
    let status = child.wait().unwrap();
    assert_eq!(status.exit_code(), 1, "{}", tty.contents());
    assert!(!tty.contents().contains("acme"));

    // The TUI asks before it takes the terminal, and its change feed logs in with it too: a
    // rename by another process shows without a key pressed.
    let (child, mut tty, screen, reader, master) = without_db_password(&alice, &[]);
    answer_prompt(&mut tty, &*master, ETL_PASSWORD);
    tty.wait_for("ws: acme");
    alice.ok(&["workspace", "rename", "acme", "renamed"]);
    tty.wait_for("ws: renamed");
    let raw = quit(child, tty, master, reader, &screen);
    assert!(!String::from_utf8_lossy(&raw).contains(ETL_PASSWORD));
}
