//! The database engines beyond PostgreSQL through the real binary, against real servers on
//! loopback: a credential is saved only when the server accepted it.

use crate::support::mariadb::{self, MariaDb};
use crate::support::pg::free_port;
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
