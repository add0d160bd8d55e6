//! HTTPS verification against loopback servers with certificates from a test CA: a credential's
//! own `ca_cert`, OAuth2 endpoints behind a private CA, and reasons for the certificates keyway
//! refuses (unknown issuer, another host's name, expired).

use crate::support::oauth::{provider_over_tls, CLIENT_SECRET};
use crate::support::tls::{https_api_server, TestCa};
use crate::support::{api_component, assert_no_secret, builtin, credential, verifier, BEARER, NOW};
use keyway::core::{Status, TlsState};
use keyway::verify::Outcome;

const KEY: &str = "sk_SENTINEL_https_33";

async fn check(base_url: &str, ca_cert: Option<&str>) -> Outcome {
    let component = api_component("/v1/me", BEARER, Some("/account/id"));
    let mut public = vec![("base_url", base_url)];
    if let Some(ca) = ca_cert {
        public.push(("ca_cert", ca));
    }
    let c = credential("loopback_api", &public, &[("api_key", KEY)]);
    let o = verifier(2, 5).verify(&component, &c, NOW).await;
    assert_no_secret(&o);
    o
}

#[tokio::test]
async fn a_credentials_ca_cert_is_trusted_for_its_requests_only() {
    let ca = TestCa::new("keyway https CA");
    let server = https_api_server(KEY, &ca.server(&["127.0.0.1"])).await;
    let base = format!("https://{}", server.addr);
    let o = check(&base, Some(&ca.pem)).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::Verified));
    assert_eq!(o.detail.as_deref(), Some("acct_42"));
    // The same server for a credential without it: refused, and nothing was sent.
    let o = check(&base, None).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains("(issuer: CN=keyway https CA): add it as ca_cert, to verify.extra_ca_file or to the system store"),
        "{}",
        o.reason
    );
    assert_eq!(o.tls, None);
    assert_eq!(server.hits(), 1);
    // A ca_cert that is another CA adds nothing.
    let o = check(&base, Some(&TestCa::new("another CA").pem)).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
}

#[tokio::test]
async fn certificates_for_another_host_or_out_of_date_are_refused_with_what_they_say() {
    let ca = TestCa::new("keyway https CA");
    let other_name = https_api_server(KEY, &ca.server(&["api.keyway.test"])).await;
    let o = check(&format!("https://{}", other_name.addr), Some(&ca.pem)).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains(
            "the certificate is for api.keyway.test, not 127.0.0.1: use a host name it holds"
        ),
        "{}",
        o.reason
    );
    let expired = https_api_server(KEY, &ca.expired_server(&["127.0.0.1"])).await;
    let o = check(&format!("https://{}", expired.addr), Some(&ca.pem)).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason
            .contains("the server's certificate expired on 2021-01-01T00:00:00Z"),
        "{}",
        o.reason
    );
    assert_eq!(other_name.hits() + expired.hits(), 0, "nothing was sent");
}

#[tokio::test]
async fn oauth2_endpoints_behind_a_private_ca_are_trusted_through_ca_cert() {
    let ca = TestCa::new("keyway oauth CA");
    let p = provider_over_tls(&ca.server(&["127.0.0.1"])).await;
    let fields = p.fields();
    let mut public: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let without = credential(
        "generic_oauth2",
        &public,
        &[("client_secret", CLIENT_SECRET)],
    );
    let v = verifier(2, 5);
    let o = v.verify(&builtin("generic_oauth2"), &without, NOW).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains("issuer: CN=keyway oauth CA"),
        "{}",
        o.reason
    );
    assert_eq!(p.token_requests(), 0);

    public.push(("ca_cert", &ca.pem));
    let with = credential(
        "generic_oauth2",
        &public,
        &[("client_secret", CLIENT_SECRET)],
    );
    let o = v.verify(&builtin("generic_oauth2"), &with, NOW).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_eq!(o.tls, Some(TlsState::Verified));
    assert_no_secret(&o);
    // The login flows trust it too.
    let oauth = keyway::verify::OAuthClient::from_credential(&with).unwrap();
    let device = v.device_start(&oauth).await.expect("device start over TLS");
    assert_eq!(device.user_code, crate::support::oauth::USER_CODE);
}
