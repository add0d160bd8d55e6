//! PostgreSQL verification against a real cluster on 127.0.0.1 (see tests/support/pg.rs).

use std::time::{Duration, Instant};

use crate::support::pg::{free_port, PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Status, TlsState};
use keyway::verify::Outcome;

fn pg_credential(
    port: u16,
    database: &str,
    password: &str,
    sslmode: &str,
) -> keyway::core::Credential {
    let port = port.to_string();
    credential(
        "postgresql",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("database", database),
            ("user", ETL_USER),
            ("sslmode", sslmode),
        ],
        &[("password", password)],
    )
}

async fn check(port: u16, database: &str, password: &str, sslmode: &str) -> Outcome {
    verifier(2, 5)
        .verify(
            &builtin("postgresql"),
            &pg_credential(port, database, password, sslmode),
            NOW,
        )
        .await
}

#[tokio::test]
async fn right_password_is_verified_with_the_server_version() {
    let pg = PgCluster::shared();
    let o = check(pg.port, ETL_DATABASE, ETL_PASSWORD, "disable").await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let detail = o.detail.clone().unwrap_or_default();
    assert!(detail.starts_with("PostgreSQL 15"), "{detail}");
    assert!(o.reason.contains("unencrypted"), "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::None));
    assert_no_secret(&o);
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let pg = PgCluster::shared();
    let o = check(pg.port, ETL_DATABASE, "pw_SENTINEL_wrong", "disable").await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert_eq!(o.reason, "PostgreSQL rejected the password for user 'etl'.");
    assert_no_secret(&o);
}

#[tokio::test]
async fn unknown_database_is_rejected() {
    let pg = PgCluster::shared();
    let o = check(pg.port, "no_such_db", ETL_PASSWORD, "disable").await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("'no_such_db' does not exist"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let port = free_port();
    let o = check(port, ETL_DATABASE, ETL_PASSWORD, "disable").await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("refused"), "{}", o.reason);
}

#[tokio::test]
async fn silent_server_times_out_within_deadline_plus_one_second() {
    // Accepts TCP and never says a word: the connect succeeds, the startup exchange hangs.
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
        .verify(
            &builtin("postgresql"),
            &pg_credential(port, ETL_DATABASE, ETL_PASSWORD, "disable"),
            NOW,
        )
        .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("deadline"), "{}", o.reason);
    assert!(
        took >= Duration::from_millis(1900),
        "gave up early: {took:?}"
    );
    assert!(took <= Duration::from_secs(deadline + 1), "took {took:?}");
}

#[tokio::test]
async fn a_server_without_tls_is_misconfigured_when_sslmode_requires_it() {
    let pg = PgCluster::shared();
    for mode in ["require", "verify-ca", "verify-full"] {
        // The right password: a plaintext fallback would log in and report Verified.
        let o = check(pg.port, ETL_DATABASE, ETL_PASSWORD, mode).await;
        assert_eq!(o.status, Status::Misconfigured, "{mode}: {}", o.reason);
        assert!(
            o.reason
                .contains("does not offer TLS; set sslmode = disable only for loopback"),
            "{mode}: {}",
            o.reason
        );
        assert_eq!(o.tls, None, "{mode}: no connection was made");
        assert_no_secret(&o);
    }
}

#[tokio::test]
async fn missing_fields_are_misconfigured() {
    let c = credential(
        "postgresql",
        &[("host", "127.0.0.1"), ("port", "70000"), ("user", "etl")],
        &[("password", ETL_PASSWORD)],
    );
    let o = verifier(1, 2).verify(&builtin("postgresql"), &c, NOW).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("'port'"), "{}", o.reason);
}
