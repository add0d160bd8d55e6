//! PostgreSQL over TLS against real clusters with certificates from a test CA: libpq's sslmode
//! words, ssl_ca, client certificates, and reasons that say what to do.

use std::sync::OnceLock;

use crate::support::pg::{PgCluster, PgTls, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use crate::support::tls::{Issued, TestCa};
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Credential, Status, TlsState};
use keyway::verify::Outcome;

/// The CA the clusters' certificates come from, and one that signed nothing of theirs.
struct Cas {
    ca: TestCa,
    other: TestCa,
}

fn cas() -> &'static Cas {
    static CAS: OnceLock<Cas> = OnceLock::new();
    CAS.get_or_init(|| Cas {
        ca: TestCa::new("keyway test CA"),
        other: TestCa::new("some other CA"),
    })
}

/// A cluster whose certificate names `localhost` only, so connecting to 127.0.0.1 is a host
/// name mismatch while localhost matches. Logins: scram-sha-256 with or without TLS.
fn localhost_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<&'static PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        PgCluster::start_tls(&PgTls {
            server: cas().ca.server(&["localhost"]),
            client_ca: None,
        })
        .until_exit()
    })
}

/// The client CA of `mtls_cluster`.
fn client_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| TestCa::new("keyway client CA"))
}

/// A cluster that takes TCP logins only over TLS with a client certificate from `client_ca`.
fn mtls_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<&'static PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        PgCluster::start_tls(&PgTls {
            server: cas().ca.server(&["127.0.0.1"]),
            client_ca: Some(client_ca().pem.clone()),
        })
        .until_exit()
    })
}

fn pg(host: &str, port: u16, public: &[(&str, &str)], secrets: &[(&str, &str)]) -> Credential {
    let port = port.to_string();
    let mut all = vec![
        ("host", host),
        ("port", port.as_str()),
        ("database", ETL_DATABASE),
        ("user", ETL_USER),
    ];
    all.extend_from_slice(public);
    let mut secret = vec![("password", ETL_PASSWORD)];
    secret.extend_from_slice(secrets);
    credential("postgresql", &all, &secret)
}

async fn check(c: &Credential) -> Outcome {
    let o = verifier(2, 10).verify(&builtin("postgresql"), c, NOW).await;
    assert_no_secret(&o);
    o
}

#[tokio::test]
async fn verify_full_with_the_servers_ca_is_verified() {
    let port = localhost_cluster().port;
    let ca = cas().ca.pem.as_str();
    let o = check(&pg(
        "localhost",
        port,
        &[("sslmode", "verify-full"), ("ssl_ca", ca)],
        &[],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(
        o.reason
            .contains("(encrypted, server certificate verified)"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, Some(TlsState::Verified));
    assert!(o.detail.unwrap_or_default().starts_with("PostgreSQL 15"));
    // verify-ca checks the same chain.
    let o = check(&pg(
        "localhost",
        port,
        &[("sslmode", "verify-ca"), ("ssl_ca", ca)],
        &[],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
}

#[tokio::test]
async fn another_ca_is_misconfigured_naming_the_issuer() {
    let port = localhost_cluster().port;
    let other = cas().other.pem.as_str();
    for mode in ["verify-full", "verify-ca", "require"] {
        // require with a CA checks it, as libpq does with a root certificate file.
        let o = check(&pg(
            "localhost",
            port,
            &[("sslmode", mode), ("ssl_ca", other)],
            &[],
        ))
        .await;
        assert_eq!(o.status, Status::Misconfigured, "{mode}: {}", o.reason);
        assert!(
            o.reason.contains(
                "the server's certificate is signed by a CA keyway does not trust (issuer: CN=keyway test CA): the CA in ssl_ca did not sign it"
            ),
            "{mode}: {}",
            o.reason
        );
        assert_eq!(o.tls, None);
    }
}

#[tokio::test]
async fn without_ssl_ca_a_private_ca_is_refused_with_the_advice() {
    // Nothing tells keyway about the test CA (the CLI tests add it through SSL_CERT_FILE).
    let port = localhost_cluster().port;
    let o = check(&pg("localhost", port, &[("sslmode", "verify-full")], &[])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains(
            "the server's certificate is signed by a CA keyway does not trust (issuer: CN=keyway test CA): add it as ssl_ca or to the system store"
        ),
        "{}",
        o.reason
    );
}

#[tokio::test]
async fn require_without_a_ca_is_encrypted_and_says_the_certificate_was_not_checked() {
    let port = localhost_cluster().port;
    // 127.0.0.1 is not a name the certificate holds; require checks nothing.
    let o = check(&pg("127.0.0.1", port, &[("sslmode", "require")], &[])).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(
        o.reason
            .contains("(encrypted, server certificate not checked)"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, Some(TlsState::Unchecked));
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_host_name_and_verify_ca_does_not() {
    let port = localhost_cluster().port;
    let ca = cas().ca.pem.as_str();
    let o = check(&pg(
        "127.0.0.1",
        port,
        &[("sslmode", "verify-full"), ("ssl_ca", ca)],
        &[],
    ))
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason
            .contains("the certificate is for localhost, not 127.0.0.1"),
        "{}",
        o.reason
    );
    let o = check(&pg(
        "127.0.0.1",
        port,
        &[("sslmode", "verify-ca"), ("ssl_ca", ca)],
        &[],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("host name not checked"), "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::Verified));
}

#[tokio::test]
async fn a_wrong_password_over_tls_is_rejected_and_keeps_its_tls_state() {
    let port = localhost_cluster().port;
    let ca = cas().ca.pem.as_str();
    let mut c = pg(
        "localhost",
        port,
        &[("sslmode", "verify-full"), ("ssl_ca", ca)],
        &[],
    );
    c.secrets
        .insert("password", secrecy::SecretString::from("pw_SENTINEL_wrong"));
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::Verified));
}

#[tokio::test]
async fn sslmode_disable_is_allowed_on_loopback_only() {
    let port = localhost_cluster().port;
    let o = check(&pg("localhost", port, &[("sslmode", "disable")], &[])).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("unencrypted"), "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::None));
    // Refused before any socket is opened: the reason is about the field, not the network.
    for host in ["10.0.0.5", "db.internal"] {
        let o = check(&pg(host, 5432, &[("sslmode", "disable")], &[])).await;
        assert_eq!(o.status, Status::Misconfigured, "{host}: {}", o.reason);
        let expected = format!("allows it only for a loopback host, not {host}");
        assert!(o.reason.contains(&expected), "{}", o.reason);
        assert_eq!(o.tls, None);
    }
}

fn client(cert: &Issued) -> [(&str, &str); 2] {
    [
        ("sslmode", "verify-full"),
        ("ssl_cert", cert.cert_pem.as_str()),
    ]
}

#[tokio::test]
async fn a_server_requiring_client_certificates_verifies_one_and_refuses_none() {
    let port = mtls_cluster().port;
    let ca = cas().ca.pem.as_str();
    let etl = client_ca().client(ETL_USER);
    let [mode, cert] = client(&etl);
    let o = check(&pg(
        "127.0.0.1",
        port,
        &[mode, cert, ("ssl_ca", ca)],
        &[("ssl_key", &etl.key_pem)],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::Verified));

    let o = check(&pg("127.0.0.1", port, &[mode, ("ssl_ca", ca)], &[])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason
            .contains("requires a client certificate: set ssl_cert and ssl_key"),
        "{}",
        o.reason
    );

    // A certificate from a CA the server does not trust is the credential's fault.
    let stranger = cas().other.client(ETL_USER);
    let [mode, cert] = client(&stranger);
    let o = check(&pg(
        "127.0.0.1",
        port,
        &[mode, cert, ("ssl_ca", ca)],
        &[("ssl_key", &stranger.key_pem)],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason
            .contains("did not accept the client certificate in ssl_cert (TLS alert unknown_ca)"),
        "{}",
        o.reason
    );
}

#[tokio::test]
async fn half_a_client_identity_is_misconfigured_before_connecting() {
    let etl = client_ca().client(ETL_USER);
    let o = check(&pg("127.0.0.1", 1, &[("ssl_cert", &etl.cert_pem)], &[])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("'ssl_key'"), "{}", o.reason);
    let o = check(&pg("127.0.0.1", 1, &[], &[("ssl_key", &etl.key_pem)])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("'ssl_cert'"), "{}", o.reason);
    // A key that is not the certificate's.
    let other = client_ca().client(ETL_USER);
    let o = check(&pg(
        "127.0.0.1",
        1,
        &[("ssl_cert", &etl.cert_pem)],
        &[("ssl_key", &other.key_pem)],
    ))
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("do not belong together"), "{}", o.reason);
}
