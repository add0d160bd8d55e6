//! The database engines beyond PostgreSQL through the real binary, against real servers on
//! loopback: a credential is saved only when the server accepted it.

use crate::support::mariadb::{self, MariaDb};
use crate::support::pg::free_port;
use crate::support::sshd::{self, Sshd};
use crate::support::tls::TestCa;
use crate::support::{code, stderr, stdout, TestVault, PASS};
use serde_json::Value;

fn vault() -> TestVault {
    TestVault::with_workspace("acme")
}

fn creds(v: &TestVault) -> Vec<Value> {
    let o = v.keyway(&["credential", "list", "--json"]);
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// `credential add -c mysql` with `fields`, the password (or another `-` field) read from
/// `stdin`.
fn add_mysql(v: &TestVault, name: &str, fields: &[String], stdin: &str) -> std::process::Output {
    let mut args = vec!["credential", "add", "-w", "acme", "-c", "mysql", "-n", name];
    for f in fields {
        args.push("-f");
        args.push(f);
    }
    v.keyway_with(&args, &[("KEYWAY_PASSPHRASE", PASS)], Some(stdin))
}

fn mysql_fields(port: u16, database: &str, extra: &[&str]) -> Vec<String> {
    let mut fields = vec![
        "host=127.0.0.1".to_string(),
        format!("port={port}"),
        format!("database={database}"),
        format!("user={}", mariadb::ETL_USER),
    ];
    fields.extend(extra.iter().map(|s| s.to_string()));
    fields
}

#[test]
fn mysql_credentials_are_saved_only_when_the_server_accepts_them() {
    let db = MariaDb::shared();
    let v = vault();
    let plain = mysql_fields(
        db.port,
        mariadb::ETL_DATABASE,
        &["sslmode=disable", "password=-"],
    );
    let o = add_mysql(&v, "orders", &plain, "pw_SENTINEL_wrong\n");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("was not saved"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rejected the password"),
        "{}",
        stderr(&o)
    );
    assert!(creds(&v).is_empty(), "a rejected credential was stored");

    let o = add_mysql(
        &v,
        "orders",
        &plain,
        &format!("{}\n", mariadb::ETL_PASSWORD),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("MariaDB"), "{}", stdout(&o));
    let list = creds(&v);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["component"], "mysql");
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["password"], "********");
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("SENTINEL"), "{all}");
    assert_eq!(
        code(&v.keyway(&["credential", "verify", "-w", "acme", "orders"])),
        0
    );
}

#[test]
fn a_mysql_database_the_user_may_not_use_is_refused_with_exit_1() {
    let db = MariaDb::shared();
    let v = vault();
    let fields = mysql_fields(
        db.port,
        mariadb::FORBIDDEN_DATABASE,
        &["sslmode=disable", "password=-"],
    );
    let o = add_mysql(
        &v,
        "payroll",
        &fields,
        &format!("{}\n", mariadb::ETL_PASSWORD),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("may not use the database 'payroll'"),
        "{}",
        stderr(&o)
    );
    assert!(creds(&v).is_empty());
}

#[test]
fn an_unreachable_mysql_server_is_reported_and_nothing_is_stored() {
    let v = vault();
    let fields = mysql_fields(
        free_port(),
        mariadb::ETL_DATABASE,
        &["sslmode=disable", "password=-"],
    );
    let o = add_mysql(&v, "gone", &fields, "whatever\n");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the connection"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--save-unverified"), "{}", stderr(&o));
    assert!(creds(&v).is_empty());
}

#[test]
fn mysql_over_tls_takes_its_ca_from_stdin_to_end_of_file() {
    let ca = TestCa::new("keyway MariaDB CLI CA");
    let db = MariaDb::start_tls(&ca.server(&["127.0.0.1"]));
    let v = vault();
    // The PEM has many lines: `ssl_ca=-` reads all of it, not the first line.
    let fields = mysql_fields(
        db.port,
        mariadb::ETL_DATABASE,
        &[
            "sslmode=verify-full",
            "ssl_ca=-",
            &format!("password={}", mariadb::ETL_PASSWORD),
        ],
    );
    assert!(ca.pem.lines().count() > 3);
    let o = add_mysql(&v, "tls", &fields, &ca.pem);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("verified (MariaDB"), "{}", stdout(&o));
    let list = creds(&v);
    assert_eq!(list[0]["tls"], "verified", "{:?}", list[0]);
}

/// `credential add -c redis` with `fields`, stdin as given.
fn add_redis(v: &TestVault, name: &str, fields: &[String], stdin: &str) -> std::process::Output {
    let mut args = vec!["credential", "add", "-w", "acme", "-c", "redis", "-n", name];
    for f in fields {
        args.push("-f");
        args.push(f);
    }
    v.keyway_with(&args, &[("KEYWAY_PASSPHRASE", PASS)], Some(stdin))
}

#[test]
fn redis_credentials_are_saved_only_when_the_server_accepts_them() {
    use crate::support::redis::{RedisServer, ACL_PASSWORD, ACL_USER};
    let server = RedisServer::with_acl();
    let v = vault();
    let fields = |user: &str| {
        vec![
            "host=127.0.0.1".to_string(),
            format!("port={}", server.port),
            format!("user={user}"),
            "password=-".to_string(),
        ]
    };
    let o = add_redis(&v, "cache", &fields(ACL_USER), "pw_SENTINEL_wrong\n");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("WRONGPASS"), "{}", stderr(&o));
    assert!(creds(&v).is_empty(), "a rejected credential was stored");
    let o = add_redis(&v, "cache", &fields(ACL_USER), &format!("{ACL_PASSWORD}\n"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["component"], "redis");
    assert_eq!(list[0]["status"], "verified");
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("SENTINEL"), "{all}");
}

#[test]
fn an_unreachable_redis_is_reported_and_nothing_is_stored() {
    let v = vault();
    let fields = vec![
        "host=127.0.0.1".to_string(),
        format!("port={}", free_port()),
        "password=-".to_string(),
    ];
    let o = add_redis(&v, "gone", &fields, "whatever\n");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the connection"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--save-unverified"), "{}", stderr(&o));
    assert!(creds(&v).is_empty());
}

#[test]
fn redis_tls_on_against_a_plain_server_is_refused_as_misconfigured() {
    use crate::support::redis::{RedisServer, DEFAULT_PASSWORD};
    let server = RedisServer::with_acl();
    let v = vault();
    let fields = vec![
        "host=127.0.0.1".to_string(),
        format!("port={}", server.port),
        "tls=on".to_string(),
        "password=-".to_string(),
    ];
    let o = add_redis(&v, "tls", &fields, &format!("{DEFAULT_PASSWORD}\n"));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not speak TLS"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("--save-unverified"),
        "a misconfiguration is not offered to be saved unverified: {}",
        stderr(&o)
    );
    assert!(creds(&v).is_empty());
}

#[test]
fn from_url_reads_a_connection_url_from_stdin_and_refuses_another_engines() {
    let db = MariaDb::shared();
    let v = vault();
    let url = format!(
        "mysql://{}:{}@127.0.0.1:{}/{}?sslmode=disable\n",
        mariadb::ETL_USER,
        mariadb::ETL_PASSWORD,
        db.port,
        mariadb::ETL_DATABASE
    );
    let args = [
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "mysql",
        "-n",
        "from-url",
        "--from-url",
        "-",
    ];
    let o = v.keyway_with(&args, &[("KEYWAY_PASSPHRASE", PASS)], Some(&url));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["database"], mariadb::ETL_DATABASE);
    assert_eq!(list[0]["fields"]["sslmode"], "disable");
    // A PostgreSQL URL for the mysql component: a usage error that does not echo the URL.
    let o = v.keyway_with(
        &[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "mysql",
            "-n",
            "pg",
            "--from-url",
            "postgresql://u:pw_SENTINEL_url@127.0.0.1/db",
        ],
        &[("KEYWAY_PASSPHRASE", PASS)],
        None,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("postgresql:// URL, which is not for MySQL / MariaDB"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("SENTINEL"), "{}", stderr(&o));
    assert_eq!(creds(&v).len(), 1);
}

/// `credential add -c sftp` with `fields`, stdin as given.
fn add_sftp(v: &TestVault, name: &str, fields: &[String], stdin: &str) -> std::process::Output {
    let mut args = vec!["credential", "add", "-w", "acme", "-c", "sftp", "-n", name];
    for f in fields {
        args.push("-f");
        args.push(f);
    }
    v.keyway_with(&args, &[("KEYWAY_PASSPHRASE", PASS)], Some(stdin))
}

fn sftp_fields(port: u16, extra: &[String]) -> Vec<String> {
    let mut fields = vec![
        "host=127.0.0.1".to_string(),
        format!("port={port}"),
        format!("user={}", sshd::SSH_USER),
    ];
    fields.extend(extra.iter().cloned());
    fields
}

#[test]
fn sftp_first_save_refuses_with_the_fingerprint_ssh_keygen_prints_then_saves_with_it() {
    let server = Sshd::shared();
    let v = vault();
    let fields = sftp_fields(server.port, &["password=-".to_string()]);
    let password = format!("{}\n", sshd::SSH_PASSWORD);
    let o = add_sftp(&v, "drop", &fields, &password);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // The fingerprint `ssh-keygen -lf` prints for the server's host key, run here.
    let printed = sshd::fingerprint(&server.host_key_pub);
    let to_pass = format!("run the command again with --field host_key={printed}");
    assert!(stderr(&o).contains(&to_pass), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was sent"), "{}", stderr(&o));
    assert!(
        creds(&v).is_empty(),
        "saved before the host key was confirmed"
    );
    // Passing the fingerprint it printed: verified and saved, the pin stored.
    let mut pinned = fields.clone();
    pinned.push(format!("host_key={printed}"));
    let o = add_sftp(&v, "drop", &pinned, &password);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    assert_eq!(list[0]["component"], "sftp");
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["host_key"], printed.as_str());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("SENTINEL"), "{all}");
}

#[test]
fn sftp_a_changed_host_key_is_refused_loudly_and_nothing_is_stored() {
    let server = Sshd::shared();
    let v = vault();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other_host");
    sshd::keygen(&other, "");
    let stale = sshd::fingerprint(&other.with_extension("pub"));
    let fields = sftp_fields(
        server.port,
        &["password=-".to_string(), format!("host_key={stale}")],
    );
    let o = add_sftp(&v, "drop", &fields, &format!("{}\n", sshd::SSH_PASSWORD));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("Host key changed!"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("--field host_key="),
        "a changed key is not offered"
    );
    assert!(creds(&v).is_empty());
}

#[test]
fn sftp_key_login_reads_the_private_key_from_stdin_and_a_wrong_password_stores_nothing() {
    let server = Sshd::shared();
    let v = vault();
    let pin = format!("host_key={}", server.host_key);
    let o = add_sftp(
        &v,
        "pw",
        &sftp_fields(server.port, &[pin.clone(), "password=-".to_string()]),
        "pw_SENTINEL_wrong\n",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rejected the password"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("SENTINEL"), "{}", stderr(&o));
    assert!(creds(&v).is_empty());
    // A wrong passphrase for the key: rejected, said so, nothing stored.
    assert!(server.client_key.lines().count() > 3, "a key of many lines");
    let keyed = |passphrase: &str| {
        sftp_fields(
            server.port,
            &[
                pin.clone(),
                "private_key=-".to_string(),
                format!("private_key_passphrase={passphrase}"),
            ],
        )
    };
    let o = add_sftp(&v, "key", &keyed("pp_SENTINEL_no"), &server.client_key);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("passphrase is wrong"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("SENTINEL"), "{}", stderr(&o));
    assert!(creds(&v).is_empty());
    // The whole OpenSSH key through `private_key=-`, with its passphrase.
    let o = add_sftp(&v, "key", &keyed(sshd::KEY_PASSPHRASE), &server.client_key);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(creds(&v)[0]["status"], "verified");
}

#[test]
fn sftp_from_url_gives_the_login_and_a_closed_port_is_unreachable() {
    let server = Sshd::shared();
    let v = vault();
    let url = format!("sftp://{}@127.0.0.1:{}/inbox", sshd::SSH_USER, server.port);
    let args = [
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "sftp",
        "-n",
        "from-url",
        "--from-url",
        &url,
        "-f",
        &format!("host_key={}", server.host_key),
        "-f",
        "password=-",
    ];
    let stdin = format!("{}\n", sshd::SSH_PASSWORD);
    let o = v.keyway_with(&args, &[("KEYWAY_PASSPHRASE", PASS)], Some(&stdin));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["user"], sshd::SSH_USER);
    assert_eq!(list[0]["fields"]["port"], server.port.to_string().as_str());
    // Nothing listens: unreachable, nothing stored.
    let o = add_sftp(
        &v,
        "gone",
        &sftp_fields(free_port(), &["password=-".to_string()]),
        "whatever\n",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the connection"),
        "{}",
        stderr(&o)
    );
    assert_eq!(creds(&v).len(), 1);
}

#[test]
fn sftp_imports_verify_and_one_without_a_host_key_waits_for_it() {
    let server = Sshd::shared();
    let v = vault();
    let n8n = format!(
        r#"[{{"id": "a1", "name": "Dropbox SFTP", "type": "sftp",
             "data": {{"host": "127.0.0.1", "port": {}, "username": "{}", "password": "{}"}}}}]"#,
        server.port,
        sshd::SSH_USER,
        sshd::SSH_PASSWORD
    );
    let file = v.dir.path().join("n8n.json");
    std::fs::write(&file, n8n).unwrap();
    let o = v.keyway_with(
        &[
            "import",
            "--from",
            "n8n",
            file.to_str().unwrap(),
            "-w",
            "acme",
        ],
        &[("KEYWAY_PASSPHRASE", PASS)],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(out.contains("1 rejected"), "{out}");
    assert!(
        out.contains(&format!("import it with host_key = {}", server.host_key)),
        "{out}"
    );
    assert!(!out.contains("SENTINEL"), "{out}");
    assert!(creds(&v).is_empty());
    // The same login with its host key (keyway's own variable names): verified and added.
    let env = format!(
        "SFTP_HOST=127.0.0.1\nSFTP_PORT={}\nSFTP_USER={}\nKEYWAY_SFTP_PASSWORD={}\nKEYWAY_SFTP_HOST_KEY={}\n",
        server.port,
        sshd::SSH_USER,
        sshd::SSH_PASSWORD,
        server.host_key
    );
    let file = v.dir.path().join("dropbox.env");
    std::fs::write(&file, env).unwrap();
    let o = v.keyway_with(
        &[
            "import",
            "--from",
            "dotenv",
            file.to_str().unwrap(),
            "-w",
            "acme",
        ],
        &[("KEYWAY_PASSPHRASE", PASS)],
        None,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let list = creds(&v);
    assert_eq!(list[0]["component"], "sftp");
    assert_eq!(list[0]["status"], "verified");
}

#[test]
fn sftp_secrets_stay_out_of_the_most_verbose_log() {
    let server = Sshd::shared();
    let v = vault();
    let fields = sftp_fields(
        server.port,
        &[
            format!("host_key={}", server.host_key),
            "private_key=-".to_string(),
            format!("private_key_passphrase={}", sshd::KEY_PASSPHRASE),
            format!("password={}", sshd::SSH_PASSWORD),
        ],
    );
    let mut args = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "sftp",
        "-n",
        "logged",
    ];
    for f in &fields {
        args.push("-f");
        args.push(f);
    }
    let o = v.keyway_with(
        &args,
        &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_LOG", "trace")],
        Some(&server.client_key),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The SSH client's own trace is in it: the test looks where a leak would be.
    assert!(stderr(&o).contains("russh"), "{}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("SENTINEL"), "a secret was logged");
    let body = server.client_key.lines().nth(2).expect("a key line");
    assert!(!all.contains(body), "the private key was logged");
}

#[test]
fn sftp_edit_of_a_credential_that_pins_no_host_key_refuses_until_it_is_given() {
    let server = Sshd::shared();
    let v = vault();
    // Imported unverified: stored with no host key.
    let env = format!(
        "SFTP_HOST=127.0.0.1\nSFTP_PORT={}\nSFTP_USER={}\nKEYWAY_SFTP_PASSWORD={}\n",
        server.port,
        sshd::SSH_USER,
        sshd::SSH_PASSWORD
    );
    let file = v.dir.path().join("dropbox.env");
    std::fs::write(&file, env).unwrap();
    let with_pass = [("KEYWAY_PASSPHRASE", PASS)];
    let o = v.keyway_with(
        &[
            "import",
            "--from",
            "dotenv",
            file.to_str().unwrap(),
            "-w",
            "acme",
            "--no-verify",
        ],
        &with_pass,
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(creds(&v)[0]["status"], "unverified");
    // Any edit is verified first: refused, with the fingerprint to pass, nothing written.
    let edit = |extra: &str| {
        v.keyway_with(
            &["credential", "edit", "-w", "acme", "dropbox", "-f", extra],
            &with_pass,
            None,
        )
    };
    let o = edit("user=keyway-ssh");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let to_pass = format!("--field host_key={}", server.host_key);
    assert!(stderr(&o).contains(&to_pass), "{}", stderr(&o));
    assert_eq!(creds(&v)[0]["status"], "unverified");
    let o = edit(&format!("host_key={}", server.host_key));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["host_key"], server.host_key.as_str());
}
