//! The token lifecycle (issue 6): expiry arithmetic through the public API, and refresh-ahead of
//! OAuth2 access tokens against the loopback provider (tests/support/oauth.rs): what gets
//! refreshed, what is left alone, what a dead refresh token reports, and that the bulk paths
//! (`verify_all`, the pool) hand back the tokens to store.

use std::sync::Arc;
use std::time::Duration;

use crate::support::oauth::{provider, DeviceStep, Provider, CLIENT_SECRET};
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::config::{AuditConfig, VerifyConfig};
use keyway::core::expiry::{self, ExpiryState};
use keyway::core::time::Timestamp;
use keyway::core::{Credential, Status};
use keyway::verify::{verify_all, Outcome, Pool, Verifier};
use secrecy::ExposeSecret;
use serde_json::json;

const NAME: &str = "crm-prod-sync";
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn at(offset: i64) -> Timestamp {
    Timestamp(NOW.0 + offset)
}

/// A generic_oauth2 credential named NAME for the provider, with extra public fields.
fn oauth_credential(
    p: &Provider,
    public: &[(&str, String)],
    secrets: &[(&str, &str)],
) -> Credential {
    let mut fields = p.fields();
    fields.extend(public.iter().map(|(k, v)| (*k, v.clone())));
    let public: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut c = credential("generic_oauth2", &public, secrets);
    c.name = NAME.into();
    c
}

/// A credential holding a live access token that expires at NOW + `expires_in`, and a live
/// refresh token.
fn live_credential(p: &Provider, access: &str, refresh: &str, expires_in: i64) -> Credential {
    p.add_access_token(access);
    p.add_refresh_token(refresh);
    oauth_credential(
        p,
        &[("expires_at", at(expires_in).rfc3339())],
        &[
            ("client_secret", CLIENT_SECRET),
            ("access_token", access),
            ("refresh_token", refresh),
        ],
    )
}

async fn check_with(v: &Verifier, c: &Credential) -> Outcome {
    v.verify(&builtin("generic_oauth2"), c, NOW).await
}

async fn check(c: &Credential) -> Outcome {
    check_with(&verifier(2, 5), c).await
}

// ---- expiry arithmetic --------------------------------------------------------------------------

#[test]
fn expiry_of_an_api_key_counts_against_the_warning_window() {
    let warning = expiry::warning_window(AuditConfig::default().expiry_warning_days);
    let key = |offset: i64| {
        let text = at(offset).rfc3339();
        credential(
            "stripe",
            &[("expires_at", text.as_str())],
            &[("api_key", "sk_SENTINEL")],
        )
    };
    assert_eq!(
        expiry::expiry_state(&key(14 * DAY), NOW, warning),
        ExpiryState::Soon {
            at: at(14 * DAY),
            in_secs: 14 * DAY as u64
        }
    );
    assert_eq!(
        expiry::expiry_state(&key(14 * DAY + 1), NOW, warning),
        ExpiryState::Fine {
            at: at(14 * DAY + 1)
        }
    );
    let gone = expiry::expiry_state(&key(-2 * HOUR), NOW, warning);
    assert_eq!(gone.text(), "expired 2h ago");
    assert!(gone.needs_attention());
    assert_eq!(
        expiry::expiry_state(&key(3 * DAY + 5), NOW, warning).text(),
        "expires in 3d"
    );
    // A date typed by a person means midnight UTC.
    let typed = credential("stripe", &[("expires_at", "2026-06-01")], &[]);
    assert_eq!(
        expiry::expires_at(&typed),
        keyway::core::time::parse_user_time("2026-06-01T00:00:00Z")
    );
    assert_eq!(
        expiry::expiry_state(&credential("stripe", &[], &[]), NOW, warning),
        ExpiryState::None
    );
}

#[test]
fn an_oauth2_credential_lapses_with_its_refresh_token_not_its_access_token() {
    let access = at(HOUR).rfc3339();
    let refresh = at(10 * DAY).rfc3339();
    let c = credential(
        "generic_oauth2",
        &[
            ("expires_at", access.as_str()),
            ("refresh_expires_at", refresh.as_str()),
        ],
        &[("access_token", "a"), ("refresh_token", "r")],
    );
    assert_eq!(expiry::expires_at(&c), Some(at(HOUR)));
    assert_eq!(expiry::refresh_expires_at(&c), Some(at(10 * DAY)));
    assert_eq!(expiry::lapses_at(&c), Some(at(10 * DAY)));
    let state = expiry::expiry_state(&c, NOW, expiry::warning_window(14));
    assert_eq!(state.text(), "expires in 10d");

    let margin = expiry::refresh_margin(AuditConfig::default().refresh_margin_minutes);
    assert_eq!(margin, Duration::from_secs(300));
    assert!(!expiry::needs_refresh(&c, NOW, margin));
    assert!(expiry::needs_refresh(&c, at(HOUR - 5 * MINUTE), margin));
    assert!(!expiry::needs_refresh(
        &c,
        at(HOUR - 5 * MINUTE - 1),
        margin
    ));
}

// ---- refresh-ahead --------------------------------------------------------------------------------

#[tokio::test]
async fn an_access_token_expiring_in_two_minutes_is_refreshed_and_the_rotation_returned() {
    let p = provider(&[], 5, 600).await;
    let c = live_credential(&p, "at_SENTINEL_old", "rt_SENTINEL_old", 2 * MINUTE);
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("refreshed"), "{}", o.reason);
    let tokens = o.tokens.clone().expect("refreshed tokens to store");
    assert_ne!(tokens.access_token.expose_secret(), "at_SENTINEL_old");
    let rotated = tokens.refresh_token.expect("a rotated refresh token");
    assert_ne!(rotated.expose_secret(), "rt_SENTINEL_old");
    assert!(p.has_refresh_token(rotated.expose_secret()));
    assert!(
        !p.has_refresh_token("rt_SENTINEL_old"),
        "the old one was spent"
    );
    assert_eq!(tokens.expires_at, Some(at(3600)));
    assert_eq!(tokens.refresh_expires_at, None, "the provider stated none");
    assert_eq!(p.token_requests(), 1);
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_expired_access_token_with_a_refresh_token_is_refreshed() {
    let p = provider(&[], 5, 600).await;
    let c = live_credential(&p, "at_SENTINEL_old", "rt_SENTINEL_old", -HOUR);
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("had expired"), "{}", o.reason);
    assert!(o.tokens.is_some());
    assert_eq!(
        p.userinfo_requests(),
        1,
        "only the new token's account lookup"
    );
}

#[tokio::test]
async fn an_access_token_two_hours_from_expiry_is_checked_without_refreshing() {
    let p = provider(&[], 5, 600).await;
    let c = live_credential(&p, "at_SENTINEL_live", "rt_SENTINEL_keep", 2 * HOUR);
    let v = verifier(2, 5).with_refresh_margin(Duration::from_secs(5 * 60));
    let o = check_with(&v, &c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("not refreshed"), "{}", o.reason);
    assert!(o.reason.contains("2h"), "{}", o.reason);
    assert!(o.tokens.is_none(), "nothing new to store");
    assert_eq!(p.token_requests(), 0, "no refresh grant");
    assert_eq!(p.userinfo_requests(), 1);
    assert!(p.has_refresh_token("rt_SENTINEL_keep"), "not spent");
    assert_no_secret(&o);

    // The margin comes from the audit config: three hours makes the same token due.
    let audit = AuditConfig {
        refresh_margin_minutes: 180,
        ..AuditConfig::default()
    };
    let config = VerifyConfig {
        concurrency: 4,
        connect_timeout_secs: 2,
        deadline_secs: 5,
        ..VerifyConfig::default()
    };
    let v = Verifier::with_audit(&config, &audit).expect("verifier builds");
    assert_eq!(v.refresh_margin(), Duration::from_secs(3 * 3600));
    let o = check_with(&v, &c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.tokens.is_some(), "{}", o.reason);
    assert_eq!(p.token_requests(), 1);
}

#[tokio::test]
async fn an_access_token_of_unknown_expiry_is_tried_before_refreshing() {
    let p = provider(&[], 5, 600).await;
    let mut c = live_credential(&p, "at_SENTINEL_live", "rt_SENTINEL_keep", 0);
    c.public.remove("expires_at");
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.tokens.is_none());
    assert_eq!(p.token_requests(), 0);
}

#[tokio::test]
async fn a_refused_access_token_far_from_expiry_falls_back_to_the_refresh_grant() {
    let p = provider(&[], 5, 600).await;
    let c = live_credential(&p, "at_SENTINEL_revoked", "rt_SENTINEL_good", 2 * HOUR);
    p.revoke_access_token("at_SENTINEL_revoked");
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("not accepted"), "{}", o.reason);
    let tokens = o
        .tokens
        .clone()
        .expect("a fresh token replaces the refused one");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(p.token_requests(), 1);
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_revoked_refresh_token_needs_the_named_credential_logged_in_again() {
    let p = provider(&[], 5, 600).await;
    // Expiring, so the refresh is attempted, but the provider never issued this refresh token.
    p.add_access_token("at_SENTINEL_old");
    let c = oauth_credential(
        &p,
        &[("expires_at", at(2 * MINUTE).rfc3339())],
        &[
            ("client_secret", CLIENT_SECRET),
            ("access_token", "at_SENTINEL_old"),
            ("refresh_token", "rt_SENTINEL_revoked"),
        ],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("needs to be logged in again"),
        "{}",
        o.reason
    );
    assert!(o.reason.contains(NAME), "{}", o.reason);
    assert!(o.reason.contains("invalid_grant"), "{}", o.reason);
    assert!(o.tokens.is_none());
    assert_no_secret(&o);

    // Without an access token at all, the same sentence.
    let c = oauth_credential(
        &p,
        &[],
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "rt_SENTINEL_revoked"),
        ],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected);
    assert!(
        o.reason.contains("needs to be logged in again") && o.reason.contains(NAME),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_refresh_token_past_its_stated_expiry_says_so() {
    let p = provider(&[], 5, 600).await;
    let c = oauth_credential(
        &p,
        &[("refresh_expires_at", at(-DAY).rfc3339())],
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "rt_SENTINEL_stale"),
        ],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason
            .contains(&format!("refresh token expired at {}", at(-DAY).rfc3339())),
        "{}",
        o.reason
    );
    assert!(o.reason.contains(NAME), "{}", o.reason);
}

#[tokio::test]
async fn an_expired_access_token_without_a_refresh_token_names_the_credential() {
    let p = provider(&[], 5, 600).await;
    p.add_access_token("at_SENTINEL_old");
    let c = oauth_credential(
        &p,
        &[("expires_at", at(-MINUTE).rfc3339())],
        &[("access_token", "at_SENTINEL_old")],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("needs to be logged in again") && o.reason.contains(NAME),
        "{}",
        o.reason
    );
    assert_eq!(
        p.userinfo_requests(),
        0,
        "no request for a known-dead token"
    );
}

// ---- refresh_token_expires_in ---------------------------------------------------------------------

#[tokio::test]
async fn a_stated_refresh_token_lifetime_is_surfaced() {
    let p = provider(&[], 5, 600).await;
    p.set_refresh_lifetime(json!(30 * DAY));
    let c = live_credential(&p, "at_SENTINEL_old", "rt_SENTINEL_a", MINUTE);
    let tokens = check(&c).await.tokens.expect("refreshed");
    assert_eq!(tokens.refresh_expires_at, Some(at(30 * DAY)));

    // Some providers send it as a string; that is read too.
    p.set_refresh_lifetime(json!("7200"));
    let c = live_credential(&p, "at_SENTINEL_old2", "rt_SENTINEL_b", MINUTE);
    let tokens = check(&c).await.tokens.expect("refreshed");
    assert_eq!(tokens.refresh_expires_at, Some(at(7200)));

    // A malformed one is ignored without losing the grant.
    p.set_refresh_lifetime(json!({"days": 3}));
    let c = live_credential(&p, "at_SENTINEL_old3", "rt_SENTINEL_c", MINUTE);
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let tokens = o.tokens.expect("refreshed");
    assert_eq!(tokens.refresh_expires_at, None);
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test(start_paused = true)]
async fn the_device_login_also_surfaces_the_refresh_token_lifetime() {
    let p = provider(&[DeviceStep::Grant], 5, 600).await;
    p.set_refresh_lifetime(json!(90 * DAY));
    let v = verifier(2, 15);
    let oauth = keyway::verify::OAuthClient::from_credential(&oauth_credential(&p, &[], &[]))
        .expect("client");
    let device = v.device_start(&oauth).await.expect("device start");
    let tokens = v
        .device_poll(&oauth, &device, NOW, |_| {})
        .await
        .expect("granted");
    // Granted at the first poll, 5 s in.
    assert_eq!(tokens.refresh_expires_at, Some(at(5 + 90 * DAY)));
    assert_eq!(tokens.expires_at, Some(at(5 + 3600)));
}

// ---- bulk paths -----------------------------------------------------------------------------------

#[tokio::test]
async fn verify_all_returns_the_tokens_of_each_credential() {
    let p = provider(&[], 5, 600).await;
    let expiring = live_credential(&p, "at_SENTINEL_1", "rt_SENTINEL_1", 2 * MINUTE);
    let fresh = live_credential(&p, "at_SENTINEL_2", "rt_SENTINEL_2", 2 * HOUR);
    let revoked = oauth_credential(
        &p,
        &[("expires_at", at(MINUTE).rfc3339())],
        &[
            ("client_secret", CLIENT_SECRET),
            ("access_token", "at_SENTINEL_x"),
            ("refresh_token", "rt_SENTINEL_gone"),
        ],
    );
    let machine = oauth_credential(&p, &[], &[("client_secret", CLIENT_SECRET)]);
    let component = builtin("generic_oauth2");
    let items = [
        (&component, &expiring),
        (&component, &fresh),
        (&component, &revoked),
        (&component, &machine),
    ];
    let mut seen = 0;
    let v = verifier(2, 5);
    let outcomes = verify_all(&v, 4, &items, NOW, |_| seen += 1).await;
    assert_eq!(seen, 4);
    assert_eq!(
        outcomes.iter().map(|o| o.status).collect::<Vec<_>>(),
        [
            Status::Verified,
            Status::Verified,
            Status::Rejected,
            Status::Verified
        ]
    );
    let rotated = outcomes[0].tokens.as_ref().expect("expiring: refreshed");
    assert!(rotated.refresh_token.is_some());
    assert!(outcomes[1].tokens.is_none(), "fresh: left alone");
    assert!(outcomes[2].tokens.is_none(), "revoked: nothing to store");
    assert!(outcomes[2].reason.contains(NAME), "{}", outcomes[2].reason);
    assert!(
        outcomes[3].tokens.is_some(),
        "client credentials issue a token"
    );
    assert!(p.has_refresh_token("rt_SENTINEL_2"));
    for o in &outcomes {
        assert_no_secret(o);
    }
}

#[tokio::test]
async fn the_pool_returns_refreshed_tokens_too() {
    let p = provider(&[], 5, 600).await;
    let c = live_credential(&p, "at_SENTINEL_p", "rt_SENTINEL_p", MINUTE);
    let (pool, mut events) = Pool::<String>::new(Arc::new(verifier(2, 5)), 2).expect("pool");
    let mut job = pool.submit("c".into(), builtin("generic_oauth2"), c, NOW);
    let outcome = job.outcome().await.expect("not cancelled");
    assert!(outcome.tokens.is_some(), "{}", outcome.reason);
    // The channel carries the same tokens for the TUI.
    loop {
        match events.recv().await.expect("event") {
            keyway::verify::PoolEvent::Finished { outcome, .. } => {
                assert!(outcome.tokens.is_some());
                break;
            }
            keyway::verify::PoolEvent::Started { .. } => {}
        }
    }
}
