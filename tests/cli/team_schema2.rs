//! A team vault written by the schema-2 keyway (commit bb5b73d), kept as a `pg_dump` in
//! tests/fixtures/team_vault_schema2 (its README says how it was made and what it holds), restored
//! into a new database of the shared cluster and read by today's binary with the fixture's
//! machine identity and the person's identity: what it lists, each credential's history, the
//! change log (its chain intact) and that reading changed none of the database's bytes.
//!
//! `Schema2Vault::restore` is the starting point for tests of the schema upgrade: a fresh copy
//! of the old vault, its URL and the homes of its two members.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::support::pg::{PgCluster, ETL_PASSWORD};
use crate::support::*;

/// Where the fixture lives: dump.sql, machine.identity, person.identity.json, make.sh.
const FIXTURE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/team_vault_schema2"
);

/// A fresh copy of the schema-2 fixture in a database of its own on the shared cluster.
pub(crate) struct Schema2Vault {
    pub(crate) pg: &'static PgCluster,
    pub(crate) database: String,
    /// The home (config with the floor KDF, the person's identity in its config dir) whose
    /// vault path is the team vault's URL.
    pub(crate) home: TestVault,
    /// The machine member `cron`'s identity file (mode 0600, as keyway requires).
    pub(crate) machine_identity: PathBuf,
}

impl Schema2Vault {
    pub(crate) fn restore() -> Schema2Vault {
        let pg = PgCluster::shared();
        let database = pg.new_database("schema2");
        let dump = std::fs::read(format!("{FIXTURE_DIR}/dump.sql")).expect("read dump.sql");
        pg.restore_as_etl(&database, &dump);
        let mut home = TestVault::new();
        home.path = pg.vault_url(&database).into();
        // git keeps no file modes beyond the executable bit: the copies get the 0600 keyway asks.
        let private_copy = |from: &str, to: &PathBuf| {
            std::fs::create_dir_all(to.parent().unwrap()).expect("identity dir");
            std::fs::copy(format!("{FIXTURE_DIR}/{from}"), to).expect("copy identity");
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
                .expect("chmod identity");
        };
        let machine_identity = home.dir.path().join("cron.identity");
        private_copy("machine.identity", &machine_identity);
        private_copy(
            "person.identity.json",
            &home.dir.path().join("xdg-config/keyway/identity.json"),
        );
        Schema2Vault {
            pg,
            database,
            home,
            machine_identity,
        }
    }

    pub(crate) fn schema_version(&self) -> String {
        self.pg
            .psql(&self.database, "SELECT version FROM keyway_schema")
            .trim()
            .to_string()
    }

    pub(crate) fn url(&self) -> String {
        self.home.path.to_string_lossy().into_owned()
    }

    /// The binary as the machine member `cron` (its identity file, no passphrase).
    pub(crate) fn as_machine(&self, args: &[&str]) -> Output {
        let identity = self.machine_identity.to_string_lossy().into_owned();
        self.home.keyway_with(
            args,
            &[
                ("KEYWAY_IDENTITY", identity.as_str()),
                ("PGPASSWORD", ETL_PASSWORD),
            ],
            None,
        )
    }

    /// The binary as the person `alice` (her sealed identity and its passphrase).
    pub(crate) fn as_person(&self, args: &[&str]) -> Output {
        self.home.keyway_with(
            args,
            &[("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)],
            None,
        )
    }

    /// `pg_dump` of the database (schema and every row) without pg_dump's per-run
    /// `\restrict` key lines, so two dumps of unchanged data are equal.
    pub(crate) fn database_bytes(&self) -> String {
        String::from_utf8_lossy(&self.pg.pg_dump(&self.database))
            .lines()
            .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Exits 0 and prints JSON.
fn json_of(o: &Output, what: &[&str]) -> Value {
    assert_eq!(code(o), 0, "{what:?}: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{what:?} not JSON ({e})"))
}

/// The credentials as (workspace, name, component, environment, revision), sorted.
fn credential_rows(list: &Value) -> Vec<(String, String, String, String, u64)> {
    let mut rows: Vec<_> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default().to_string();
            (
                text("workspace"),
                text("name"),
                text("component"),
                text("environment"),
                c["revision"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The fixture's credentials (README.md of the fixture).
fn expected_credentials() -> Vec<(String, String, String, String, u64)> {
    [
        ("prod", "cache", "redis", "production", 2),
        ("prod", "warehouse", "postgresql", "production", 1),
        ("sandbox", "cache-trial", "redis", "development", 1),
        ("staging", "cache", "redis", "staging", 1),
        ("staging", "warehouse", "postgresql", "staging", 1),
    ]
    .iter()
    .map(|(w, n, c, e, r)| {
        (
            w.to_string(),
            n.to_string(),
            c.to_string(),
            e.to_string(),
            *r,
        )
    })
    .collect()
}

/// The fixture's change log: (member, action, workspace, target) of entries 1 to 28.
const EXPECTED_LOG: [(&str, &str, &str, &str); 28] = [
    ("alice", "member added", "", "cron"),
    ("alice", "workspace added", "", "staging"),
    ("alice", "workspace added", "", "prod"),
    ("alice", "workspace added", "", "scratch"),
    ("alice", "workspace renamed", "", "sandbox"),
    ("alice", "credential added", "staging", "warehouse"),
    ("alice", "credential verified", "staging", "warehouse"),
    ("alice", "credential added", "prod", "warehouse"),
    ("alice", "credential verified", "prod", "warehouse"),
    ("alice", "credential added", "staging", "cache"),
    ("alice", "credential verified", "staging", "cache"),
    ("alice", "credential added", "prod", "cache"),
    ("alice", "credential verified", "prod", "cache"),
    ("alice", "credential added", "sandbox", "cache-trial"),
    ("alice", "credential verified", "sandbox", "cache-trial"),
    ("alice", "credential added", "staging", "legacy-reports"),
    ("alice", "credential verified", "staging", "legacy-reports"),
    ("cron", "credential verified", "staging", "warehouse"),
    ("cron", "credential verified", "staging", "warehouse"),
    ("cron", "credential verified", "staging", "warehouse"),
    ("alice", "credential verified", "staging", "warehouse"),
    ("cron", "credential verified", "prod", "warehouse"),
    ("cron", "credential verified", "prod", "cache"),
    ("alice", "credential edited", "prod", "cache"),
    ("alice", "credential verified", "prod", "cache"),
    ("alice", "flow added", "staging", "nightly-sync"),
    ("alice", "flow changed", "staging", "nightly-sync"),
    ("alice", "credential deleted", "staging", "legacy-reports"),
];

#[test]
fn a_schema_2_team_vault_opens_and_reads_unchanged() {
    let v = Schema2Vault::restore();
    assert_eq!(v.schema_version(), "2", "the fixture is not of schema 2");
    let before = v.database_bytes();
    assert_reads_the_fixture(&v, &["prod", "sandbox", "staging"], &[]);
    // None of it wrote a byte.
    assert!(
        before == v.database_bytes(),
        "a read command changed the team vault's database at {}",
        v.url()
    );
}

/// Schema 3 keeps the result positions in shards (src/vault/digest.rs): the first write to a
/// schema-2 vault upgrades the schema and moves every position there, and the vault then reads
/// exactly as before, its change log's chain going on from the old one.
#[test]
fn a_schema_2_team_vault_is_upgraded_by_its_first_write_and_reads_the_same() {
    let v = Schema2Vault::restore();
    let sql = |q: &str| v.pg.psql(&v.database, q).trim().to_string();
    assert_eq!(sql("SELECT positions IS NOT NULL FROM keyway_meta"), "t");
    // The first format's digest and positions, as a database administrator could keep them.
    sql("CREATE TABLE kept_meta AS SELECT record_digest, positions FROM keyway_meta");
    let o = v.as_person(&["workspace", "add", "upgraded"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(v.schema_version(), "3");
    assert_eq!(sql("SELECT positions IS NULL FROM keyway_meta"), "t");
    assert_eq!(sql("SELECT count(*) FROM keyway_positions"), "256");
    let after = v.database_bytes();
    assert_reads_the_fixture(
        &v,
        &["prod", "sandbox", "staging", "upgraded"],
        &[("alice", "workspace added", "", "upgraded")],
    );
    assert!(
        after == v.database_bytes(),
        "a read command changed the upgraded team vault's database"
    );
    // And it goes on being written: a machine member's verification-free change.
    let o = v.as_machine(&["workspace", "rename", "upgraded", "upgraded-2"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.as_person(&["log"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The old digest and positions put back (a downgrade to what schema 2 kept): refused,
    // nothing shown, though that digest still authenticates.
    sql("UPDATE keyway_meta m SET record_digest = k.record_digest, positions = k.positions FROM kept_meta k");
    let o = v.as_machine(&["credential", "list", "--json"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("an older digest was put back"),
        "{}",
        stderr(&o)
    );
}

/// Everything the fixture holds (its README), read by both members, with `expected_workspaces` and
/// the change log with `more` entries after the fixture's own.
fn assert_reads_the_fixture(
    v: &Schema2Vault,
    expected_workspaces: &[&str],
    more: &[(&str, &str, &str, &str)],
) {
    // What each member lists.
    for run in [
        &(|a: &[&str]| v.as_machine(a)) as &dyn Fn(&[&str]) -> Output,
        &|a: &[&str]| v.as_person(a),
    ] {
        let args = ["credential", "list", "--json"];
        assert_eq!(
            credential_rows(&json_of(&run(&args), &args)),
            expected_credentials()
        );
    }
    let args = ["workspace", "list", "--json"];
    let workspaces = json_of(&v.as_machine(&args), &args);
    let mut names: Vec<&str> = workspaces
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, expected_workspaces);
    let args = ["flow", "list", "--json"];
    let flows = json_of(&v.as_machine(&args), &args);
    assert_eq!(flows.as_array().unwrap().len(), 1, "{flows}");
    assert_eq!(flows[0]["name"], "nightly-sync", "{flows}");
    assert_eq!(flows[0]["workspace"], "staging", "{flows}");
    assert_eq!(flows[0]["active"], true, "{flows}");
    let args = ["member", "list", "--json"];
    let members = json_of(&v.as_machine(&args), &args);
    let members: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(members, [("alice", "person"), ("cron", "machine")]);

    // Each credential's history, newest first, as (status, checks): a run of equal results is
    // one entry holding how many checks found it.
    for (workspace, name, expected) in [
        (
            "staging",
            "warehouse",
            &[("verified", 1), ("rejected", 1), ("verified", 3)][..],
        ),
        ("prod", "warehouse", &[("verified", 2)][..]),
        ("staging", "cache", &[("verified", 1)][..]),
        ("prod", "cache", &[("verified", 1), ("verified", 2)][..]),
        ("sandbox", "cache-trial", &[("verified", 1)][..]),
    ] {
        let args = ["credential", "show", "-w", workspace, name, "--json"];
        let shown = json_of(&v.as_machine(&args), &args);
        let history: Vec<(&str, u64)> = shown["history"]
            .as_array()
            .unwrap_or_else(|| panic!("no history in {shown}"))
            .iter()
            .map(|h| (h["status"].as_str().unwrap(), h["checks"].as_u64().unwrap()))
            .collect();
        assert_eq!(history, expected, "{workspace}/{name}: {shown}");
    }
    // The deleted credential is gone.
    let o = v.as_machine(&["credential", "show", "-w", "staging", "legacy-reports"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    // The change log: every entry, its chain intact.
    let args = ["log", "--json"];
    let log = json_of(&v.as_machine(&args), &args);
    let entries: Vec<(u64, String, String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
            let member = text("member");
            (
                e["seq"].as_u64().unwrap(),
                member.split(',').next().unwrap().to_string(),
                text("action"),
                text("workspace"),
                text("target"),
            )
        })
        .collect();
    let expected: Vec<(u64, String, String, String, String)> = EXPECTED_LOG
        .iter()
        .chain(more)
        .enumerate()
        .map(|(i, (m, a, w, t))| {
            (
                i as u64 + 1,
                m.to_string(),
                a.to_string(),
                w.to_string(),
                t.to_string(),
            )
        })
        .collect();
    assert_eq!(entries, expected);
    let o = v.as_person(&["log"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
