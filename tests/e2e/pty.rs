//! The real binary in a pseudo-terminal: create a vault, create a workspace, add a PostgreSQL
//! credential against a loopback cluster with a wrong password (refused, counter unchanged) and
//! then the right one (saved, counter 1), quit, and check the terminal was restored. Every wait
//! is for text on the emulated screen, with a deadline; nothing is paced by sleeping.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::support::http::api_server;
use crate::support::mariadb::{self, MariaDb};
use crate::support::oauth::{provider, DeviceStep, USER_CODE};
use crate::support::pg::{PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};

const ROWS: u16 = 32;
const COLS: u16 = 110;
const DEADLINE: Duration = Duration::from_secs(60);

pub(super) struct Screen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    closed: bool,
}

pub(super) struct Tty {
    screen: Arc<Mutex<Screen>>,
    writer: Box<dyn Write + Send>,
}

impl Tty {
    pub(super) fn contents(&self) -> String {
        self.screen.lock().unwrap().parser.screen().contents()
    }

    pub(super) fn wait_for(&self, text: &str) {
        let start = Instant::now();
        loop {
            let contents = self.contents();
            if contents.contains(text) {
                return;
            }
            if start.elapsed() > DEADLINE || self.screen.lock().unwrap().closed {
                panic!("timed out waiting for {text:?}; the screen shows:\n{contents}");
            }
            std::thread::sleep(Duration::from_millis(20)); // poll interval, not pacing
        }
    }

    /// Waits until `text` is no longer on the screen (a page was left).
    pub(super) fn wait_until_gone(&self, text: &str) {
        let start = Instant::now();
        loop {
            let contents = self.contents();
            if !contents.contains(text) {
                return;
            }
            if start.elapsed() > DEADLINE || self.screen.lock().unwrap().closed {
                panic!("timed out waiting for {text:?} to go; the screen shows:\n{contents}");
            }
            std::thread::sleep(Duration::from_millis(20)); // poll interval, not pacing
        }
    }

    pub(super) fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub(super) fn line(&mut self, text: &str) {
        self.send(text);
        self.send("\r");
    }
}

pub(super) const TAB: &str = "\t";
pub(super) const ESC: &str = "\x1b";
pub(super) const CTRL_S: &str = "\x13";
pub(super) const CTRL_U: &str = "\x15";
const LEFT: &str = "\x1b[D";

/// Fills the PostgreSQL form (focus on Name) and saves.
fn fill_pg_form(tty: &mut Tty, port: u16, password: &str) {
    tty.wait_for("New PostgreSQL credential");
    tty.send("pg-main");
    tty.send(TAB); // environment: staging
    tty.send(TAB); // from URL: left empty
    tty.send(TAB);
    tty.send("127.0.0.1");
    tty.send(TAB);
    tty.send(CTRL_U);
    tty.send(&port.to_string());
    tty.send(TAB);
    tty.send(CTRL_U);
    tty.send(ETL_DATABASE);
    tty.send(TAB);
    tty.send(ETL_USER);
    tty.send(TAB);
    tty.send(password);
    tty.send(TAB);
    tty.send(LEFT); // a pick list: ← from verify-full wraps to disable (the cluster has no TLS)
    tty.wait_for("no TLS: loopback only, the password may travel in clear");
    tty.send(CTRL_S);
}

/// Fills the MySQL / MariaDB form (focus on Name) and saves.
fn fill_mysql_form(tty: &mut Tty, port: u16, password: &str) {
    tty.wait_for("New MySQL / MariaDB credential");
    tty.send("maria-main");
    tty.send(TAB); // environment: staging
    tty.send(TAB); // from URL: left empty
    tty.send(TAB);
    tty.send("127.0.0.1");
    tty.send(TAB);
    tty.send(CTRL_U);
    tty.send(&port.to_string());
    tty.send(TAB);
    tty.send(mariadb::ETL_DATABASE);
    tty.send(TAB);
    tty.send(mariadb::ETL_USER);
    tty.send(TAB);
    tty.send(password);
    tty.send(TAB);
    tty.send(LEFT); // a pick list: ← from verify-full wraps to disable (the test server has no TLS)
    tty.wait_for("no TLS: loopback only, the password may travel in clear");
    tty.send(CTRL_S);
}

/// The real `keyway`; KEYWAY_E2E_BIN may point at another build of the same UI.
pub(super) fn binary() -> String {
    std::env::var("KEYWAY_E2E_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keyway").to_string())
}

pub(super) type Child = Box<dyn portable_pty::Child + Send + Sync>;
/// The child, its terminal, the emulated screen, the reader thread and the pty master.
pub(super) type Spawned = (
    Child,
    Tty,
    Arc<Mutex<Screen>>,
    std::thread::JoinHandle<()>,
    Box<dyn portable_pty::MasterPty + Send>,
);

/// After the child exited: closes its terminal, waits for the reader to take in everything it
/// wrote, checks the terminal was left as found, and returns the raw output.
/// From the grid, selects the Loopback API tile (filtered to) and opens the edit form of its
/// one credential, then moves `tabs` fields on (4: name, environment, base URL, API key, to the
/// account field).
pub(super) fn edit_the_loopback_credential(tty: &mut Tty, tabs: usize) {
    tty.send("/");
    tty.send("loopback api");
    tty.send("\r");
    tty.wait_for("Loopback API · api_key · 1 credential(s)");
    tty.send("e");
    tty.wait_for("Edit Loopback API credential");
    for _ in 0..tabs {
        tty.send(TAB);
    }
}

/// Quits the TUI with `q`, checks that it exited 0, and returns everything it drew (`closed`).
pub(super) fn quit(
    mut child: Child,
    mut tty: Tty,
    master: Box<dyn portable_pty::MasterPty + Send>,
    reader_thread: std::thread::JoinHandle<()>,
    screen: &Arc<Mutex<Screen>>,
) -> Vec<u8> {
    tty.send("q");
    let status = child.wait().unwrap();
    assert!(status.success(), "keyway exited with {status:?}");
    closed(tty, master, reader_thread, screen)
}

pub(super) fn closed(
    tty: Tty,
    master: Box<dyn portable_pty::MasterPty + Send>,
    reader_thread: std::thread::JoinHandle<()>,
    screen: &Arc<Mutex<Screen>>,
) -> Vec<u8> {
    drop(tty);
    drop(master);
    let _ = reader_thread.join();
    let raw = screen.lock().unwrap().raw.clone();
    assert_restored(&raw);
    raw
}

/// Starts keyway in a fresh pty; a thread feeds its output to the screen emulator.
fn spawn(dir: &tempfile::TempDir, vault: &std::path::Path, config: &std::path::Path) -> Spawned {
    spawn_with(dir, vault, config, &[])
}

pub(super) fn spawn_with(
    dir: &tempfile::TempDir,
    vault: &std::path::Path,
    config: &std::path::Path,
    env: &[(&str, &str)],
) -> Spawned {
    spawn_sized(dir, vault, config, env, None)
}

/// `spawn_with` in a terminal of (rows, cols), when given.
fn spawn_sized(
    dir: &tempfile::TempDir,
    vault: &std::path::Path,
    config: &std::path::Path,
    env: &[(&str, &str)],
    size: Option<(u16, u16)>,
) -> Spawned {
    let mut cmd = CommandBuilder::new(binary());
    cmd.arg("--vault");
    cmd.arg(vault);
    cmd.arg("--config");
    cmd.arg(config);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir.path());
    cmd.env("XDG_STATE_HOME", dir.path().join("state"));
    cmd.env("XDG_DATA_HOME", dir.path().join("data"));
    cmd.env("XDG_CONFIG_HOME", dir.path().join("config"));
    cmd.env_remove("NO_COLOR");
    cmd.env_remove("KEYWAY_VAULT");
    cmd.env_remove("KEYWAY_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match size {
        Some((rows, cols)) => spawn_command_sized(cmd, rows, cols),
        None => spawn_command(cmd),
    }
}

/// Runs `cmd` in a fresh pty; a thread feeds its output to the screen emulator.
pub(super) fn spawn_command(cmd: CommandBuilder) -> Spawned {
    spawn_command_sized(cmd, ROWS, COLS)
}

/// `spawn_command` in a terminal of `rows` x `cols`.
fn spawn_command_sized(cmd: CommandBuilder, rows: u16, cols: u16) -> Spawned {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let screen = Arc::new(Mutex::new(Screen {
        parser: vt100::Parser::new(rows, cols, 0),
        raw: Vec::new(),
        closed: false,
    }));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let sink = screen.clone();
    let reader_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut s = sink.lock().unwrap();
                    s.parser.process(&buf[..n]);
                    s.raw.extend_from_slice(&buf[..n]);
                }
            }
        }
        sink.lock().unwrap().closed = true;
    });
    let tty = Tty {
        screen: screen.clone(),
        writer: pty.master.take_writer().unwrap(),
    };
    (child, tty, screen, reader_thread, pty.master)
}

/// The output ends with the terminal put back: alternate screen left, cursor shown.
fn assert_restored(raw: &[u8]) {
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(64)..]).to_string();
    let left_alt = raw.windows(8).rposition(|w| w == b"\x1b[?1049l");
    let shown = raw.windows(6).rposition(|w| w == b"\x1b[?25h");
    let entered = raw.windows(8).rposition(|w| w == b"\x1b[?1049h");
    assert!(entered.is_some(), "never entered the alternate screen");
    assert!(
        left_alt > entered,
        "alternate screen not left; tail: {tail:?}"
    );
    assert!(shown > entered, "cursor not shown again; tail: {tail:?}");
}

fn fast_config(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n",
    )
    .unwrap();
    config
}

/// SIGTERM and SIGHUP (a dropped SSH session) leave cleanly with the terminal restored.
#[test]
fn signals_restore_the_terminal() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let dir = tempfile::tempdir().unwrap();
        let config = fast_config(&dir);
        let vault = dir.path().join("vault.redb");
        let (mut child, tty, screen, reader_thread, master) = spawn(&dir, &vault, &config);
        tty.wait_for("Create a new vault");
        let pid = child.process_id().expect("child pid") as i32;
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = child.wait().unwrap();
        assert!(status.success(), "signal {signal}: exit {status:?}");
        closed(tty, master, reader_thread, &screen);
    }
}

#[test]
fn create_vault_workspace_and_a_verified_postgres_credential() {
    let pg = PgCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&dir);
    let vault = dir.path().join("vault.redb");
    let (child, mut tty, screen, reader_thread, master) = spawn(&dir, &vault, &config);

    // A missing vault: create it, passphrase twice.
    tty.wait_for("Create a new vault");
    tty.line("e2e passphrase");
    tty.line("e2e passphrase");
    tty.wait_for("No workspaces yet");

    tty.send("n");
    tty.wait_for("Name of the new workspace");
    tty.line("e2e-ws");
    tty.wait_for("Workspace created");
    tty.send("\r");
    tty.wait_for("ws: e2e-ws");

    // Open PostgreSQL through the filter.
    tty.send("/");
    tty.send("postgres");
    tty.send("\r");
    tty.wait_for("PostgreSQL · database · 0 credential(s)");

    // Wrong password: refused, nothing saved.
    tty.send("a");
    fill_pg_form(&mut tty, pg.port, "not-the-password");
    tty.wait_for("✗ rejected");
    tty.send(ESC);
    tty.wait_for("unsaved changes");
    tty.send("y");
    tty.wait_for("PostgreSQL · database · 0 credential(s)");
    tty.send(ESC);
    tty.wait_for("Filter: /postgres");
    let shown = tty.contents();
    assert!(
        !["✓ ", "✗ ", "○ "].iter().any(|g| shown.contains(g)),
        "no counter after a refusal"
    );

    // Right password: verified and saved; the counter moves to 1.
    tty.send("\r");
    tty.wait_for("0 credential(s)");
    tty.send("a");
    fill_pg_form(&mut tty, pg.port, ETL_PASSWORD);
    tty.wait_for("Saved 'pg-main' (verified");
    tty.wait_for("PostgreSQL · database · 1 credential(s)");
    let listed = tty.contents();
    assert!(listed.contains("pg-main") && listed.contains("verified"));
    assert!(!listed.contains(ETL_PASSWORD), "a secret was drawn");
    tty.send(ESC);
    tty.wait_for("✓ 1");

    // A MariaDB credential through its form, verified against a real server.
    let maria = MariaDb::shared();
    tty.send(ESC); // clear the filter
    tty.wait_for("Airtable"); // (an Esc followed at once by '/' would read as Alt-/)
    tty.send("/");
    tty.send("mysql");
    tty.send("\r");
    tty.wait_for("MySQL / MariaDB · database · 0 credential(s)");
    tty.send("a");
    fill_mysql_form(&mut tty, maria.port, mariadb::ETL_PASSWORD);
    tty.wait_for("Saved 'maria-main' (verified");
    tty.wait_for("MySQL / MariaDB · database · 1 credential(s)");
    assert!(
        !tty.contents().contains(mariadb::ETL_PASSWORD),
        "a secret was drawn"
    );
    // A second one from a connection URL pasted into the form (a bracketed paste, as a
    // terminal sends it): the fields fill themselves and the password is never drawn.
    tty.send("a");
    tty.wait_for("New MySQL / MariaDB credential");
    tty.send("maria-url");
    tty.send(TAB); // environment: staging
    tty.send(TAB); // from URL
    tty.wait_for("paste a mysql:// URL");
    tty.send(&format!(
        "\x1b[200~mysql://{}:{}@127.0.0.1:{}/{}?sslmode=disable\x1b[201~",
        mariadb::ETL_USER,
        mariadb::ETL_PASSWORD,
        maria.port,
        mariadb::ETL_DATABASE
    ));
    tty.wait_for("Filled from the URL: User, Password,");
    assert!(
        !tty.contents().contains(mariadb::ETL_PASSWORD),
        "a secret was drawn"
    );
    tty.send(CTRL_S);
    tty.wait_for("Saved 'maria-url' (verified");
    tty.wait_for("MySQL / MariaDB · database · 2 credential(s)");
    tty.send(ESC);
    // Back on the grid before 'q' (an Esc followed at once by 'q' would read as Alt-q).
    tty.wait_until_gone("credential(s)");

    let raw = quit(child, tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(ETL_PASSWORD)
            && !String::from_utf8_lossy(&raw).contains(mariadb::ETL_PASSWORD),
        "a password was written to the terminal"
    );
    // The workspace is remembered for the next run (by id, nothing secret).
    let state = std::fs::read_to_string(dir.path().join("state/keyway/tui-state.json"))
        .expect("the UI state file");
    assert!(!state.contains("e2e-ws") && !state.contains(ETL_PASSWORD));
    // What the TUI wrote says who wrote it, through the TUI.
    let o = std::process::Command::new(binary())
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(&vault)
        .arg("--config")
        .arg(&config)
        .args(["credential", "list", "--json"])
        .env("KEYWAY_PASSPHRASE", "e2e passphrase")
        .env_remove("KEYWAY_VAULT")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by = listed[0]["changed_by"].as_str().unwrap_or_default();
    assert!(by.contains('@') && by.ends_with("(tui)"), "{listed}");
}

const API_KEY: &str = "sk_SENTINEL_e2e_flow_42";
pub(super) const PASSPHRASE: &str = "e2e flow passphrase";
const CTRL_N: &str = "\x0e";

/// Two user components checked against the loopback API (GET /v1/me with a bearer key).
pub(super) fn loopback_components(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (id, name) in [
        ("loopback_api", "Loopback API"),
        ("loopback_two", "Loopback Two"),
    ] {
        let definition = crate::support::loopback_component_toml()
            .replace("loopback_api", id)
            .replace("Loopback API", name);
        std::fs::write(dir.join(format!("{id}.toml")), definition).unwrap();
    }
}

/// Runs the CLI (the binary under test, see `binary`) against a test's vault and requires it
/// to succeed: how a test prepares its vault before the TUI starts.
pub(super) fn cli(
    vault: &std::path::Path,
    config: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
) {
    let o = std::process::Command::new(binary())
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(vault)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("KEYWAY_PASSPHRASE", PASSPHRASE)
        .env_remove("KEYWAY_VAULT")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "keyway {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Issue 5 end to end: build a two-component flow in the wizard, adding its second credential
/// inline (verified against the loopback API), activate it, then fail to delete that
/// credential with the flow named in the refusal.
#[test]
fn wizard_flow_with_an_inline_credential_guards_the_delete() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("components");
    loopback_components(&components);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 3\n[vault]\ncomponents_dir = {:?}\n",
            components.to_string_lossy()
        ),
    )
    .unwrap();
    let vault = dir.path().join("vault.redb");
    let base = format!("base_url={}", server.base_url());
    let key = format!("api_key={API_KEY}");
    cli(&vault, &config, dir.path(), &["init"]);
    cli(&vault, &config, dir.path(), &["workspace", "add", "acme"]);
    let add = crate::support::add_loopback_args("first", &["-f", &base, "-f", &key]);
    cli(&vault, &config, dir.path(), &add);

    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    // The only workspace opens by itself.
    tty.wait_for("ws: acme");
    tty.send("f");
    tty.wait_for("No flows in this workspace yet");

    // Step 1: name, environment staging by default.
    tty.send("c");
    tty.wait_for("1 Name");
    tty.line("e2e-flow");
    tty.send("\r");
    tty.wait_for("Chosen, in order (0)");
    // Step 2: two components, filtered as typed.
    tty.send("loopback api");
    tty.wait_for("Filter: /loopback api");
    tty.send("\r");
    tty.wait_for("1. Loopback API");
    tty.send("loopback two");
    tty.send("\r");
    tty.wait_for("2. Loopback Two");
    tty.send(CTRL_N);
    // Step 3: "first" for Loopback API; Loopback Two has none yet: add one inline.
    tty.wait_for("Steps (staging flow)");
    tty.wait_for("first");
    tty.send("\r");
    tty.wait_for("+ add a new Loopback Two credential");
    tty.send("a");
    tty.wait_for("New Loopback Two credential");
    tty.send("second");
    tty.send(TAB); // environment: staging, from the flow
    tty.send(TAB);
    tty.send(&server.base_url());
    tty.send(TAB);
    tty.send(API_KEY);
    tty.send(CTRL_S);
    // Verified, saved, and back in the wizard with it picked.
    tty.wait_for("2. Loopback Two → second");
    tty.wait_for("Saved 'second' (verified");
    tty.send(CTRL_N);
    tty.wait_for("Save as");
    // Saved inactive, then activated from the list.
    tty.send(" ");
    tty.wait_for("[x] inactive");
    tty.send("\r");
    tty.wait_for("Saved flow 'e2e-flow' (inactive)");
    tty.send("a");
    tty.wait_for("'e2e-flow' is now active");
    tty.wait_for("✓ active");

    // The credential an active flow uses cannot be deleted; the refusal names the flow.
    tty.send(ESC);
    tty.wait_for("Enter opens a component");
    tty.send("/");
    tty.send("loopback two");
    tty.send("\r");
    tty.wait_for("Loopback Two · api_key · 1 credential(s)");
    tty.send("d");
    tty.wait_for("Cannot delete the credential 'second'");
    tty.wait_for("'e2e-flow'");
    tty.send(ESC);
    // An Esc followed at once by a key reads as Alt-key: wait for the dialog to close.
    tty.wait_for("Enter/e edit");
    let raw = quit(child, tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(API_KEY),
        "the API key was drawn"
    );
}

const CTRL_G: &str = "\x07";

/// Issue 4's OAuth2 "log in" end to end: a device login from the credential form against the
/// loopback provider (one "pending", then the grant), the user code on screen, then Ctrl-s
/// verifies and saves the tokens and the counter moves to 1. No token is ever drawn.
#[test]
fn device_login_from_the_form_then_save() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let oauth = rt.block_on(provider(&[DeviceStep::Pending, DeviceStep::Grant], 1, 60));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 5\n",
    )
    .unwrap();
    let vault = dir.path().join("vault.redb");
    cli(&vault, &config, dir.path(), &["init"]);
    cli(&vault, &config, dir.path(), &["workspace", "add", "acme"]);
    let fields: std::collections::HashMap<&str, String> = oauth.fields().into_iter().collect();

    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    tty.send("/");
    tty.send("generic oauth2");
    tty.send("\r");
    tty.wait_for("0 credential(s)");
    tty.send("a");
    tty.wait_for("New Generic OAuth2 credential");
    tty.send("oauth-ci");
    tty.send(TAB); // environment: staging
    tty.send(TAB);
    tty.send(&fields["base_url"]);
    tty.send(TAB);
    tty.send(&fields["client_id"]);
    tty.send(TAB); // client secret: a public client
    for _ in 0..4 {
        tty.send(TAB); // access token, refresh token, expiry → scope
    }
    tty.send(CTRL_U);
    tty.send(&fields["scope"]);
    tty.send(TAB);
    tty.send(&fields["token_url"]);
    tty.send(TAB);
    tty.send(&fields["device_authorization_url"]);
    tty.send(TAB);
    tty.send(&fields["auth_url"]);
    tty.wait_for("Authorization URL");
    tty.send(CTRL_G);
    tty.wait_for(USER_CODE);
    tty.wait_for("https://example.invalid/device");
    tty.wait_for("Logged in: press Ctrl-s");
    tty.send(CTRL_S);
    tty.wait_for("Saved 'oauth-ci' (verified");
    tty.wait_for("1 credential(s)");
    tty.send(ESC);
    tty.wait_for("✓ 1");
    let raw = quit(child, tty, master, reader_thread, &screen);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("at_SENTINEL") && !text.contains("rt_SENTINEL"),
        "a token was drawn"
    );
    assert!(
        oauth.device_polls().len() >= 2,
        "the pending answer was polled through"
    );
}

/// Set for the child run of `panicking_tui_child`; without it that test does nothing.
const PANIC_CHILD: &str = "KEYWAY_E2E_PANIC_CHILD";

/// The child side of `a_panic_restores_the_terminal`: the real terminal mode of the TUI, then a
/// panic once the parent has checked raw mode (it sends one byte).
#[test]
#[ignore = "run by a_panic_restores_the_terminal inside a pseudo-terminal"]
fn panicking_tui_child() {
    if std::env::var_os(PANIC_CHILD).is_none() {
        return;
    }
    let guard = keyway::tui::runtime::terminal::enter().expect("the TUI terminal mode");
    // Only the panic hook may restore the terminal: the guard's Drop must not get the chance.
    std::mem::forget(guard);
    print!("\x1b[1;1HCHILD-IN-TUI");
    std::io::stdout().flush().unwrap();
    let mut byte = [0u8; 1];
    let _ = std::io::stdin().read(&mut byte);
    panic!("deliberate panic inside the TUI");
}

/// The tty's local modes: tcgetattr on a pty master reads its slave's settings.
pub(super) fn local_modes(master: &dyn portable_pty::MasterPty) -> libc::tcflag_t {
    let fd = master.as_raw_fd().expect("the pty master's fd");
    // SAFETY: an all-zero termios is a valid out-parameter; fd is open for the call.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0, "tcgetattr");
    t.c_lflag
}

/// A panic inside the TUI leaves the terminal as the shell expects it: alternate screen left,
/// cursor shown, bracketed paste off, and the tty back in cooked mode (canonical, echoing).
#[test]
fn a_panic_restores_the_terminal() {
    let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
    cmd.args([
        "e2e::pty::panicking_tui_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(PANIC_CHILD, "1");
    cmd.env("TERM", "xterm-256color");
    cmd.env("RUST_BACKTRACE", "0");
    let (mut child, mut tty, screen, reader_thread, master) = spawn_command(cmd);
    tty.wait_for("CHILD-IN-TUI");
    let cooked = (libc::ICANON | libc::ECHO) as libc::tcflag_t;
    assert_eq!(
        local_modes(&*master) & cooked,
        0,
        "the TUI runs in raw mode"
    );
    tty.send("x");
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child test was meant to fail by panicking"
    );
    assert_eq!(
        local_modes(&*master) & cooked,
        cooked,
        "raw mode was not switched off after the panic"
    );
    let raw = closed(tty, master, reader_thread, &screen);
    let paste_on = raw.windows(8).rposition(|w| w == b"\x1b[?2004h");
    let paste_off = raw.windows(8).rposition(|w| w == b"\x1b[?2004l");
    assert!(
        paste_on.is_some() && paste_off > paste_on,
        "bracketed paste left on"
    );
    // The hook restores before the panic message is printed, so the message is readable.
    let text = String::from_utf8_lossy(&raw);
    let message = text
        .find("deliberate panic inside the TUI")
        .expect("the panic message");
    let left_alt = text
        .rfind("\x1b[?1049l")
        .expect("left the alternate screen");
    assert!(
        left_alt < message,
        "the message was printed inside the alternate screen"
    );
}

/// A session for scripts (`keyway unlock`) ends when the vault is locked in the TUI (Ctrl-L).
#[test]
fn locking_the_tui_ends_the_session_agent() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&dir);
    let vault = dir.path().join("vault.redb");
    cli(&vault, &config, dir.path(), &["init"]);
    cli(&vault, &config, dir.path(), &["workspace", "add", "acme"]);
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let o = std::process::Command::new(binary())
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(&vault)
        .arg("--config")
        .arg(&config)
        .args(["unlock", "--for", "10m"])
        .env("KEYWAY_PASSPHRASE", PASSPHRASE)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let pid: u32 = err
        .split("agent pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no agent pid in {err}"));
    let agent_ended = || match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    };
    assert!(!agent_ended());
    let runtime_text = runtime.to_string_lossy().into_owned();
    let (mut child, mut tty, screen, reader_thread, master) = spawn_with(
        &dir,
        &vault,
        &config,
        &[
            ("KEYWAY_PASSPHRASE", PASSPHRASE),
            ("XDG_RUNTIME_DIR", &runtime_text),
        ],
    );
    tty.wait_for("ws: acme");
    tty.send("\x0c"); // Ctrl-L: lock now
    tty.wait_for("Locked: enter the passphrase");
    let start = Instant::now();
    while !agent_ended() {
        assert!(
            start.elapsed() < DEADLINE,
            "the session agent outlived the TUI's lock"
        );
        std::thread::sleep(Duration::from_millis(20)); // poll interval, not pacing
    }
    let tui = child.process_id().expect("child pid") as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(tui, libc::SIGTERM) }, 0);
    let _ = child.wait();
    closed(tty, master, reader_thread, &screen);
}

/// Runs the CLI like `cli` and returns its stdout, requiring success.
fn cli_stdout(
    vault: &std::path::Path,
    config: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
) -> String {
    let o = std::process::Command::new(binary())
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(vault)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("KEYWAY_PASSPHRASE", PASSPHRASE)
        .env_remove("KEYWAY_VAULT")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "keyway {args:?} exited {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A vault with workspace acme and the verified Loopback API credential "first", and a config
/// naming the loopback components: what the two multi-process tests start from.
fn shared_vault(
    dir: &tempfile::TempDir,
    base_url: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let components = dir.path().join("components");
    loopback_components(&components);
    let config = dir.path().join("config.toml");
    // reveal_secs: a revealed secret's copy must be confirmed while it is shown; the default
    // 10 s of real time would race this machine's load.
    std::fs::write(
        &config,
        format!(
            "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 5\n[ui]\nreveal_secs = 600\n[vault]\ncomponents_dir = {:?}\n",
            components.to_string_lossy()
        ),
    )
    .unwrap();
    let vault = dir.path().join("vault.redb");
    let base = format!("base_url={base_url}");
    let key = format!("api_key={API_KEY}");
    cli(&vault, &config, dir.path(), &["init"]);
    cli(&vault, &config, dir.path(), &["workspace", "add", "acme"]);
    let add = crate::support::add_loopback_args("first", &["-f", &base, "-f", &key]);
    cli(&vault, &config, dir.path(), &add);
    (vault, config)
}

/// Issue 11: with the TUI unlocked, other processes read, audit and add; the TUI shows the
/// added credential (the list and the grid's counter move) with no key pressed.
#[test]
fn the_unlocked_tui_shares_the_vault_and_shows_other_processes_changes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let dir = tempfile::tempdir().unwrap();
    let (vault, config) = shared_vault(&dir, &server.base_url());
    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    tty.send("/");
    tty.send("loopback api");
    tty.send("\r");
    tty.wait_for("Loopback API · api_key · 1 credential(s)");

    // Readers and a writer in a second process, while the TUI holds the vault unlocked.
    let listed = cli_stdout(
        &vault,
        &config,
        dir.path(),
        &["credential", "list", "-w", "acme"],
    );
    assert!(listed.contains("first"), "{listed}");
    let audit = cli_stdout(&vault, &config, dir.path(), &["audit", "-w", "acme"]);
    assert!(audit.contains("first"), "{audit}");
    let base = format!("base_url={}", server.base_url());
    let key = format!("api_key={API_KEY}");
    let add = crate::support::add_loopback_args("second", &["-f", &base, "-f", &key]);
    cli(&vault, &config, dir.path(), &add);

    // No key is pressed from here until the TUI shows it.
    tty.wait_for("Loopback API · api_key · 2 credential(s)");
    tty.wait_for("second");
    // The cursor stayed on "first"; y copies its name through the terminal (OSC 52).
    tty.send("y");
    tty.wait_for("Copied the name: first");
    tty.send(ESC);
    tty.wait_for("✓ 2");
    let raw = quit(child, tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(API_KEY),
        "the API key was drawn"
    );
    let plain_osc52 = b"\x1b]52;c;Zmlyc3Q=\x07";
    assert!(
        raw.windows(plain_osc52.len()).any(|w| w == plain_osc52),
        "no plain OSC 52 sequence with the name"
    );
}

/// Issue 14: in the edit form, Ctrl-r on the stored API key asks first, then shows it; Ctrl-y
/// (the form's Y) offers it only then, and copies it only after a second confirmation, as the
/// same plain OSC 52 sequence as a name; nothing else of it leaves the form.
#[test]
fn a_revealed_stored_secret_is_copied_after_a_confirmation_as_plain_osc_52() {
    use base64::Engine;
    const CTRL_R: &str = "\x12";
    const CTRL_Y: &str = "\x19";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let dir = tempfile::tempdir().unwrap();
    let (vault, config) = shared_vault(&dir, &server.base_url());
    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    // name, environment, base URL → the API key
    edit_the_loopback_credential(&mut tty, 3);
    tty.wait_for("(stored; Ctrl-r shows it");
    // Hidden: the copy offers no secret.
    tty.send(CTRL_Y);
    tty.wait_for("Copy to the clipboard");
    assert!(!tty.contents().contains("revealed secret"));
    tty.send(ESC);
    // The form's footer is back (an Esc straight before Ctrl-r would read as Alt-Ctrl-r).
    tty.wait_for("Ctrl-s verify and save");
    tty.send(CTRL_R);
    tty.wait_for("Show the stored secret of");
    tty.send("y");
    tty.wait_for("stored secret shown");
    tty.send(CTRL_Y);
    tty.wait_for("(asks first)");
    tty.send("s");
    tty.wait_for("Copy the secret of");
    tty.send("y");
    tty.wait_for("Copied the secret of");
    tty.send(ESC); // nothing was changed: the form just closes
    tty.wait_for("Loopback API · api_key · 1 credential(s)");
    let raw = quit(child, tty, master, reader_thread, &screen);
    let encoded = base64::engine::general_purpose::STANDARD.encode(API_KEY);
    let plain_osc52 = format!("\x1b]52;c;{encoded}\x07");
    let sequences = raw
        .windows(plain_osc52.len())
        .filter(|w| *w == plain_osc52.as_bytes())
        .count();
    assert_eq!(sequences, 1, "one plain OSC 52 sequence with the key");
    assert!(
        !String::from_utf8_lossy(&raw).contains("\x1bPtmux;"),
        "no tmux passthrough"
    );
}

/// Issue 11: an edit form open in the TUI while the CLI edits the same credential: the form
/// says who changed it, and its save meets the conflict dialog with both versions; "overwrite
/// with mine" then writes the TUI's version over the CLI's.
#[test]
fn saving_a_form_whose_credential_another_process_changed_asks_whose_version_wins() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let dir = tempfile::tempdir().unwrap();
    let (vault, config) = shared_vault(&dir, &server.base_url());
    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    // name, environment, base URL, API key → account
    edit_the_loopback_credential(&mut tty, 4);
    tty.send("tui-edit");

    let edit = [
        "credential",
        "edit",
        "-w",
        "acme",
        "-c",
        "loopback_api",
        "first",
        "-f",
        "account_sid=cli-edit",
    ];
    cli(&vault, &config, dir.path(), &edit);
    // The open form learns of it by itself.
    tty.wait_for("! Changed by");
    tty.send(CTRL_S);
    tty.wait_for("Changed by another process");
    tty.wait_for("cli-edit");
    tty.wait_for("tui-edit");
    tty.send("o");
    tty.wait_for("Saved 'first' (verified");
    let raw = quit(child, tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(API_KEY),
        "the API key was drawn"
    );
    let listed = cli_stdout(
        &vault,
        &config,
        dir.path(),
        &["credential", "list", "-w", "acme", "--json"],
    );
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let first = &listed[0];
    assert_eq!(first["revision"], 3, "{first}");
    assert!(
        first["changed_by"].as_str().unwrap().ends_with("(tui)"),
        "{first}"
    );
    assert_eq!(first["fields"]["account_sid"], "tui-edit", "{first}");
}

/// A new vault in `dir` (workspace `acme`) holding one PostgreSQL credential `name`, verified
/// as `role` / `password` against `database` of the shared cluster.
fn vault_with_pg_credential(
    dir: &tempfile::TempDir,
    config: &std::path::Path,
    pg: &PgCluster,
    database: &str,
    role: &str,
    password: &str,
    name: &str,
) -> std::path::PathBuf {
    let vault = dir.path().join("vault.redb");
    cli(&vault, config, dir.path(), &["init"]);
    cli(&vault, config, dir.path(), &["workspace", "add", "acme"]);
    let fields = [
        "host=127.0.0.1".to_string(),
        format!("port={}", pg.port),
        format!("database={database}"),
        format!("user={role}"),
        format!("password={password}"),
        "sslmode=disable".to_string(),
    ];
    let mut add = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "postgresql",
        "-n",
        name,
    ];
    for f in &fields {
        add.extend(["-f", f.as_str()]);
    }
    cli(&vault, config, dir.path(), &add);
    vault
}

/// Issue 19: `R` on a PostgreSQL credential's detail view asks first, naming the server, the
/// user and the active flow; `y` rotates it: the panel reports success, the tile stays green,
/// and psql logs in with the new stored password and no longer with the old one.
#[test]
fn rotating_a_postgres_password_from_the_detail_view() {
    let pg = PgCluster::shared();
    let role = "e2e_rotated";
    let old = "e2e_SENTINEL_rotate_old_pw";
    pg.create_role(role, old);
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&dir);
    let vault = vault_with_pg_credential(&dir, &config, pg, "postgres", role, old, "pg-rot");
    cli(
        &vault,
        &config,
        dir.path(),
        &[
            "flow",
            "add",
            "-w",
            "acme",
            "--name",
            "nightly",
            "--step",
            "postgresql=pg-rot",
            "--active",
        ],
    );
    let (child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    tty.send("/");
    tty.send("postgres");
    tty.send("\r");
    tty.wait_for("PostgreSQL · database · 1 credential(s)");
    tty.send("i");
    tty.wait_for("PostgreSQL · pg-rot");
    tty.send("R");
    tty.wait_for("Rotate the password of 'pg-rot'?");
    let dialog = tty.contents();
    assert!(
        dialog.contains(&format!("server 127.0.0.1:{}", pg.port)) && dialog.contains(role),
        "{dialog}"
    );
    assert!(
        dialog.contains("nightly"),
        "the active flow is named: {dialog}"
    );
    tty.send("y");
    tty.wait_for("Rotated 'pg-rot': new password verified and saved");
    tty.wait_for("nightly get the new password");
    tty.send(ESC);
    tty.wait_for("Last verified");
    tty.send(ESC);
    tty.wait_for("Filter: /postgres");
    tty.wait_for("✓ 1");
    let raw = quit(child, tty, master, reader_thread, &screen);

    let shown: serde_json::Value = serde_json::from_str(&cli_stdout(
        &vault,
        &config,
        dir.path(),
        &[
            "credential",
            "show",
            "-w",
            "acme",
            "pg-rot",
            "--json",
            "--reveal",
        ],
    ))
    .unwrap();
    let new = shown["fields"]["password"].as_str().unwrap().to_string();
    assert_eq!(new.len(), 32);
    assert!(pg.logs_in(role, &new), "the new password does not log in");
    assert!(!pg.logs_in(role, old), "the old password still logs in");
    let drawn = String::from_utf8_lossy(&raw);
    assert!(
        !drawn.contains(&new) && !drawn.contains(old),
        "a password was drawn"
    );
    let by = shown["changed_by"].as_str().unwrap_or_default();
    assert!(by.ends_with("(tui)"), "{shown}");
}

/// Issue 19: a rotation that was killed after the server took its new password (the vault
/// holds it only as pending) is resolved when the TUI unlocks: the panel says so, and the
/// stored password is then the one the server takes.
#[test]
fn the_tui_resolves_a_rotation_interrupted_after_the_server_took_the_new_password() {
    let pg = PgCluster::shared();
    let role = "e2e_interrupted";
    let old = "e2e_SENTINEL_interrupted_old";
    let new = "e2e_SENTINEL_interrupted_new_pw_32";
    pg.create_role(role, old);
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&dir);
    let vault = vault_with_pg_credential(&dir, &config, pg, "postgres", role, old, "pg-cut");
    // What a rotation killed between its steps 3 and 5 leaves: the new password pending in
    // the vault, and set on the server.
    {
        let mut store = keyway::store::Store::open(&vault, PASSPHRASE.as_bytes()).unwrap();
        let c = store.snapshot().credentials[0].clone();
        store
            .begin_rotation(
                &c.id,
                c.revision.number,
                secrecy::SecretString::from(new.to_string()),
                keyway::clock::now(),
            )
            .unwrap();
    }
    pg.superuser_sql(&format!("ALTER ROLE {role} PASSWORD '{new}'"));

    let (child, tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("'pg-cut': rotation interrupted, resolved (the new password is current)");
    let raw = quit(child, tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(new),
        "a password was drawn"
    );

    let shown: serde_json::Value = serde_json::from_str(&cli_stdout(
        &vault,
        &config,
        dir.path(),
        &[
            "credential",
            "show",
            "-w",
            "acme",
            "pg-cut",
            "--json",
            "--reveal",
        ],
    ))
    .unwrap();
    assert_eq!(shown["fields"]["password"], new, "{shown}");
    assert!(shown["rotation_pending_since"].is_null(), "{shown}");
    let history = cli_stdout(
        &vault,
        &config,
        dir.path(),
        &["credential", "show", "-w", "acme", "pg-cut"],
    );
    assert!(
        history.contains("Rotation interrupted, resolved"),
        "{history}"
    );
}

/// Issue 14's daily audit at 80x24, through the real binary: the audit shows a rejected
/// credential (its password was changed on the server); `e` on its row edits it from there with
/// the right password; it is verified and saved, and its tile on the grid turns green.
#[test]
fn the_audit_leads_to_the_fix_of_a_rejected_credential_at_80x24() {
    let pg = PgCluster::shared();
    let role = format!("walk_{}", std::process::id());
    let old_password = "old_SENTINEL_walk_1";
    let new_password = "new_SENTINEL_walk_2";
    pg.create_role(&role, old_password);
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&dir);
    let vault = vault_with_pg_credential(
        &dir,
        &config,
        pg,
        ETL_DATABASE,
        &role,
        old_password,
        "legacy",
    );
    // The password changes on the server: the next check is rejected, and recorded.
    pg.superuser_sql(&format!("ALTER ROLE {role} PASSWORD '{new_password}'"));
    let verify = std::process::Command::new(binary())
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(&vault)
        .arg("--config")
        .arg(&config)
        .args(["credential", "verify", "-w", "acme", "legacy"])
        .env("KEYWAY_PASSPHRASE", PASSPHRASE)
        .env_remove("KEYWAY_VAULT")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("rejected"),
        "{verify:?}"
    );

    let (child, mut tty, screen, reader_thread, master) = spawn_sized(
        &dir,
        &vault,
        &config,
        &[("KEYWAY_PASSPHRASE", PASSPHRASE)],
        Some((24, 80)),
    );
    tty.wait_for("ws: acme");
    tty.wait_for("✗1"); // the status bar counts it, on every screen
    tty.send("A");
    tty.wait_for("✗ rejected");
    tty.send("e"); // the selected (only) row
    tty.wait_for("Edit PostgreSQL credential");
    for _ in 0..7 {
        tty.send(TAB); // name, environment, from URL, host, port, database, user → password
    }
    tty.send(new_password);
    tty.send(CTRL_S);
    tty.wait_for("Saved 'legacy' (verified");
    tty.wait_for("✓ verified");
    tty.send(ESC);
    tty.wait_for("Enter open");
    // The grid, filtered to PostgreSQL (↓ leaves the filter kept): its tile is green.
    tty.send("/");
    tty.send("postgres");
    tty.send("\x1b[B");
    tty.wait_for("✓ 1");
    {
        let s = screen.lock().unwrap();
        let contents = s.parser.screen().contents();
        let (row, line) = contents
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("✓ 1"))
            .expect("the tile's counter");
        let col = line[..line.find("✓ 1").unwrap()].chars().count() as u16;
        let cell = s.parser.screen().cell(row as u16, col).expect("a cell");
        assert_eq!(cell.fgcolor(), vt100::Color::Idx(2), "the tile is green");
    }
    let raw = quit(child, tty, master, reader_thread, &screen);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains(new_password) && !text.contains(old_password),
        "a password was drawn"
    );
}
