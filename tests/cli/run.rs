//! `keyway run` through the real binary: the command's environment (psql reaching the test
//! cluster with keyway's PGPASSWORD), exit codes passed through and keyway's own (125, 126,
//! 127), signals passed on, refusals, and no secret in keyway's own command line.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::pg::{PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER, PG_BIN};
use crate::support::{code, stderr, stdout, TestVault, PASS};
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Environment, Status, Verification};
use keyway::store::{CredentialDraft, Store};

/// Adds a credential of `component` named `name` to workspace `w` with `fields`, its last
/// verification `status`.
fn seed(
    store: &mut Store,
    w: &str,
    component: &str,
    name: &str,
    fields: &[(&str, &str)],
    status: Status,
) {
    let catalog = keyway::catalog::Catalog::builtin().unwrap();
    let workspace = match store.snapshot().workspace_by_name(w) {
        Ok(ws) => ws.id.clone(),
        Err(_) => store.add_workspace(w, Timestamp(1)).unwrap().id,
    };
    let draft = CredentialDraft {
        workspace,
        component: component.into(),
        name: name.into(),
        environment: Environment::Staging,
        changes: fields
            .iter()
            .map(|(k, v)| (k.to_string(), FieldValue::Plain(v.to_string())))
            .collect(),
    };
    let mut c = store
        .prepare_credential(&catalog, draft, None, Timestamp(2))
        .unwrap();
    c.record_verification(Verification {
        status,
        reason: format!("Seeded as {}.", status.as_str()),
        detail: None,
        latency_ms: Some(1),
        at: Timestamp(3),
        run: None,
        tls: None,
    });
    store.save_credential(c).unwrap();
}

/// Workspace acme with postgresql/warehouse (the shared test cluster's etl login, verified),
/// stripe/billing (verified), github/gh-bad (rejected) and postgresql/replica; flows etl
/// (active: warehouse, billing), idle (inactive: billing), both-dbs (warehouse, replica) and
/// bad (gh-bad, inactive).
fn seeded() -> TestVault {
    let pg = PgCluster::shared();
    let port = pg.port.to_string();
    let v = TestVault::new();
    let mut store = v.create();
    let warehouse = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("database", ETL_DATABASE),
        ("user", ETL_USER),
        ("password", ETL_PASSWORD),
        ("sslmode", "disable"),
    ];
    seed(
        &mut store,
        "acme",
        "postgresql",
        "warehouse",
        &warehouse,
        Status::Verified,
    );
    let replica = [
        ("host", "replica.internal"),
        ("user", "ro"),
        ("password", "pw_SENTINEL_replica"),
    ];
    seed(
        &mut store,
        "acme",
        "postgresql",
        "replica",
        &replica,
        Status::Verified,
    );
    let key = [("api_key", "sk_test_SENTINEL_billing")];
    seed(
        &mut store,
        "acme",
        "stripe",
        "billing",
        &key,
        Status::Verified,
    );
    let bad = [("api_key", "ghp_SENTINEL_bad")];
    seed(
        &mut store,
        "acme",
        "github",
        "gh-bad",
        &bad,
        Status::Rejected,
    );
    drop(store);
    for (name, steps, active) in [
        ("etl", &["postgresql=warehouse", "stripe=billing"][..], true),
        ("idle", &["stripe=billing"][..], false),
        (
            "both-dbs",
            &["postgresql=warehouse", "postgresql=replica"][..],
            true,
        ),
        ("bad", &["github=gh-bad"][..], false),
    ] {
        let mut args = vec!["flow", "add", "-w", "acme", "-n", name];
        for s in steps {
            args.extend(["--step", s]);
        }
        if active {
            args.push("--active");
        }
        let o = v.keyway(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    v
}

fn psql() -> String {
    format!("{PG_BIN}/psql")
}

#[test]
fn psql_in_the_command_reaches_the_cluster_with_keyways_variables() {
    let v = seeded();
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--flow",
        "etl",
        "--",
        &psql(),
        "-XtAc",
        "select current_user || '@' || current_database()",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The command's output is the whole of stdout: nothing of keyway's own.
    assert_eq!(stdout(&o), format!("{ETL_USER}@{ETL_DATABASE}\n"));

    // The same through DATABASE_URL alone, with every PG* variable taken away.
    let o = v.keyway(&[
        "run", "-w", "acme", "--credential", "warehouse", "--",
        "sh", "-c",
        "unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE; exec \"$0\" \"$DATABASE_URL\" -XtAc 'select 1'",
        &psql(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "1\n");
}

#[test]
fn the_environment_holds_every_field_and_the_conventional_names_but_no_passphrase() {
    let v = seeded();
    let o = v.keyway_with(
        &["run", "-w", "acme", "--flow", "etl", "--", "env"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_SESSION", "kws_not_a_real_session"),
            ("KEEP_ME", "kept"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let port = PgCluster::shared().port;
    for line in [
        "PGHOST=127.0.0.1".to_string(),
        format!("PGPORT={port}"),
        format!("PGUSER={ETL_USER}"),
        format!("PGPASSWORD={ETL_PASSWORD}"),
        format!("PGDATABASE={ETL_DATABASE}"),
        "PGSSLMODE=disable".to_string(),
        format!("DATABASE_URL=postgresql://{ETL_USER}:{ETL_PASSWORD}@127.0.0.1:{port}/{ETL_DATABASE}?sslmode=disable"),
        format!("KEYWAY_POSTGRESQL_PASSWORD={ETL_PASSWORD}"),
        "KEYWAY_POSTGRESQL_HOST=127.0.0.1".to_string(),
        "STRIPE_API_KEY=sk_test_SENTINEL_billing".to_string(),
        "KEYWAY_STRIPE_API_KEY=sk_test_SENTINEL_billing".to_string(),
        "KEYWAY_STRIPE_BASE_URL=https://api.stripe.com".to_string(),
        "KEEP_ME=kept".to_string(),
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line} in:\n{out}");
    }
    // The command gets its credentials, not the key to the whole vault.
    assert!(!out.contains(PASS) && !out.contains("KEYWAY_PASSPHRASE"));
    assert!(!out.contains("KEYWAY_SESSION"));
    // PATH is the command's own.
    assert!(out.lines().any(|l| l.starts_with("PATH=")));
}

#[test]
fn dry_run_prints_the_names_only() {
    let v = seeded();
    let o = v.keyway(&["run", "-w", "acme", "--flow", "etl", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l == "PGPASSWORD"), "{out}");
    assert!(out.lines().any(|l| l == "STRIPE_API_KEY"), "{out}");
    assert!(!out.contains("SENTINEL") && !out.contains('='), "{out}");
}

#[test]
fn two_credentials_of_one_component_are_ambiguous_unless_prefixed() {
    let v = seeded();
    let o = v.keyway(&["run", "-w", "acme", "--flow", "both-dbs", "--", "true"]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("--env-prefix") && err.contains("'replica'"),
        "{err}"
    );
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--flow",
        "both-dbs",
        "--env-prefix",
        "DB_",
        "--",
        "sh",
        "-c",
        "echo \"$DB_WAREHOUSE_PGUSER $DB_REPLICA_PGUSER ${PGUSER:-none}\"",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{ETL_USER} ro none\n"));
}

#[test]
fn the_commands_exit_code_is_keyways_and_keyways_own_are_125_to_127() {
    let v = seeded();
    let run = |cmd: &[&str]| {
        let mut args = vec!["run", "-w", "acme", "--credential", "billing", "--"];
        args.extend_from_slice(cmd);
        v.keyway(&args)
    };
    assert_eq!(code(&run(&["true"])), 0);
    assert_eq!(code(&run(&["sh", "-c", "exit 3"])), 3);
    assert_eq!(code(&run(&["sh", "-c", "exit 5"])), 5);
    // Killed by a signal: 128 + the signal, as a shell reports it.
    assert_eq!(code(&run(&["sh", "-c", "kill -KILL $$"])), 137);
    let o = run(&["no-such-command-keyway-test"]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));
    assert!(stderr(&o).contains("command not found"), "{}", stderr(&o));
    let not_executable = v.dir.path().join("script.sh");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").unwrap();
    let o = run(&[not_executable.to_str().unwrap()]);
    assert_eq!(code(&o), 126, "{}", stderr(&o));
    assert_eq!(
        code(&run(&[v.dir.path().to_str().unwrap()])),
        126,
        "a folder"
    );

    // keyway's own failures before the command starts: 125, with the sentence on stderr.
    let o = v.keyway_with(
        &["run", "-w", "acme", "--credential", "billing", "--", "true"],
        &[("KEYWAY_PASSPHRASE", "not the passphrase")],
        None,
    );
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("passphrase"), "{}", stderr(&o));
    let o = v.keyway(&["run", "-w", "acme", "--credential", "nope", "--", "true"]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    let o = v.keyway(&["run", "--credential", "billing", "--", "true"]);
    assert_eq!(code(&o), 125, "a usage error: {}", stderr(&o));
    let o = v.keyway(&["run", "-w", "acme", "--credential", "billing"]);
    assert_eq!(code(&o), 125, "no command: {}", stderr(&o));
    assert!(stderr(&o).contains("--dry-run"), "{}", stderr(&o));
    // --help is no failure.
    assert_eq!(code(&v.keyway(&["run", "--help"])), 0);
}

#[test]
fn an_inactive_flow_and_a_rejected_credential_are_refused_unless_forced() {
    let v = seeded();
    let o = v.keyway(&["run", "-w", "acme", "--flow", "idle", "--", "true"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("inactive"), "{}", stderr(&o));
    let o = v.keyway(&[
        "run", "-w", "acme", "--flow", "idle", "--force", "--", "true",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--credential",
        "gh-bad",
        "--",
        "sh",
        "-c",
        "echo ran",
    ]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("rejected"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "the command never ran");
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--credential",
        "gh-bad",
        "--force",
        "--",
        "sh",
        "-c",
        "echo $GH_TOKEN",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "ghp_SENTINEL_bad\n");
}

#[test]
fn verify_checks_each_credential_first_and_refuses_what_the_service_rejects() {
    let v = seeded();
    // The cluster accepts the warehouse login: the check passes and the command runs.
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--credential",
        "warehouse",
        "--verify",
        "--",
        "true",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway(&["credential", "show", "-w", "acme", "warehouse", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["status"], "verified");
    assert_ne!(
        shown["reason"], "Seeded as verified.",
        "a fresh result was recorded"
    );

    // A credential recorded as verified whose password the server no longer takes: --verify
    // finds out before the command starts, and the command never runs.
    let pg = PgCluster::shared();
    let port = pg.port.to_string();
    let stale = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("database", ETL_DATABASE),
        ("user", ETL_USER),
        ("password", "pw_SENTINEL_no_longer_valid"),
        ("sslmode", "disable"),
    ];
    seed(
        &mut v.open(),
        "acme",
        "postgresql",
        "stale",
        &stale,
        Status::Verified,
    );
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--credential",
        "stale",
        "--verify",
        "--",
        "sh",
        "-c",
        "echo the command ran",
    ]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "the command did not run");
    assert!(stderr(&o).contains("stale"), "{}", stderr(&o));
    assert!(stderr(&o).contains("rejected"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("pw_SENTINEL"), "{}", stderr(&o));
}

/// The lines a child prints, read on a thread so a test can wait for one with a deadline.
fn lines_of(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for `line` from the child (a generous deadline: the child reports, never a fixed
/// sleep); kills the child and fails when it does not come.
fn wait_for_line(
    lines: &std::sync::mpsc::Receiver<String>,
    child: &mut std::process::Child,
    line: &str,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(got) if got == line => return,
            Ok(_) => continue,
            Err(_) => {
                let _ = child.kill();
                panic!("the command never printed {line}");
            }
        }
    }
}

#[test]
fn sigterm_reaches_the_command_and_no_secret_is_in_keyways_command_line() {
    let v = seeded();
    let script =
        "trap 'kill $! 2>/dev/null; echo got-term; exit 42' TERM; echo ready; sleep 1000 & wait";
    let mut child = v
        .command(
            &[
                "run", "-w", "acme", "--flow", "etl", "--", "sh", "-c", script,
            ],
            &[("KEYWAY_PASSPHRASE", PASS)],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    wait_for_line(&lines, &mut child, "ready");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(
        cmdline.contains("run") && cmdline.contains("etl"),
        "{cmdline}"
    );
    for secret in [ETL_PASSWORD, "SENTINEL", PASS] {
        assert!(!cmdline.contains(secret), "{secret} in {cmdline}");
    }
    // SAFETY: kill with a plain pid and signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    wait_for_line(&lines, &mut child, "got-term");
    assert_eq!(child.wait().unwrap().code(), Some(42));

    // A command that a forwarded signal kills: 128 + 15.
    let mut child = v
        .command(
            &[
                "run",
                "-w",
                "acme",
                "--credential",
                "billing",
                "--",
                "sh",
                "-c",
                "echo ready; exec sleep 1000",
            ],
            &[("KEYWAY_PASSPHRASE", PASS)],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    wait_for_line(&lines, &mut child, "ready");
    // Whether the shell has exec'd sleep yet or not, the command has no handler: TERM kills it.
    let keyway = child.id();
    // SAFETY: as above.
    unsafe { libc::kill(keyway as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(143));
}
