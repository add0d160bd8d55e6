//! The team vault (issue 15) through the real binary, against the PostgreSQL 15 cluster this
//! test binary shares (one database per test): `init --url` and every command on it as on a
//! file, the revision contract across processes, a database administrator's tampering
//! detected, no name or secret in any table's bytes or the server's statement log, the
//! password's sources, a newer schema refused (4) and an unreachable server (7).

use std::process::Output;

use serde_json::Value;

use crate::support::http::api_server;
use crate::support::pg::{PgCluster, ETL_PASSWORD};
use crate::support::*;

const KEY: &str = "sk_SENTINEL_team_key_5150";
const WORKSPACE: &str = "ws_SENTINEL_teamspace";
const CREDENTIAL: &str = "cred_SENTINEL_billing";
const FLOW: &str = "flow_SENTINEL_sync";

/// A test home with the loopback component, its vault a team vault in a new database.
pub(crate) struct Team {
    pub(crate) v: TestVault,
    pub(crate) pg: &'static PgCluster,
    pub(crate) database: String,
}

impl Team {
    pub(crate) fn new() -> Team {
        let pg = PgCluster::shared();
        let database = pg.new_database("team");
        let mut v = TestVault::with_loopback_config();
        v.path = pg.vault_url(&database).into();
        Team { v, pg, database }
    }

    pub(crate) fn url(&self) -> String {
        self.v.path.to_string_lossy().into_owned()
    }

    /// The binary with the vault passphrase and the database password in the environment.
    pub(crate) fn keyway(&self, args: &[&str]) -> Output {
        self.v.keyway_with(
            args,
            &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)],
            None,
        )
    }

    /// The binary on another vault location (`--vault url`), the same home and config.
    fn keyway_at(&self, url: &str, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_keyway"))
            .arg("--vault")
            .arg(url)
            .arg("--config")
            .arg(&self.v.config)
            .args(args)
            .env_remove("KEYWAY_VAULT")
            .env_remove("PGPASSFILE")
            .env("HOME", self.v.dir.path())
            .env("XDG_CONFIG_HOME", self.v.dir.path().join("xdg-config"))
            .env("KEYWAY_PASSPHRASE", PASS)
            .env("PGPASSWORD", ETL_PASSWORD)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run keyway")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Output {
        let o = self.keyway(args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        o
    }

    /// Another member's home (identity, config) on the same team vault.
    pub(crate) fn join(&self) -> Team {
        let mut v = TestVault::with_loopback_config();
        v.path = self.v.path.clone();
        Team {
            v,
            pg: self.pg,
            database: self.database.clone(),
        }
    }

    /// A way to run this member's binary from another thread.
    pub(crate) fn reader(&self) -> impl Fn(&[&str]) -> Output + Send + 'static {
        let (url, config, home) = (
            self.v.path.clone(),
            self.v.config.clone(),
            self.v.dir.path().to_path_buf(),
        );
        move |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_keyway"))
                .arg("--vault")
                .arg(&url)
                .arg("--config")
                .arg(&config)
                .args(args)
                .env_remove("KEYWAY_VAULT")
                .env_remove("PGPASSFILE")
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join("xdg-config"))
                .env("KEYWAY_PASSPHRASE", PASS)
                .env("PGPASSWORD", ETL_PASSWORD)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run keyway")
        }
    }

    /// The store in this process, opened with this home's identity (the floor KDF).
    pub(crate) fn open_store(&self) -> keyway::store::Store {
        let options = keyway::vault::Options {
            db_password: Some(ETL_PASSWORD.to_string().into()),
            identity: keyway::vault::IdentitySource::Sealed(
                self.v.dir.path().join("xdg-config/keyway/identity.json"),
            ),
            ..Default::default()
        };
        keyway::store::Store::open_with(
            &self.v.path,
            keyway::vault::Unlock::Passphrase(PASS.as_bytes()),
            &options,
        )
        .expect("open the team vault")
    }

    fn init(&self) {
        let o = self.ok(&["init", "--url", &self.url()]);
        assert!(
            stdout(&o).contains(&format!(
                "Created team vault postgresql://etl@127.0.0.1:{}/{}",
                self.pg.port, self.database
            )),
            "{}",
            stdout(&o)
        );
    }

    fn add_credential(&self, name: &str, base: &str) {
        let key = format!("api_key={KEY}");
        self.ok(&[
            "credential",
            "add",
            "-w",
            WORKSPACE,
            "-c",
            "loopback_api",
            "-n",
            name,
            "-f",
            base,
            "-f",
            &key,
        ]);
    }

    pub(crate) fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.database, sql)
    }

    fn generation(&self) -> String {
        self.sql("SELECT generation FROM keyway_meta")
    }
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// A team vault with a workspace, two verified credentials and a flow on the first.
fn seeded(base: &str) -> Team {
    let t = Team::new();
    t.init();
    t.ok(&["workspace", "add", WORKSPACE]);
    t.add_credential(CREDENTIAL, base);
    t.add_credential("ledger", base);
    t.ok(&[
        "flow",
        "add",
        "-w",
        WORKSPACE,
        "-n",
        FLOW,
        "--step",
        &format!("loopback_api={CREDENTIAL}"),
    ]);
    t
}

#[test]
fn every_command_works_on_a_team_vault_as_on_a_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let t = seeded(&base);

    let creds = json(&t.ok(&["credential", "list", "--json"]));
    assert_eq!(names(&creds), [CREDENTIAL, "ledger"]);
    assert_eq!(creds[0]["revision"], 1);
    let shown = json(&t.ok(&["credential", "show", "-w", WORKSPACE, CREDENTIAL, "--json"]));
    assert!(shown["changed_by"]
        .as_str()
        .unwrap()
        .ends_with("(keyway credential add)"));
    t.ok(&["credential", "verify", "-w", WORKSPACE, CREDENTIAL]);
    t.ok(&["flow", "activate", "-w", WORKSPACE, FLOW]);
    let flows = json(&t.ok(&["flow", "list", "--json"]));
    assert_eq!(flows[0]["active"], true, "{flows}");
    let audit = t.keyway(&["audit", "--json"]);
    assert_eq!(code(&audit), 0, "{}", stderr(&audit));

    // Reads never write: the generation (moved by every commit) stays.
    let before = t.generation();
    for args in [
        vec!["workspace", "list", "--json"],
        vec!["credential", "list"],
        vec!["credential", "show", "-w", WORKSPACE, "ledger"],
        vec!["flow", "list"],
    ] {
        t.ok(&args);
    }
    assert_eq!(t.generation(), before, "a read moved the generation");

    // Two edits from the same revision: the first wins, the second exits 6.
    let first = t.keyway(&[
        "credential",
        "edit",
        "-w",
        WORKSPACE,
        "ledger",
        "--env",
        "production",
        "--expect-revision",
        "1",
    ]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let second = t.keyway(&[
        "credential",
        "edit",
        "-w",
        WORKSPACE,
        "ledger",
        "--rename",
        "ledger-2",
        "--expect-revision",
        "1",
    ]);
    assert_eq!(code(&second), 6, "{}", stderr(&second));
    assert!(
        stderr(&second).contains("since you read it: it is now revision 2 "),
        "{}",
        stderr(&second)
    );
    let creds = json(&t.ok(&["credential", "list", "--json"]));
    assert_eq!(names(&creds), [CREDENTIAL, "ledger"]);

    // Concurrent adds from four processes all land.
    let children: Vec<_> = (0..4)
        .map(|i| {
            let mut cmd = t.v.command(
                &["workspace", "add", &format!("parallel-{i}")],
                &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)],
            );
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().expect("spawn keyway")
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().expect("wait");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let workspaces = json(&t.ok(&["workspace", "list", "--json"]));
    assert_eq!(workspaces.as_array().unwrap().len(), 5, "{workspaces}");

    // Renames, removals, a passphrase change and a re-key, as on a file.
    t.ok(&["workspace", "rename", "parallel-0", "renamed"]);
    t.ok(&["workspace", "rm", "renamed"]);
    t.ok(&["credential", "rm", "-w", WORKSPACE, "ledger"]);
    t.ok(&["rekey"]);
    // A team vault has no passphrase of its own: passwd says so; each member's passphrase
    // protects their identity.
    let o = t.keyway(&["passwd"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = t.v.keyway_with(
        &["credential", "list"],
        &[
            ("KEYWAY_PASSPHRASE", "not the passphrase"),
            ("PGPASSWORD", ETL_PASSWORD),
        ],
        None,
    );
    assert_eq!(
        code(&o),
        3,
        "a wrong passphrase for the identity: {}",
        stderr(&o)
    );
    let creds = json(&t.ok(&["credential", "list", "--json"]));
    assert_eq!(names(&creds), [CREDENTIAL]);
}

/// Runs `credential list` and expects the vault reported damaged (exit 4) with nothing of it
/// shown; `why` must be in the message.
fn assert_damaged(t: &Team, why: &str) {
    let o = t.keyway(&["credential", "list", "--json"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "something was shown: {}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("is damaged") && err.contains(why), "{err}");
}

#[test]
fn a_database_administrators_tampering_is_detected_and_nothing_wrong_is_decrypted() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let t = seeded(&base);
    let ids = t.sql("SELECT id FROM keyway_records WHERE kind = 2 ORDER BY id");
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2);
    let (a, b) = (ids[0], ids[1]);

    // Ciphertexts swapped between two rows.
    let swap = format!(
        "UPDATE keyway_records r SET sealed = o.sealed FROM keyway_records o
         WHERE r.kind = 2 AND o.kind = 2 AND r.id <> o.id AND r.id IN ('{a}', '{b}')"
    );
    t.sql(&swap);
    assert_damaged(&t, "failed authentication");
    t.sql(&swap);
    t.ok(&["credential", "list"]);

    // A row rolled back to an older revision: its old ciphertext still opens, the set of
    // revisions does not match what the vault last wrote.
    t.sql("CREATE TABLE old_row AS SELECT * FROM keyway_records WHERE kind = 2");
    t.ok(&[
        "credential",
        "edit",
        "-w",
        WORKSPACE,
        CREDENTIAL,
        "--env",
        "production",
    ]);
    t.sql(
        "CREATE TABLE new_row AS SELECT * FROM keyway_records WHERE kind = 2;
         UPDATE keyway_records r SET revision = o.revision, sealed = o.sealed
         FROM old_row o WHERE r.kind = o.kind AND r.id = o.id",
    );
    assert_damaged(&t, "rolled back");
    t.sql(
        "UPDATE keyway_records r SET revision = n.revision, sealed = n.sealed
         FROM new_row n WHERE r.kind = n.kind AND r.id = n.id",
    );
    t.ok(&["credential", "list"]);

    // A row deleted, then put back.
    t.sql(&format!(
        "DELETE FROM keyway_records WHERE kind = 2 AND id = '{a}'"
    ));
    assert_damaged(&t, "deleted");
    t.sql(&format!(
        "INSERT INTO keyway_records SELECT * FROM new_row WHERE id = '{a}'"
    ));
    let creds = json(&t.ok(&["credential", "list", "--json"]));
    assert_eq!(names(&creds), [CREDENTIAL, "ledger"]);
    // A damaged vault is never written: a write is refused as well, nothing changed.
    t.sql(&format!(
        "DELETE FROM keyway_records WHERE kind = 2 AND id = '{a}'"
    ));
    let before = t.generation();
    let o = t.keyway(&["workspace", "add", "another"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert_eq!(t.generation(), before);
}

#[test]
fn no_name_or_secret_reaches_any_table_or_the_servers_statement_log() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let t = Team::new();
    // Every statement keyway sends, with its parameters, goes to the server's log.
    t.sql(&format!(
        "ALTER DATABASE {} SET log_statement = 'all'",
        t.database
    ));
    let log_before = t.pg.server_log().len();
    t.init();
    t.ok(&["workspace", "add", WORKSPACE]);
    t.add_credential(CREDENTIAL, &base);
    t.ok(&[
        "flow",
        "add",
        "-w",
        WORKSPACE,
        "-n",
        FLOW,
        "--step",
        &format!("loopback_api={CREDENTIAL}"),
    ]);
    t.ok(&["credential", "verify", "-w", WORKSPACE, CREDENTIAL]);
    let o = t.v.keyway_with(
        &["credential", "list"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("PGPASSWORD", ETL_PASSWORD),
            ("RUST_LOG", "trace"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let dump = t.pg.pg_dump(&t.database);
    let dump_text = String::from_utf8_lossy(&dump);
    assert!(
        dump_text.contains("keyway_records"),
        "not a dump of the vault"
    );
    let log = t.pg.server_log();
    let log = log.get(log_before..).unwrap_or_default().to_string();
    assert!(log.contains("keyway_records"), "statements were not logged");
    for sentinel in [KEY, WORKSPACE, CREDENTIAL, FLOW, ETL_PASSWORD, PASS] {
        for (what, text) in [
            ("pg_dump", dump_text.as_ref()),
            ("server log", log.as_str()),
            ("keyway's trace log", stderr(&o).as_str()),
        ] {
            if what == "keyway's trace log" && sentinel == CREDENTIAL {
                continue; // the list prints names on stdout, not stderr; stderr must not
            }
            assert!(
                leaked_form(text, sentinel).is_none(),
                "{sentinel} reached the {what}"
            );
            let hex = hex::encode(sentinel);
            assert!(!text.contains(&hex), "{sentinel} (hex) reached the {what}");
        }
    }
}

#[test]
fn the_database_password_comes_from_pgpassword_or_the_passfile_never_the_url() {
    let t = Team::new();
    t.init();
    // From ~/.pgpass (mode 0600) alone.
    let pgpass = t.v.dir.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:etl:{ETL_PASSWORD}\n", t.pg.port),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o =
        t.v.keyway_with(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::remove_file(&pgpass).unwrap();
    // A wrong one: refused by the server, said so, the password never shown.
    let wrong = "pw_SENTINEL_wrong_77";
    let o = t.v.keyway_with(
        &["workspace", "list"],
        &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", wrong)],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the connection") && !stderr(&o).contains(wrong),
        "{}",
        stderr(&o)
    );
    // None at all, and no terminal to ask on.
    let o =
        t.v.keyway_with(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("PGPASSWORD"), "{}", stderr(&o));
    // In the URL: refused before any connection (a usage error).
    let with_password = format!(
        "postgresql://etl:{ETL_PASSWORD}@127.0.0.1:{}/{}?sslmode=disable",
        t.pg.port, t.database
    );
    let o = t.keyway_at(&with_password, &["workspace", "list"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!stderr(&o).contains(ETL_PASSWORD), "{}", stderr(&o));
    // A second init on the same database is refused; the vault is untouched.
    let before = t.generation();
    let o = t.keyway(&["init", "--url", &t.url()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds"), "{}", stderr(&o));
    assert_eq!(t.generation(), before);
    t.ok(&["workspace", "list"]);
}

#[test]
fn a_newer_schema_exits_4_and_an_unreachable_server_exits_7() {
    let t = Team::new();
    t.init();
    t.ok(&["workspace", "add", "acme"]);
    let version = t.sql("SELECT version FROM keyway_schema");
    t.sql("UPDATE keyway_schema SET version = 99");
    let o = t.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("newer keyway"), "{}", stderr(&o));
    t.sql(&format!(
        "UPDATE keyway_schema SET version = {}",
        version.trim()
    ));
    t.ok(&["workspace", "list"]);

    // No server on the port: exit 7 and one sentence, for reads and writes alike.
    let closed = format!(
        "postgresql://etl@127.0.0.1:{}/{}?sslmode=disable",
        crate::support::pg::free_port(),
        t.database
    );
    for args in [vec!["workspace", "list"], vec!["workspace", "add", "x"]] {
        let o = t.keyway_at(&closed, &args);
        assert_eq!(code(&o), 7, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("the team vault's server cannot be reached") && err.lines().count() == 1,
            "{err}"
        );
    }
}

/// The binary in `home`'s home and config on the vault `vault` (a file or a URL).
fn keyway_in(home: &TestVault, vault: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_keyway"))
        .arg("--vault")
        .arg(vault)
        .arg("--config")
        .arg(&home.config)
        .args(args)
        .env_remove("KEYWAY_VAULT")
        .env_remove("PGPASSFILE")
        .env("HOME", home.dir.path())
        .env("XDG_CONFIG_HOME", home.dir.path().join("xdg-config"))
        .env("KEYWAY_PASSPHRASE", PASS)
        .env("KEYWAY_NEW_PASSPHRASE", PASS)
        .env("PGPASSWORD", ETL_PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run keyway")
}

/// Every record (secrets included) and every credential's history, as JSON.
fn content(path: &std::path::Path) -> (Value, Vec<Value>) {
    let store = keyway::store::Store::open(path, PASS.as_bytes()).expect("open the copy");
    let s = store.snapshot();
    let mut histories = Vec::new();
    for c in &s.credentials {
        histories.push(serde_json::to_value(store.history(&c.id).unwrap()).unwrap());
    }
    let mut records = serde_json::json!({
        "workspaces": s.workspaces,
        "credentials": s.credentials,
        "flows": s.flows,
    });
    // Order is the storage's: compare by id.
    for list in ["workspaces", "credentials", "flows"] {
        records[list]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    }
    (records, histories)
}

#[test]
fn vault_copy_file_to_postgresql_to_file_is_identical_in_content() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let key = format!("api_key={KEY}");
    let file = TestVault::with_loopback_component();
    let at_file = |args: &[&str]| {
        let o = keyway_in(&file, &file.path.to_string_lossy(), args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        o
    };
    at_file(&["workspace", "add", WORKSPACE]);
    for name in [CREDENTIAL, "ledger"] {
        at_file(&[
            "credential",
            "add",
            "-w",
            WORKSPACE,
            "-c",
            "loopback_api",
            "-n",
            name,
            "-f",
            &base,
            "-f",
            &key,
        ]);
    }
    at_file(&["credential", "verify", "-w", WORKSPACE, CREDENTIAL]);
    at_file(&[
        "credential",
        "edit",
        "-w",
        WORKSPACE,
        "ledger",
        "--env",
        "production",
    ]);
    at_file(&[
        "flow",
        "add",
        "-w",
        WORKSPACE,
        "-n",
        FLOW,
        "--step",
        &format!("loopback_api={CREDENTIAL}"),
    ]);

    // File -> PostgreSQL, by this home's identity (created on the way).
    let pg = PgCluster::shared();
    let url = pg.vault_url(&pg.new_database("copy"));
    let o = at_file(&["vault", "copy", "--to", &url]);
    assert!(
        // A re-verification with the same result may extend a run instead of adding an
        // entry: the history's size is compared below, not assumed here.
        stdout(&o).contains("4 records and ")
            && stdout(&o).contains(" history entries, read back from it and checked"),
        "{}",
        stdout(&o)
    );
    // The team vault lists what the file does.
    for args in [["credential", "list", "--json"], ["flow", "list", "--json"]] {
        let from_file = at_file(&args);
        let o = keyway_in(&file, &url, &args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(json(&o), json(&from_file), "{args:?}");
    }
    // A second copy into the same database is refused; it holds a vault now.
    let o = keyway_in(
        &file,
        &file.path.to_string_lossy(),
        &["vault", "copy", "--to", &url],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    // PostgreSQL -> file.
    let back = file.dir.path().join("back.redb");
    let back_text = back.to_string_lossy().into_owned();
    let o = keyway_in(&file, &url, &["vault", "copy", "--to", &back_text]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        content(&back),
        content(&file.path),
        "the round trip changed something"
    );
    // And into an existing file: refused, the file untouched.
    let before = file_bytes(&back);
    let o = keyway_in(&file, &url, &["vault", "copy", "--to", &back_text]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(file_bytes(&back), before);
}
