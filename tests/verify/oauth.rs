//! OAuth2 verification and login flows against a loopback provider (tests/support/oauth.rs).
//! Device-grant pacing runs under tokio's paused clock: no test sleeps for real.

use std::time::Duration;

use crate::support::oauth::{provider, DeviceStep, Provider, CLIENT_SECRET, USER_CODE};
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Credential, Status};
use keyway::verify::login::{authorize_url, PASTE_REDIRECT_URI};
use keyway::verify::{DevicePollEvent, FlowError, OAuthClient, Outcome};
use secrecy::ExposeSecret;

fn oauth_credential(p: &Provider, secrets: &[(&str, &str)]) -> Credential {
    let fields = p.fields();
    let public: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    credential("generic_oauth2", &public, secrets)
}

async fn check(c: &Credential) -> Outcome {
    verifier(2, 5)
        .verify(&builtin("generic_oauth2"), c, NOW)
        .await
}

#[tokio::test]
async fn client_credentials_with_the_right_secret_are_verified() {
    let p = provider(&[], 5, 600).await;
    let o = check(&oauth_credential(&p, &[("client_secret", CLIENT_SECRET)])).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let tokens = o.tokens.as_ref().expect("the issued token comes back");
    assert!(tokens.access_token.expose_secret().starts_with("at_"));
    assert_eq!(
        tokens.expires_at,
        Some(keyway::core::time::Timestamp(NOW.0 + 3600))
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_expired_client_credentials_token_is_renewed_by_a_new_grant() {
    let p = provider(&[], 5, 600).await;
    let mut c = oauth_credential(
        &p,
        &[
            ("client_secret", CLIENT_SECRET),
            ("access_token", "at_SENTINEL_old"),
        ],
    );
    let expired = keyway::core::time::Timestamp(NOW.0 - 60).rfc3339();
    c.public.insert("expires_at".into(), expired);
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let tokens = o.tokens.as_ref().expect("a new token");
    assert_ne!(tokens.access_token.expose_secret(), "at_SENTINEL_old");
    assert_eq!(p.token_requests(), 1);
    assert_no_secret(&o);
}

#[tokio::test]
async fn client_credentials_with_a_wrong_secret_are_rejected() {
    let p = provider(&[], 5, 600).await;
    let o = check(&oauth_credential(
        &p,
        &[("client_secret", "cs_SENTINEL_wrong")],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("invalid_client"), "{}", o.reason);
    assert!(o.tokens.is_none());
    assert_no_secret(&o);
}

#[tokio::test]
async fn refresh_with_a_good_token_returns_a_rotated_one() {
    let p = provider(&[], 5, 600).await;
    p.add_refresh_token("rt_SENTINEL_initial");
    let c = oauth_credential(
        &p,
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "rt_SENTINEL_initial"),
        ],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let tokens = o.tokens.clone().expect("new tokens to store");
    let rotated = tokens.refresh_token.expect("a rotated refresh token");
    assert_ne!(rotated.expose_secret(), "rt_SENTINEL_initial");
    assert!(tokens.expires_at.is_some());
    assert_eq!(o.detail, None, "generic_oauth2 has no detail pointer");
    assert_no_secret(&o);

    // The provider rotated: the old token is spent, the stored new one works.
    let again = check(&c).await;
    assert_eq!(again.status, Status::Rejected, "{}", again.reason);
    let next = oauth_credential(
        &p,
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", rotated.expose_secret()),
        ],
    );
    assert_eq!(check(&next).await.status, Status::Verified);
}

#[tokio::test]
async fn refresh_with_a_revoked_token_needs_a_new_login() {
    let p = provider(&[], 5, 600).await;
    let c = oauth_credential(
        &p,
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "rt_SENTINEL_revoked"),
        ],
    );
    let o = check(&c).await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("invalid_grant"), "{}", o.reason);
    assert!(o.reason.contains("logged in again"), "{}", o.reason);
    assert!(o.tokens.is_none());
    assert_no_secret(&o);
}

#[tokio::test]
async fn access_token_only_credentials_use_userinfo() {
    let p = provider(&[], 5, 600).await;
    p.add_access_token("at_SENTINEL_live");
    let o = check(&oauth_credential(
        &p,
        &[("access_token", "at_SENTINEL_live")],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let o = check(&oauth_credential(
        &p,
        &[("access_token", "at_SENTINEL_dead")],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert_no_secret(&o);
}

fn client(p: &Provider) -> OAuthClient {
    OAuthClient::from_credential(&oauth_credential(p, &[])).expect("client from credential")
}

/// Seconds after `start` at which the provider saw each poll.
fn poll_offsets(p: &Provider, start: tokio::time::Instant) -> Vec<u64> {
    p.device_polls()
        .iter()
        .map(|t| t.duration_since(start).as_secs())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn device_grant_waits_while_pending_and_slows_down_by_five_seconds() {
    let script = [
        DeviceStep::Pending,
        DeviceStep::SlowDown,
        DeviceStep::Pending,
        DeviceStep::Grant,
    ];
    let p = provider(&script, 5, 600).await;
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    assert_eq!(device.user_code, USER_CODE);
    assert_eq!(device.interval, Duration::from_secs(5));
    let start = tokio::time::Instant::now();
    let mut events = Vec::new();
    let tokens = v
        .device_poll(&oauth, &device, NOW, |e| events.push(e))
        .await
        .expect("granted");
    assert!(tokens.refresh_token.is_some());
    // 5 s before the first poll, 5 s after pending, 10 s after slow_down (+5), then 10 s.
    assert_eq!(poll_offsets(&p, start), [5, 10, 20, 30]);
    assert_eq!(
        events,
        [
            DevicePollEvent::Pending,
            DevicePollEvent::SlowDown {
                interval: Duration::from_secs(10)
            },
            DevicePollEvent::Pending,
        ]
    );
    assert_eq!(
        tokens.expires_at,
        Some(keyway::core::time::Timestamp(NOW.0 + 30 + 3600))
    );
}

#[tokio::test(start_paused = true)]
async fn device_grant_stops_on_access_denied() {
    let p = provider(
        &[DeviceStep::Pending, DeviceStep::Denied, DeviceStep::Grant],
        5,
        600,
    )
    .await;
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    let start = tokio::time::Instant::now();
    let err = v
        .device_poll(&oauth, &device, NOW, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::AccessDenied), "{err}");
    assert_eq!(
        poll_offsets(&p, start),
        [5, 10],
        "no poll after access_denied"
    );
}

#[tokio::test(start_paused = true)]
async fn device_grant_stops_on_expired_token_and_honours_expires_in() {
    let p = provider(&[DeviceStep::Expired], 5, 600).await;
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    let err = v
        .device_poll(&oauth, &device, NOW, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::Expired), "{err}");

    // Pending forever with codes valid for 12 s: polls at 5 and 10, none after the expiry.
    let p = provider(&[], 5, 12).await;
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    let start = tokio::time::Instant::now();
    let err = v
        .device_poll(&oauth, &device, NOW, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::Expired), "{err}");
    assert_eq!(poll_offsets(&p, start), [5, 10]);
    assert!(start.elapsed() <= Duration::from_secs(12));
}

fn query_param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[tokio::test]
async fn pkce_login_exchanges_a_pasted_redirect_with_the_right_state() {
    let p = provider(&[], 5, 600).await;
    let v = verifier(2, 5);
    let oauth = client(&p);
    let (url, pkce, state) = authorize_url(&oauth, PASTE_REDIRECT_URI).expect("authorize url");
    assert_eq!(query_param(&url, "code_challenge_method"), "S256");
    assert_eq!(query_param(&url, "redirect_uri"), PASTE_REDIRECT_URI);
    assert_eq!(query_param(&url, "scope"), "openid email");
    let challenge = query_param(&url, "code_challenge");
    p.approve_code("code-1", &challenge, PASTE_REDIRECT_URI);

    // A pasted address from another login attempt sends nothing.
    let forged = format!("{PASTE_REDIRECT_URI}?code=code-1&state=someone-else");
    let before = p.token_requests();
    let err = v
        .exchange_pasted_redirect(&oauth, PASTE_REDIRECT_URI, &forged, &state, pkce, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::StateMismatch), "{err}");
    assert_eq!(p.token_requests(), before);

    // The real one (a fresh login, since the verifier was consumed).
    let (url, pkce, state) = authorize_url(&oauth, PASTE_REDIRECT_URI).expect("authorize url");
    p.approve_code(
        "code-2",
        &query_param(&url, "code_challenge"),
        PASTE_REDIRECT_URI,
    );
    let pasted = format!(
        "  {PASTE_REDIRECT_URI}?code=code-2&state={}  ",
        state.secret()
    );
    let tokens = v
        .exchange_pasted_redirect(&oauth, PASTE_REDIRECT_URI, &pasted, &state, pkce, NOW)
        .await
        .expect("code exchanged");
    assert!(tokens.access_token.expose_secret().starts_with("at_"));
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test]
async fn pkce_verifier_mismatch_is_rejected_by_the_provider() {
    let p = provider(&[], 5, 600).await;
    let v = verifier(2, 5);
    let oauth = client(&p);
    let (_, _, state) = authorize_url(&oauth, PASTE_REDIRECT_URI).unwrap();
    let (_, other_pkce, _) = authorize_url(&oauth, PASTE_REDIRECT_URI).unwrap();
    p.approve_code("code-3", "not-the-challenge", PASTE_REDIRECT_URI);
    let pasted = format!("{PASTE_REDIRECT_URI}?code=code-3&state={}", state.secret());
    let err = v
        .exchange_pasted_redirect(&oauth, PASTE_REDIRECT_URI, &pasted, &state, other_pkce, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Status::Rejected);
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

/// Runs a device poll to its end, or gives up after `limit` (a day, or an hour: far past
/// anything keyway should wait) so a poll that never ends fails the test instead of hanging it.
async fn poll_to_the_end(
    v: &keyway::verify::Verifier,
    oauth: &OAuthClient,
    device: &keyway::verify::DeviceAuthorization,
    limit: Duration,
) -> Result<Result<keyway::verify::TokenUpdate, FlowError>, tokio::time::error::Elapsed> {
    tokio::time::timeout(limit, v.device_poll(oauth, device, NOW, |_| {})).await
}

#[tokio::test(start_paused = true)]
async fn a_device_code_that_claims_to_live_for_ever_is_given_up_on_at_the_cap() {
    // expires_in = 10^12 s and the user never finishes.
    let p = provider(&[], 5, 1_000_000_000_000).await;
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    assert!(
        device.expires_in <= Duration::from_secs(1800),
        "{:?}",
        device.expires_in
    );
    let start = tokio::time::Instant::now();
    let ended = poll_to_the_end(&v, &oauth, &device, Duration::from_secs(86_400)).await;
    let err = ended.expect("the poll ended").unwrap_err();
    assert!(matches!(err, FlowError::Expired), "{err}");
    assert!(
        start.elapsed() <= Duration::from_secs(1800),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn every_poll_ends_inside_the_codes_lifetime_even_when_the_endpoint_is_silent() {
    // Codes valid for 20 s; the first poll (at 5 s) never gets an answer.
    let p = provider(&[DeviceStep::Silent], 5, 20).await;
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    let start = tokio::time::Instant::now();
    let ended = poll_to_the_end(&v, &oauth, &device, Duration::from_secs(3600)).await;
    let err = ended.expect("the poll ended").unwrap_err();
    assert!(matches!(err, FlowError::Expired), "{err}");
    assert!(
        start.elapsed() <= Duration::from_secs(20),
        "overran the code by {:?}",
        start.elapsed().saturating_sub(Duration::from_secs(20))
    );
    assert_eq!(poll_offsets(&p, start), [5]);
}

#[tokio::test(start_paused = true)]
async fn the_device_authorization_request_ends_inside_the_deadline() {
    let p = provider(&[], 5, 600).await;
    p.silence_device_endpoint();
    let v = verifier(2, 15);
    let oauth = client(&p);
    let start = tokio::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(3600), v.device_start(&oauth)).await;
    let err = ended.expect("device start ended").unwrap_err();
    assert_eq!(err.status(), Status::Unreachable, "{err}");
    assert!(err.to_string().contains("15 s"), "{err}");
    assert!(
        start.elapsed() <= Duration::from_secs(15),
        "ended at {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn absurd_token_lifetimes_still_give_rfc3339_expiries() {
    let p = provider(&[DeviceStep::Grant], 5, 600).await;
    p.set_access_lifetime(serde_json::json!(u64::MAX));
    p.set_refresh_lifetime(serde_json::json!(u64::MAX));
    p.add_refresh_token("rt_SENTINEL_old");
    let rfc3339 = |t: Option<keyway::core::time::Timestamp>| {
        let text = t.expect("an expiry").rfc3339();
        assert!(
            keyway::core::time::parse_user_time(&text).is_some(),
            "not RFC 3339: {text}"
        );
    };
    // Client credentials, a refresh, and a device login: the three ways tokens come in.
    let o = check(&oauth_credential(&p, &[("client_secret", CLIENT_SECRET)])).await;
    rfc3339(o.tokens.expect("tokens").expires_at);
    let o = check(&oauth_credential(
        &p,
        &[
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "rt_SENTINEL_old"),
        ],
    ))
    .await;
    let tokens = o.tokens.expect("tokens");
    rfc3339(tokens.expires_at);
    rfc3339(tokens.refresh_expires_at);
    let v = verifier(2, 15);
    let oauth = client(&p);
    let device = v.device_start(&oauth).await.expect("device start");
    let tokens = v
        .device_poll(&oauth, &device, NOW, |_| {})
        .await
        .expect("granted");
    rfc3339(tokens.expires_at);
    rfc3339(tokens.refresh_expires_at);
}
