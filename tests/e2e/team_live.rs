//! The TUI on a team vault (issue 15) in a pseudo-terminal: unlocked with this host's identity
//! passphrase; a teammate's change arriving by LISTEN/NOTIFY; the server restarted mid-session
//! (offline, read-only, a write refused, back by itself, nothing acknowledged lost). Every wait
//! is for text on the emulated screen, with a deadline.

use std::path::PathBuf;
use std::process::Output;

use portable_pty::CommandBuilder;

use super::pty::{binary, closed, loopback_components, spawn_command, Spawned, ESC};
use crate::support::http::api_server;
use crate::support::pg::{PgCluster, ETL_PASSWORD};

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

    /// The TUI as this member in a fresh pty: no passphrase given (the Unlock screen asks),
    /// the database password from PGPASSWORD.
    fn tui(&self) -> Spawned {
        let run = self.home.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let mut cmd = CommandBuilder::new(binary());
        cmd.arg("--vault");
        cmd.arg(&self.url);
        cmd.arg("--config");
        cmd.arg(&self.config);
        cmd.env("TERM", "xterm-256color");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env("PGPASSWORD", ETL_PASSWORD);
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("KEYWAY_VAULT");
        cmd.env_remove("KEYWAY_PASSPHRASE");
        cmd.env_remove("PGPASSFILE");
        spawn_command(cmd)
    }
}

/// A team vault in a new database of `pg`: alice (the first member) with workspace acme and
/// the verified Loopback API credential "first".
fn team_with_one_credential(pg: &PgCluster, base_url: &str) -> Member {
    let database = pg.new_database("live");
    let alice = Member::new(&pg.vault_url(&database));
    alice.ok(&["init", "--url", &alice.url, "--member", "alice"]);
    alice.ok(&["workspace", "add", "acme"]);
    add_credential(&alice, "first", base_url);
    alice
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
    tty.wait_for("Unlock the vault");
    tty.line(PASSPHRASE);
    tty.wait_for("ws: acme");
}

#[test]
fn a_teammates_change_reaches_the_open_tui_by_notify() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let pg = PgCluster::shared();
    let alice = team_with_one_credential(pg, &server.base_url());
    // Bob, with a home and identity of his own, becomes a member.
    let bob = Member::new(&alice.url);
    let bob_key = bob.ok(&["member", "keygen"]);
    alice.ok(&["member", "add", "bob", bob_key.trim()]);

    let (mut child, mut tty, screen, reader_thread, master) = alice.tui();
    unlock(&mut tty);
    tty.send("/");
    tty.send("loopback api");
    tty.send("\r");
    tty.wait_for("Loopback API · api_key · 1 credential(s)");
    // The TUI listens on a connection of its own (it does not poll a team vault).
    let database = alice
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let listening = pg.psql(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' \
             AND query = 'LISTEN keyway_changes'"
        ),
    );
    assert_eq!(listening.trim(), "1", "one LISTEN connection");

    // Bob adds a credential from his host; no key is pressed until alice's TUI shows it.
    add_credential(&bob, "second", &server.base_url());
    tty.wait_for("Loopback API · api_key · 2 credential(s)");
    tty.wait_for("second");
    tty.send(ESC);
    tty.wait_for("✓ 2");
    tty.send("q");
    let status = child.wait().unwrap();
    assert!(status.success(), "keyway exited with {status:?}");
    let raw = closed(tty, master, reader_thread, &screen);
    let drawn = String::from_utf8_lossy(&raw);
    assert!(!drawn.contains(API_KEY) && !drawn.contains(PASSPHRASE));
}

#[test]
fn the_server_restarted_mid_session_the_tui_goes_offline_read_only_and_comes_back() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    // A cluster of its own: stopping it must not disturb the tests sharing the other one.
    let pg = PgCluster::start();
    let alice = team_with_one_credential(&pg, &server.base_url());
    let (mut child, mut tty, screen, reader_thread, master) = alice.tui();
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
    tty.send("q");
    let status = child.wait().unwrap();
    assert!(status.success(), "keyway exited with {status:?}");
    closed(tty, master, reader_thread, &screen);

    // Nothing acknowledged was lost, and the refused write was not queued.
    let listed = alice.ok(&["credential", "list", "-w", "acme"]);
    assert!(listed.contains("first"), "{listed}");
    let workspaces = alice.ok(&["workspace", "list"]);
    assert!(!workspaces.contains("during-outage"), "{workspaces}");
}
