//! `keyway credential rotate` against a real PostgreSQL 15 that logs every statement: the new
//! password reaches the server only as a SCRAM verifier, refusals change nothing, `--older-than`
//! picks exactly the old passwords, and a rotation killed at any step leaves a stored password
//! that logs in.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;

use crate::support::pg::PgCluster;
use crate::support::{code, file_bytes, stderr, stdout, TestVault, PASS};

/// A fresh role name for each test (the cluster is shared by the binary).
fn fresh_role(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}_{}", N.fetch_add(1, Ordering::SeqCst))
}

/// A vault with workspace acme and PostgreSQL credential `name` for `role`/`password`.
fn vault_with(pg: &PgCluster, name: &str, role: &str, password: &str) -> TestVault {
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    add_credential(&v, pg, name, role, password);
    v
}

/// `credential add` of PostgreSQL credential `name` in workspace acme for `role` on the
/// cluster, its password given as `password_field` (`password=-` for stdin).
fn add_args(pg: &PgCluster, name: &str, role: &str, password_field: &str) -> Vec<String> {
    let fixed = [
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "postgresql",
        "-n",
        name,
        "-f",
        "host=127.0.0.1",
        "-f",
        "database=postgres",
        "-f",
        "sslmode=disable",
        "-f",
    ];
    let mut args: Vec<String> = fixed.iter().map(|a| a.to_string()).collect();
    args.extend([
        format!("port={}", pg.port),
        "-f".into(),
        format!("user={role}"),
        "-f".into(),
        password_field.to_string(),
    ]);
    args
}

fn add_credential(v: &TestVault, pg: &PgCluster, name: &str, role: &str, password: &str) {
    let args = add_args(pg, name, role, "password=-");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = v.keyway_with(
        &args,
        &[("KEYWAY_PASSPHRASE", PASS)],
        Some(&format!("{password}\n")),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

fn show(v: &TestVault, name: &str) -> Value {
    let o = v.keyway(&[
        "credential",
        "show",
        "-w",
        "acme",
        name,
        "--json",
        "--reveal",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("show --json")
}

fn stored_password(v: &TestVault, name: &str) -> String {
    show(v, name)["fields"]["password"]
        .as_str()
        .expect("password")
        .to_string()
}

#[test]
fn rotation_sets_a_new_password_the_server_holds_only_as_a_scram_verifier() {
    let pg = PgCluster::logging();
    let role = fresh_role("rot");
    let old = "old_SENTINEL_rotation_pw_1";
    pg.create_role(&role, old);
    let v = vault_with(pg, "warehouse", &role, old);
    let o = v.keyway(&[
        "flow",
        "add",
        "-w",
        "acme",
        "--name",
        "nightly",
        "--step",
        "postgresql=warehouse",
        "--active",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let before = show(&v, "warehouse");

    let o = v.keyway(&["credential", "rotate", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    for step in 1..=5 {
        assert!(
            stderr(&o).contains(&format!("rotate: step {step}/5")),
            "{}",
            stderr(&o)
        );
    }
    assert!(
        stdout(&o).contains("Rotated PostgreSQL credential 'warehouse'"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("nightly"),
        "the active flow is named: {}",
        stdout(&o)
    );

    let new = stored_password(&v, "warehouse");
    assert_eq!(new.len(), 32, "{new}");
    assert!(new
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_ne!(new, old);
    assert!(!pg.logs_in(&role, old), "the old password still logs in");
    assert!(pg.logs_in(&role, &new), "the new password does not log in");

    let after = show(&v, "warehouse");
    assert!(
        after["revision"].as_u64() > before["revision"].as_u64(),
        "{after}"
    );
    assert!(after["rotation_pending_since"].is_null(), "{after}");
    assert_ne!(after["password_set_at"], Value::Null);

    let o = v.keyway(&["credential", "verify", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    let o = v.keyway(&["credential", "show", "-w", "acme", "warehouse"]);
    assert!(stdout(&o).contains("Password rotated"), "{}", stdout(&o));

    // Only a SCRAM verifier reached the server: in pg_authid and in the statement log.
    let verifier = pg.stored_verifier(&role);
    assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
    assert!(!verifier.contains(&new));
    let log = pg.server_log();
    assert!(
        log.contains("ALTER ROLE CURRENT_USER PASSWORD 'SCRAM-SHA-256$"),
        "statements are logged"
    );
    assert!(!log.contains(&new), "the new password is in the server log");
    // Neither password was printed.
    for text in [stdout(&o), stderr(&o)] {
        assert!(!text.contains(&new) && !text.contains(old), "{text}");
    }
}

#[test]
fn a_credential_that_does_not_verify_is_refused_before_anything_is_written() {
    let pg = PgCluster::logging();
    let role = fresh_role("rotbad");
    pg.create_role(&role, "first_SENTINEL_pw_2");
    let v = vault_with(pg, "warehouse", &role, "first_SENTINEL_pw_2");
    // The DBA changes the password behind keyway's back: the stored one no longer works.
    pg.superuser_sql(&format!("ALTER ROLE {role} PASSWORD 'dba_SENTINEL_pw_3'"));
    let on_server = pg.stored_verifier(&role);
    let bytes = file_bytes(&v.path);

    let o = v.keyway(&["credential", "rotate", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rejected the password"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("step 2"), "{}", stderr(&o));
    assert_eq!(file_bytes(&v.path), bytes, "the vault changed");
    assert_eq!(pg.stored_verifier(&role), on_server, "the server changed");
}

#[test]
fn a_password_change_the_server_refuses_leaves_vault_and_server_as_they_were() {
    let pg = PgCluster::logging();
    let role = fresh_role("rotro");
    let old = "readonly_SENTINEL_pw_4";
    pg.create_role(&role, old);
    // A role the DBA restricted: its transactions are read-only, so ALTER ROLE is refused.
    pg.superuser_sql(&format!(
        "ALTER ROLE {role} SET default_transaction_read_only = on"
    ));
    let v = vault_with(pg, "warehouse", &role, old);
    let on_server = pg.stored_verifier(&role);

    let o = v.keyway(&["credential", "rotate", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the password change") && stderr(&o).contains("read-only"),
        "the server's reason: {}",
        stderr(&o)
    );
    assert_eq!(pg.stored_verifier(&role), on_server, "the server changed");
    assert!(pg.logs_in(&role, old));
    let after = show(&v, "warehouse");
    assert_eq!(after["fields"]["password"], old);
    assert!(after["rotation_pending_since"].is_null(), "{after}");
    let o = v.keyway(&["credential", "verify", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn older_than_rotates_exactly_the_old_passwords_and_dry_run_changes_nothing() {
    let pg = PgCluster::logging();
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let mut roles = Vec::new();
    for (name, pw) in [
        ("old-a", "olda_SENTINEL_pw_5"),
        ("old-b", "oldb_SENTINEL_pw_6"),
        ("young", "young_SENTINEL_pw_7"),
    ] {
        let role = fresh_role("rotage");
        pg.create_role(&role, pw);
        add_credential(&v, pg, name, &role, pw);
        roles.push((name, role, pw));
    }
    // Two passwords were last changed 100 days ago, one 10 days ago.
    let now = keyway::clock::now().0;
    {
        let mut store = v.open();
        for (name, days) in [("old-a", 100), ("old-b", 100), ("young", 10)] {
            let mut c = store
                .snapshot()
                .credentials
                .iter()
                .find(|c| c.name == name)
                .expect("credential")
                .clone();
            c.password_changed_at = Some(keyway::core::time::Timestamp(now - days * 86_400));
            store.save_credential(c).expect("age it");
        }
    }
    let o = v.keyway(&["audit", "--fail-on-password-age", "90d"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("PASSWORD AGE") && stdout(&o).contains("100d"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("old-a, old-b"), "{}", stderr(&o));

    let bytes = file_bytes(&v.path);
    let o = v.keyway(&[
        "credential",
        "rotate",
        "-w",
        "acme",
        "--older-than",
        "90d",
        "--dry-run",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("old-a") && stdout(&o).contains("old-b"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("young"), "{}", stdout(&o));
    assert_eq!(file_bytes(&v.path), bytes, "--dry-run changed the vault");
    for (_, role, pw) in &roles {
        assert!(pg.logs_in(role, pw), "--dry-run changed {role}'s password");
    }

    let o = v.keyway(&["credential", "rotate", "-w", "acme", "--older-than", "90d"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Rotated 2 credential(s)"),
        "{}",
        stdout(&o)
    );
    for (name, role, pw) in &roles {
        let stored = stored_password(&v, name);
        if *name == "young" {
            assert_eq!(stored, *pw, "the young password was rotated");
            assert!(pg.logs_in(role, pw));
        } else {
            assert_ne!(stored, *pw, "{name} was not rotated");
            assert!(!pg.logs_in(role, pw) && pg.logs_in(role, &stored));
        }
    }
    let o = v.keyway(&["audit", "--fail-on-password-age", "90d"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let o = v.keyway(&["credential", "rotate", "-w", "acme", "x", "--length", "8"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--length"), "{}", stderr(&o));
    let o = v.keyway(&["credential", "rotate", "-w", "acme", "--older-than", "soon"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = v.keyway(&["credential", "rotate", "-w", "acme", "--older-than", "90d"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway(&["credential", "rotate", "-w", "acme", "missing"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// A rotation running until it prints step `step`'s marker on stderr, then killed with SIGKILL
/// a random moment later (0 to `max_delay`), never a fixed delay from the start.
fn kill_after_marker(mut child: Child, step: u8, max_delay: Duration, rng: &mut impl Rng) {
    let err = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = format!("rotate: step {step}/5");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(&marker) => break,
            Ok(_) => {}
            // It ended (or said nothing in time) before the marker: nothing left to kill.
            Err(_) => break,
        }
    }
    let delay = rng.gen_range(Duration::ZERO..=max_delay);
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// One lane of kill rounds: its own role and vault, `rounds` rotations each killed at a random
/// moment after a random step's marker. Returns how many kills the next verify resolved to the
/// current password and how many to the pending one.
fn kill_lane(pg: &PgCluster, lane: usize, rounds: usize) -> (usize, usize) {
    let role = fresh_role("rotkill");
    let first = format!("kill_SENTINEL_pw_{lane}");
    pg.create_role(&role, &first);
    let v = vault_with(pg, "warehouse", &role, &first);
    // The trust store is read by every verifier: a one-CA file instead of the system's keeps
    // each process short (the system bundle is most of a debug build's start-up).
    let ca = crate::support::tls::TestCa::new("keyway kill rounds CA");
    let ca_file = ca.write(v.dir.path(), "ca.pem");
    let no_dir = v.dir.path().join("no-certs");
    std::fs::create_dir_all(&no_dir).expect("certs dir");
    let env = [
        ("KEYWAY_PASSPHRASE", PASS),
        ("SSL_CERT_FILE", ca_file.to_str().expect("utf-8 path")),
        ("SSL_CERT_DIR", no_dir.to_str().expect("utf-8 path")),
    ];
    let mut rng = rand::thread_rng();
    let (mut kept, mut taken) = (0, 0);
    for round in 0..rounds {
        // Every fourth round is killed the moment the pending password is recorded (step 3's
        // marker: the server is not asked yet, so the vault must keep the current one), the
        // next the moment the server took the new one (step 4's: it must take the pending
        // one); each window is a connect and login wide, on a slow machine as on a fast one,
        // so both resolutions are seen whatever the machine's speed. The other rounds kill at
        // any moment of any step.
        let (step, max_delay) = match round % 4 {
            0 => (3, Duration::ZERO),
            1 => (4, Duration::ZERO),
            _ => (rng.gen_range(1..=5u8), Duration::from_millis(40)),
        };
        let child = v
            .command(&["credential", "rotate", "-w", "acme", "warehouse"], &env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rotate");
        kill_after_marker(child, step, max_delay, &mut rng);

        let o = v.keyway_with(
            &["credential", "verify", "-w", "acme", "warehouse"],
            &env,
            None,
        );
        assert_eq!(
            code(&o),
            0,
            "lane {lane} round {round} (killed after step {step}): {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        if stderr(&o).contains("rotation interrupted, resolved: the server kept") {
            kept += 1;
        }
        if stderr(&o).contains("rotation interrupted, resolved: the server had taken") {
            taken += 1;
        }
        let o = v.keyway_with(
            &[
                "run",
                "-w",
                "acme",
                "--credential",
                "warehouse",
                "--",
                "/usr/lib/postgresql/15/bin/psql",
                "-qAtX",
                "-w",
                "-c",
                "SELECT 1",
            ],
            &env,
            None,
        );
        assert_eq!(
            code(&o),
            0,
            "lane {lane} round {round} (killed after step {step}): psql with the stored password: {}",
            stderr(&o)
        );
    }
    let history = v.keyway(&["credential", "show", "-w", "acme", "warehouse"]);
    if kept + taken > 0 {
        assert!(
            stdout(&history).contains("Rotation interrupted, resolved"),
            "{}",
            stdout(&history)
        );
    }
    (kept, taken)
}

/// 200 rotations killed after a step's marker (four lanes at once; half of them at a random
/// moment after a random step's, the rest straight after step 3's or step 4's, see kill_lane):
/// after each, the next `credential verify` resolves the pending rotation to a password that
/// works, and psql with the stored password (given by `keyway run`) logs in.
#[test]
fn rotations_killed_at_any_step_leave_a_stored_password_that_logs_in() {
    let pg = PgCluster::logging();
    let started = Instant::now();
    // Four lanes of 50: each round mostly waits on its processes and the server, so lanes
    // side by side finish sooner on two cores.
    let lanes: Vec<_> = (0..4)
        .map(|lane| std::thread::spawn(move || kill_lane(pg, lane, 50)))
        .collect();
    let (mut kept, mut taken) = (0, 0);
    for lane in lanes {
        let (k, t) = lane.join().expect("lane");
        kept += k;
        taken += t;
    }
    eprintln!(
        "200 kill rounds in {:.1} s: {kept} resolved to the current password, {taken} to the pending one",
        started.elapsed().as_secs_f64()
    );
    assert!(
        kept > 0 && taken > 0,
        "the kills missed the pending window: kept {kept}, taken {taken}"
    );
}

/// Whether `user` logs in to the MariaDB server over TCP with `password` (the mariadb client).
fn mariadb_logs_in(db: &crate::support::mariadb::MariaDb, user: &str, password: &str) -> bool {
    std::process::Command::new("mariadb")
        .arg("--no-defaults")
        .args(["-h", "127.0.0.1", "-P", &db.port.to_string(), "-u", user])
        .arg(format!("-p{password}"))
        .args(["--skip-ssl", "-e", "SELECT 1"])
        .stdin(Stdio::null())
        .output()
        .expect("run mariadb")
        .status
        .success()
}

#[test]
fn a_mariadb_password_is_rotated_with_its_own_set_password() {
    let db = crate::support::mariadb::MariaDb::shared();
    let user = fresh_role("rotmy");
    let old = "my_SENTINEL_rotation_old_9";
    db.sql(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{old}'; GRANT USAGE ON *.* TO '{user}'@'%';"
    ));
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let port = format!("port={}", db.port);
    let user_field = format!("user={user}");
    let o = v.keyway_with(
        &[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "mysql",
            "-n",
            "orders",
            "-f",
            "host=127.0.0.1",
            "-f",
            &port,
            "-f",
            &user_field,
            "-f",
            "sslmode=disable",
            "-f",
            "password=-",
        ],
        &[("KEYWAY_PASSPHRASE", PASS)],
        Some(&format!("{old}\n")),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = v.keyway(&["credential", "rotate", "-w", "acme", "orders"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Rotated MySQL"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("SET PASSWORD = PASSWORD(...)"),
        "{}",
        stdout(&o)
    );
    let new = stored_password(&v, "orders");
    assert_eq!(new.len(), 32);
    assert!(
        !mariadb_logs_in(db, &user, old),
        "the old password still logs in"
    );
    assert!(
        mariadb_logs_in(db, &user, &new),
        "the new password does not log in"
    );
    for text in [stdout(&o), stderr(&o)] {
        assert!(!text.contains(&new) && !text.contains(old), "{text}");
    }
    let o = v.keyway(&["credential", "verify", "-w", "acme", "orders"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
}

/// `keyway run` is a use of the credential too: a rotation interrupted after the server took
/// the new password is resolved before the command gets a password, so psql logs in.
#[test]
fn run_resolves_an_interrupted_rotation_before_handing_out_the_password() {
    let pg = PgCluster::logging();
    let role = fresh_role("rotrun");
    let old = "run_SENTINEL_old_pw_10";
    let new = "run_SENTINEL_new_pw_11_abcdefghij";
    pg.create_role(&role, old);
    let v = vault_with(pg, "warehouse", &role, old);
    {
        let mut store = v.open();
        let c = store.snapshot().credentials[0].clone();
        store
            .begin_rotation(
                &c.id,
                c.revision.number,
                secrecy::SecretString::from(new.to_string()),
                keyway::clock::now(),
            )
            .expect("pending rotation");
    }
    // The server took it; the process that rotated was killed before its last step.
    pg.superuser_sql(&format!("ALTER ROLE {role} PASSWORD '{new}'"));
    let o = v.keyway(&[
        "run",
        "-w",
        "acme",
        "--credential",
        "warehouse",
        "--",
        "/usr/lib/postgresql/15/bin/psql",
        "-qAtX",
        "-w",
        "-c",
        "SELECT 1",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rotation interrupted, resolved"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stored_password(&v, "warehouse"), new);
}

/// On a team vault, a rotation lands in the change log under its own name: who started it and
/// who finished it, with the credential's revisions, never as a bare "credential edited".
#[test]
fn a_rotation_on_a_team_vault_is_named_in_the_change_log() {
    use super::team_vault::Team;
    let team = Team::new();
    team.ok(&["init", "--url", &team.url(), "--member", "alice"]);
    team.ok(&["workspace", "add", "acme"]);
    let role = fresh_role("rotteam");
    let old = "old_SENTINEL_team_rotation_pw";
    team.pg.create_role(&role, old);
    let args = add_args(team.pg, "warehouse", &role, &format!("password={old}"));
    team.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let o = team.keyway(&["credential", "rotate", "-w", "acme", "warehouse"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = team.ok(&["log", "--json"]);
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    let actions: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == "warehouse")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["member"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    let started = names
        .iter()
        .position(|a| *a == "credential rotation started");
    let rotated = names.iter().position(|a| *a == "credential rotated");
    assert!(
        matches!((started, rotated), (Some(s), Some(r)) if s < r),
        "{names:?}"
    );
    assert!(
        !names[started.unwrap()..].contains(&"credential edited"),
        "{names:?}"
    );
    assert!(
        actions.iter().all(|(_, m)| m.starts_with("alice")),
        "{actions:?}"
    );
    assert!(
        !stdout(&o).contains("SENTINEL_team_rotation"),
        "{}",
        stdout(&o)
    );
}
