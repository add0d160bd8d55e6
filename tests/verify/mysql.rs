//! MySQL / MariaDB verification against real MariaDB servers on 127.0.0.1 (see
//! tests/support/mariadb.rs): one plain server shared by the binary, one with TLS from a test CA.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::mariadb::{
    MariaDb, ETL_DATABASE, ETL_PASSWORD, ETL_USER, FORBIDDEN_DATABASE, MISSING_DATABASE,
};
use crate::support::pg::free_port;
use crate::support::tls::TestCa;
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Credential, Status, TlsState};
use keyway::verify::Outcome;

fn mysql(port: u16, fields: &[(&str, &str)], password: &str) -> Credential {
    let port = port.to_string();
    let mut public = vec![
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("user", ETL_USER),
        ("database", ETL_DATABASE),
        ("sslmode", "disable"),
    ];
    for (k, v) in fields {
        public.retain(|(name, _)| name != k);
        public.push((k, v));
    }
    credential("mysql", &public, &[("password", password)])
}

async fn check(c: &Credential) -> Outcome {
    verifier(2, 10).verify(&builtin("mysql"), c, NOW).await
}

#[tokio::test]
async fn right_password_is_verified_with_the_server_version() {
    let db = MariaDb::shared();
    let o = check(&mysql(db.port, &[], ETL_PASSWORD)).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let detail = o.detail.clone().unwrap_or_default();
    assert!(detail.starts_with("MariaDB 10."), "{detail}");
    assert!(o.reason.contains("unencrypted"), "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::None));
    assert_no_secret(&o);
}

#[tokio::test]
async fn no_database_logs_in_without_one() {
    let db = MariaDb::shared();
    let o = check(&mysql(db.port, &[("database", "")], ETL_PASSWORD)).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let db = MariaDb::shared();
    let o = check(&mysql(db.port, &[], "pw_SENTINEL_wrong")).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("rejected the password for user 'etl'"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_database_the_user_may_not_use_is_rejected() {
    let db = MariaDb::shared();
    let o = check(&mysql(
        db.port,
        &[("database", FORBIDDEN_DATABASE)],
        ETL_PASSWORD,
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("may not use the database 'payroll'"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_unknown_database_is_told_apart() {
    let db = MariaDb::shared();
    // etl has a grant on it, so its absence is "does not exist", not "access denied".
    let o = check(&mysql(
        db.port,
        &[("database", MISSING_DATABASE)],
        ETL_PASSWORD,
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("'ghost' does not exist"), "{}", o.reason);
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let o = check(&mysql(free_port(), &[], ETL_PASSWORD)).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("refused"), "{}", o.reason);
}

#[tokio::test]
async fn silent_server_is_unreachable_within_deadline_plus_one_second() {
    // Accepts TCP and never says a word: MySQL's server speaks first, so the login hangs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let deadline = 2;
    let started = Instant::now();
    let o = verifier(1, deadline)
        .verify(&builtin("mysql"), &mysql(port, &[], ETL_PASSWORD), NOW)
        .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("deadline"), "{}", o.reason);
    assert!(took <= Duration::from_secs(deadline + 1), "took {took:?}");
}

#[tokio::test]
async fn a_hostile_server_that_talks_nonsense_is_unreachable() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let o = check(&mysql(port, &[], ETL_PASSWORD)).await;
    served.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_is_misconfigured() {
    let db = MariaDb::shared();
    for mode in ["require", "verify-full"] {
        // The right password: a plaintext fallback would log in and report Verified.
        let o = check(&mysql(db.port, &[("sslmode", mode)], ETL_PASSWORD)).await;
        assert_eq!(o.status, Status::Misconfigured, "{mode}: {}", o.reason);
        assert!(
            o.reason
                .contains("does not offer TLS; set sslmode = disable only for loopback"),
            "{mode}: {}",
            o.reason
        );
        assert_no_secret(&o);
    }
}

/// A TLS server whose certificate (from `ca()`) names 127.0.0.1.
fn tls_server() -> &'static (TestCa, &'static MariaDb) {
    static SERVER: OnceLock<(TestCa, &'static MariaDb)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let ca = TestCa::new("keyway MariaDB test CA");
        let db: &'static MariaDb =
            Box::leak(Box::new(MariaDb::start_tls(&ca.server(&["127.0.0.1"]))));
        crate::support::stop_at_exit(Box::new(|| db.stop()));
        (ca, db)
    })
}

#[tokio::test]
async fn verify_full_with_ssl_ca_is_verified_over_tls() {
    let (ca, db) = tls_server();
    let o = check(&mysql(
        db.port,
        &[("sslmode", "verify-full"), ("ssl_ca", &ca.pem)],
        ETL_PASSWORD,
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(
        o.reason.contains("encrypted, server certificate verified"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, Some(TlsState::Verified));
    assert_no_secret(&o);
}

#[tokio::test]
async fn verify_full_without_the_ca_is_misconfigured() {
    let (_, db) = tls_server();
    let other = TestCa::new("some other CA");
    let o = check(&mysql(
        db.port,
        &[("sslmode", "verify-full"), ("ssl_ca", &other.pem)],
        ETL_PASSWORD,
    ))
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("certificate"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn require_without_a_ca_is_verified_but_says_the_certificate_was_not_checked() {
    let (_, db) = tls_server();
    let o = check(&mysql(db.port, &[("sslmode", "require")], ETL_PASSWORD)).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(
        o.reason
            .contains("encrypted, server certificate not checked"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, Some(TlsState::Unchecked));
}

#[tokio::test]
async fn a_wrong_password_over_tls_is_rejected() {
    let (ca, db) = tls_server();
    let o = check(&mysql(
        db.port,
        &[("sslmode", "verify-full"), ("ssl_ca", &ca.pem)],
        "pw_SENTINEL_wrong",
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn disable_is_refused_for_a_remote_host() {
    let c = mysql(3306, &[("host", "db.example.com")], ETL_PASSWORD);
    let o = check(&c).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("loopback"), "{}", o.reason);
}
