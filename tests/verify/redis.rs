//! Redis verification against real redis-server processes on 127.0.0.1 (see
//! tests/support/redis.rs): passwords, an ACL user, a server without a password, TLS.

use std::time::{Duration, Instant};

use crate::support::pg::free_port;
use crate::support::redis::{RedisServer, ACL_PASSWORD, ACL_USER, DEFAULT_PASSWORD};
use crate::support::tls::TestCa;
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Credential, Status, TlsState};
use keyway::verify::Outcome;

fn redis(port: u16, public: &[(&str, &str)], password: Option<&str>) -> Credential {
    let port = port.to_string();
    let mut fields = vec![("host", "127.0.0.1"), ("port", port.as_str())];
    fields.extend_from_slice(public);
    let secrets: Vec<(&str, &str)> = password.map(|p| ("password", p)).into_iter().collect();
    credential("redis", &fields, &secrets)
}

async fn check(c: &Credential) -> Outcome {
    verifier(2, 10).verify(&builtin("redis"), c, NOW).await
}

#[tokio::test]
async fn the_default_users_password_is_verified() {
    let server = RedisServer::with_acl();
    let o = check(&redis(server.port, &[], Some(DEFAULT_PASSWORD))).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("unencrypted"), "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::None));
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_wrong_password_is_rejected_as_wrongpass() {
    let server = RedisServer::with_acl();
    let o = check(&redis(server.port, &[], Some("pw_SENTINEL_wrong"))).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("WRONGPASS"), "{}", o.reason);
    assert!(o.reason.contains("the default user"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_acl_user_and_its_wrong_password() {
    let server = RedisServer::with_acl();
    let user = [("user", ACL_USER)];
    let o = check(&redis(server.port, &user, Some(ACL_PASSWORD))).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("user 'etl'"), "{}", o.reason);
    // The default user's password is not etl's.
    let o = check(&redis(server.port, &user, Some(DEFAULT_PASSWORD))).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("WRONGPASS") && o.reason.contains("user 'etl'"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn no_password_where_the_server_wants_one_is_noauth() {
    let server = RedisServer::with_acl();
    let o = check(&redis(server.port, &[], None)).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("NOAUTH"), "{}", o.reason);
    assert!(o.reason.contains("requires a password"), "{}", o.reason);
}

#[tokio::test]
async fn a_password_for_a_server_without_one_is_noauth() {
    let server = RedisServer::open();
    let o = check(&redis(server.port, &[], Some("pw_SENTINEL_unneeded"))).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("NOAUTH") && o.reason.contains("no password set"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
    // And without one, that server is verified.
    let o = check(&redis(server.port, &[], None)).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
}

#[tokio::test]
async fn a_database_number_is_selected_and_one_out_of_range_rejected() {
    let server = RedisServer::with_acl();
    let o = check(&redis(
        server.port,
        &[("database", "3")],
        Some(DEFAULT_PASSWORD),
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let o = check(&redis(
        server.port,
        &[("database", "999")],
        Some(DEFAULT_PASSWORD),
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("no database 999"), "{}", o.reason);
}

#[tokio::test]
async fn tls_on_against_a_plain_server_is_misconfigured() {
    let server = RedisServer::with_acl();
    let o = check(&redis(
        server.port,
        &[("tls", "on")],
        Some(DEFAULT_PASSWORD),
    ))
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("does not speak TLS"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn tls_off_is_refused_for_a_remote_host_and_is_not_its_default() {
    let c = credential(
        "redis",
        &[("host", "cache.example.com"), ("tls", "off")],
        &[("password", "pw_SENTINEL_x")],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("loopback"), "{}", o.reason);
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let o = check(&redis(free_port(), &[], Some(DEFAULT_PASSWORD))).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("refused"), "{}", o.reason);
}

#[tokio::test]
async fn silent_server_is_unreachable_within_deadline_plus_one_second() {
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
            &builtin("redis"),
            &redis(port, &[], Some(DEFAULT_PASSWORD)),
            NOW,
        )
        .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("deadline"), "{}", o.reason);
    assert!(took <= Duration::from_secs(deadline + 1), "took {took:?}");
}

#[tokio::test]
async fn a_hostile_server_that_streams_a_huge_answer_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // A bulk string announced at 1 GB, then as much as the client will take.
                let _ = socket.write_all(b"$1000000000\r\n").await;
                let chunk = vec![b'x'; 64 * 1024];
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    let o = check(&redis(port, &[], Some("pw_SENTINEL_hostile"))).await;
    served.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(
        !o.reason.contains("deadline"),
        "cut off, not timed out: {}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_tls_server_with_a_trusted_certificate_is_verified() {
    // The trust comes from the shared CAs: the test CA through verify.extra_ca_file.
    let ca = TestCa::new("keyway Redis test CA");
    let server = RedisServer::start_tls(&ca.server(&["127.0.0.1"]));
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let v = keyway::verify::Verifier::new(&keyway::config::VerifyConfig {
        connect_timeout_secs: 2,
        deadline_secs: 10,
        extra_ca_file: Some(ca_file),
        ..keyway::config::VerifyConfig::default()
    })
    .unwrap();
    let c = redis(server.port, &[("tls", "on")], Some(DEFAULT_PASSWORD));
    let o = v.verify(&builtin("redis"), &c, NOW).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(
        o.reason.contains("encrypted, server certificate verified"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, Some(TlsState::Verified));
    // Without that CA the certificate is not trusted: misconfigured, nothing sent.
    let o = check(&c).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert_no_secret(&o);
}
