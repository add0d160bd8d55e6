//! The README's exit-code table, row by row, through the real binary: one rule per kind of
//! mistake. Every code the table lists is walked here, and every code walked here is in the table.

use std::collections::BTreeSet;
use std::process::Output;

use crate::support::http::api_server;
use crate::support::{closed_base_url, code, hold_write, stderr, stdout, TestVault, PASS};
use keyway::vault::header::{Header, FORMAT};
use keyway::vault::tables::{HEADER_KEY, META};
use redb::ReadableTable;

const KEY: &str = "sk_SENTINEL_exit_codes";

/// The codes in the README's "Exit codes" table.
fn readme_codes() -> BTreeSet<i32> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("### Exit codes")
        .nth(1)
        .expect("an exit-code section");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.trim_matches('|').split('|').next()?.trim().parse().ok())
        .collect()
}

/// Rewrites the vault header with `change` applied and a consistent checksum: a hostile or newer
/// header, not a damaged one.
fn rewrite_header(v: &TestVault, change: impl FnOnce(&mut Header)) {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(META).unwrap();
        let bytes = t.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
        let mut h = Header::decode(&bytes).unwrap();
        change(&mut h);
        t.insert(HEADER_KEY, h.encode().as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

fn damage_header(v: &TestVault) {
    let db = redb::Database::open(&v.path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(META).unwrap();
        let mut bytes = t.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x20;
        t.insert(HEADER_KEY, bytes.as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

struct Row {
    code: i32,
    what: &'static str,
    output: Output,
}

#[test]
fn every_row_of_the_readme_exit_code_table() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(KEY, None));
    let base = format!("base_url={}", server.base_url());
    let key = format!("api_key={KEY}");
    let v = TestVault::with_loopback_component();
    let env = [
        ("KEYWAY_PASSPHRASE", PASS),
        ("KEYWAY_EXPORT_PASSPHRASE", "export passphrase"),
    ];
    let run = |args: &[&str]| v.keyway_with(args, &env, None);
    let mut rows = Vec::new();
    let mut row =
        |code: i32, what: &'static str, output: Output| rows.push(Row { code, what, output });

    // 0: ok.
    row(0, "a workspace added", run(&["workspace", "add", "acme"]));
    row(
        0,
        "a verified credential added",
        v.add_loopback("billing", &["-f", &base, "-f", &key]),
    );
    let export = v.dir.path().join("acme.kwx");
    let export = export.to_string_lossy().into_owned();
    row(0, "an export", run(&["export", "-w", "acme", &export]));
    let o = run(&[
        "flow",
        "add",
        "-w",
        "acme",
        "-n",
        "sync",
        "--step",
        "loopback_api=billing",
        "--active",
    ]);
    row(0, "an active flow added", o);

    // 1: a rule, a rejected or unreachable verification, an audit that found problems.
    row(
        1,
        "a workspace name taken",
        run(&["workspace", "add", "acme"]),
    );
    row(
        1,
        "a credential name taken",
        v.add_loopback("billing", &["-f", &base, "-f", &key]),
    );
    row(
        1,
        "an import whose names are taken",
        run(&["import", &export]),
    );
    row(
        1,
        "a credential used by an active flow",
        run(&["credential", "rm", "-w", "acme", "billing"]),
    );
    row(
        1,
        "a rejected verification",
        v.add_loopback("wrong", &["-f", &base, "-f", "api_key=sk_wrong"]),
    );
    let closed = closed_base_url();
    row(
        1,
        "an unreachable verification",
        v.add_loopback("later", &["-f", &closed, "-f", &key]),
    );
    let o = v.add_loopback("later", &["-f", &closed, "-f", &key, "--save-unverified"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    row(1, "an audit that found problems", run(&["audit"]));

    // 2: bad flags, bad field values of any kind, a bad config file, no passphrase source.
    row(2, "an unknown flag", run(&["workspace", "list", "--bogus"]));
    row(2, "an unknown command", run(&["credential", "frobnicate"]));
    for (what, field) in [
        ("an empty key", "api_key="),
        ("a blank key", "api_key=   "),
        ("a key of tabs and spaces", "api_key= \t "),
    ] {
        row(2, what, v.add_loopback("x", &["-f", &base, "-f", field]));
    }
    for (what, url) in [
        (
            "a URL with a user and password",
            "base_url=https://user:pass@api.example.com",
        ),
        ("a URL with a user", "base_url=https://user@api.example.com"),
        ("a file:// URL", "base_url=file:///etc/passwd"),
        ("an ftp:// URL", "base_url=ftp://api.example.com"),
        (
            "plain http to a public host",
            "base_url=http://api.example.com",
        ),
        ("a URL that is not one", "base_url=api.example.com"),
        ("a blank URL", "base_url= "),
    ] {
        row(2, what, v.add_loopback("x", &["-f", url, "-f", &key]));
    }
    let pg = |host: &str| {
        run(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "postgresql",
            "-n",
            "db",
            "-f",
            &format!("host={host}"),
            "-f",
            "user=u",
            "-f",
            "password=p",
        ])
    };
    row(2, "a port in the host field", pg("127.0.0.1:5432"));
    // Like plain http to another machine: the password would cross the network in clear.
    row(
        2,
        "sslmode=disable to a host that is not this machine",
        run(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "postgresql",
            "-n",
            "db",
            "-f",
            "host=db.internal",
            "-f",
            "user=u",
            "-f",
            "password=p",
            "-f",
            "sslmode=disable",
        ]),
    );
    row(
        2,
        "a name and port in the host field",
        pg("db.internal:5432"),
    );
    row(
        2,
        "a bad port",
        run(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "postgresql",
            "-n",
            "db",
            "-f",
            "host=db",
            "-f",
            "port=70000",
            "-f",
            "user=u",
            "-f",
            "password=p",
        ]),
    );
    row(
        2,
        "an unknown field",
        v.add_loopback("x", &["-f", &base, "-f", &key, "-f", "colour=red"]),
    );
    row(
        2,
        "an unknown component",
        run(&["credential", "add", "-w", "acme", "-c", "nosuch", "-n", "x"]),
    );
    let bad_config = v.dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[verify]\nconcurency = 3\n").unwrap();
    row(
        2,
        "a bad config file",
        run(&[
            "--config",
            &bad_config.to_string_lossy(),
            "workspace",
            "list",
        ]),
    );
    row(
        2,
        "a missing config file named on the command line",
        run(&["--config", "/nonexistent/keyway.toml", "workspace", "list"]),
    );
    row(
        2,
        "no passphrase source",
        v.keyway_with(&["workspace", "list"], &[], None),
    );

    // 3: wrong passphrase.
    row(
        3,
        "a wrong passphrase",
        v.keyway_with(
            &["workspace", "list"],
            &[("KEYWAY_PASSPHRASE", "nope nope")],
            None,
        ),
    );

    // 4: vault missing, corrupt, foreign, refused (hostile KDF settings) or newer.
    let missing = TestVault::new();
    row(4, "no vault", missing.keyway(&["workspace", "list"]));
    let foreign = TestVault::new();
    std::fs::create_dir_all(foreign.path.parent().unwrap()).unwrap();
    std::fs::write(&foreign.path, b"not a vault at all").unwrap();
    row(4, "a foreign file", foreign.keyway(&["workspace", "list"]));
    let corrupt = TestVault::new();
    drop(corrupt.create());
    damage_header(&corrupt);
    row(
        4,
        "a damaged header",
        corrupt.keyway(&["workspace", "list"]),
    );
    let hostile = TestVault::new();
    drop(hostile.create());
    rewrite_header(&hostile, |h| h.kdf.params.memory_kib = 3 * 1024 * 1024);
    row(
        4,
        "hostile KDF settings",
        hostile.keyway(&["workspace", "list"]),
    );
    let newer = TestVault::new();
    drop(newer.create());
    rewrite_header(&newer, |h| h.format = FORMAT + 1);
    row(4, "a newer format", newer.keyway(&["workspace", "list"]));

    // 5: another process's write did not end within vault.lock_wait_secs (readers never wait).
    let holder = hold_write(&v.path);
    row(0, "a read beside a held write", run(&["workspace", "list"]));
    let config = std::fs::read_to_string(&v.config).unwrap();
    // The loopback config ends in its [vault] section.
    std::fs::write(&v.config, format!("{config}lock_wait_secs = 1\n")).unwrap();
    row(
        5,
        "a write that waited too long",
        run(&["workspace", "add", "late"]),
    );
    std::fs::write(&v.config, config).unwrap();
    // keyway run: keyway's own failure before the command (here, a wrong passphrase) is 125.
    row(
        125,
        "keyway run failing before its command",
        v.keyway_with(
            &["run", "-w", "acme", "--credential", "billing", "--", "true"],
            &[("KEYWAY_PASSPHRASE", "not the passphrase")],
            None,
        ),
    );
    drop(holder);
    row(
        126,
        "keyway run with a command that cannot be run",
        run(&["run", "-w", "acme", "--credential", "billing", "--", "/"]),
    );
    row(
        127,
        "keyway run with a command not found",
        run(&[
            "run",
            "-w",
            "acme",
            "--credential",
            "billing",
            "--",
            "no-such-command-here",
        ]),
    );

    // 6: based on a revision the record is no longer at.
    let listed = run(&["workspace", "list", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let acme = listed.iter().find(|w| w["name"] == "acme").unwrap();
    let stale = (acme["revision"].as_u64().unwrap() + 1).to_string();
    row(
        6,
        "a change based on an older revision",
        run(&[
            "workspace",
            "rename",
            "acme",
            "acme2",
            "--expect-revision",
            &stale,
        ]),
    );

    // 7: the team vault's server cannot be reached (nothing listens on the port).
    let closed = format!(
        "postgresql://etl@127.0.0.1:{}/team?sslmode=disable",
        crate::support::pg::free_port()
    );
    // `v.command` names the test's vault file; this names the team vault instead.
    let mut direct = std::process::Command::new(env!("CARGO_BIN_EXE_keyway"));
    direct
        .args(["--vault", &closed, "--config"])
        .arg(&v.config)
        .args(["workspace", "list"])
        .env("HOME", v.dir.path())
        .env("KEYWAY_PASSPHRASE", PASS)
        .env("PGPASSWORD", "pw")
        .stdin(std::process::Stdio::null());
    row(
        7,
        "a team vault whose server cannot be reached",
        direct.output().expect("run keyway"),
    );

    let mut walked = BTreeSet::new();
    let mut wrong = Vec::new();
    for r in &rows {
        walked.insert(r.code);
        let got = code(&r.output);
        if got != r.code {
            wrong.push(format!(
                "{}: exit {got}, the README says {} ({}{})",
                r.what,
                r.code,
                stdout(&r.output).trim(),
                stderr(&r.output).trim()
            ));
        }
        if r.code != 0 {
            let err = stderr(&r.output);
            assert!(
                !err.trim().is_empty() || r.what.contains("audit"),
                "{}: says why on stderr",
                r.what
            );
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    assert_eq!(
        walked,
        readme_codes(),
        "every row of the README's table is walked"
    );
    drop(rt);
}
