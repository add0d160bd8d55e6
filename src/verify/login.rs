//! Getting OAuth2 tokens from a terminal, with no local browser needed (works over SSH):
//!
//! - the device authorization grant (RFC 8628): `Verifier::device_start` returns what to show
//!   (verification URL, user code), then `Verifier::device_poll` waits for the user at the
//!   provider's pace (+5 s on slow_down), stopping on access_denied, expired_token or expires_in;
//! - authorization code + PKCE with a paste-the-redirect-URL fallback: `authorize_url` gives the
//!   address to open, the user pastes the address the browser ended on, and
//!   `Verifier::exchange_pasted_redirect` checks its state and exchanges the code.
//!
//! Reading input and printing belong to the CLI/TUI; these functions only take and return values.
//! The poll loop is keyway's own rather than oauth2's: it reads tokio's clock (so tests run it
//! under paused time), reports each step to a callback, and treats 5xx answers as transient.
//!
//! Every request ends within the verification deadline, and every poll within the code's
//! lifetime, which keyway caps at LONGEST_DEVICE_LOGIN whatever the provider states: a silent
//! or absurd provider ends the login, it never holds the terminal.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, StandardDeviceAuthorizationResponse,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::failure::NetFailure;
use super::safety;
use super::token::{
    expiry, printable_code, status_failure, token_failure, token_update, FlowError, Grant,
    GrantResponse, LifetimeFields, OAuthClient,
};
use super::transport::read_body;
use super::{TokenUpdate, Verifier};
use crate::core::time::Timestamp;
use crate::core::Status;

/// A redirect URI for the paste fallback: nothing listens there, so the browser shows an error
/// page whose address bar holds the code; the user copies that address into keyway.
pub const PASTE_REDIRECT_URI: &str = "http://127.0.0.1/keyway-callback";

/// The longest a device login waits for the user, whatever `expires_in` the provider states.
/// The providers keyway knows give 15 minutes (GitHub, Microsoft) or 30 (Google).
pub const LONGEST_DEVICE_LOGIN: Duration = Duration::from_secs(30 * 60);

/// The longest pause between polls a provider may ask for (RFC 8628 suggests 5 s).
const LONGEST_INTERVAL: Duration = Duration::from_secs(60);

/// What the user needs to finish a device login, plus the device code keyway polls with.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// Where the user goes ("https://example.com/device").
    pub verification_uri: String,
    /// The same with the code filled in, when the provider offers it.
    pub verification_uri_complete: Option<String>,
    /// The code the user types there.
    pub user_code: String,
    /// The provider's polling interval (5 s when it names none).
    pub interval: Duration,
    /// How long the codes stay valid.
    pub expires_in: Duration,
    device_code: SecretString,
}

/// Progress of `device_poll`, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePollEvent {
    /// The user has not finished yet (authorization_pending).
    Pending,
    /// The provider asked keyway to poll less often; this is the new interval.
    SlowDown { interval: Duration },
    /// The provider could not answer (5xx, network); keyway backs off and tries again.
    Retrying { reason: String },
}

impl Verifier {
    /// Starts a device login (RFC 8628 §3.1). Show `verification_uri` and `user_code`, then call
    /// `device_poll`.
    pub async fn device_start(
        &self,
        oauth: &OAuthClient,
    ) -> Result<DeviceAuthorization, FlowError> {
        let device_url = oauth.device_authorization_url.clone().ok_or_else(|| {
            FlowError::Misconfigured(
                "The field 'device_authorization_url' is empty; this provider needs the browser login (authorization code + PKCE).".into(),
            )
        })?;
        let where_ = safety::host_port(&device_url);
        let client = oauth
            .grant_client()
            .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url));
        let http = oauth.http(self.http());
        let request = client
            .exchange_device_code()
            .add_scopes(oauth.scope_list())
            .request_async(&http);
        let details: StandardDeviceAuthorizationResponse = self
            .within_deadline(&where_, request)
            .await?
            .map_err(|e| token_failure(e, Grant::Device, oauth, self.limits()))?;
        Ok(DeviceAuthorization {
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| u.secret().clone()),
            user_code: details.user_code().secret().clone(),
            interval: details
                .interval()
                .clamp(Duration::from_secs(1), LONGEST_INTERVAL),
            expires_in: details.expires_in().min(LONGEST_DEVICE_LOGIN),
            device_code: SecretString::from(details.device_code().secret().clone()),
        })
    }

    /// Polls the token endpoint until the user finishes (RFC 8628 §3.4-3.5): waits `interval`
    /// before each poll, adds 5 s on slow_down, stops on access_denied / expired_token, and
    /// never polls after `expires_in`: a poll still unanswered when the codes expire ends the
    /// login, and one unanswered within the deadline is retried. `now` is the wall-clock time
    /// at the call, for the new token's expiry. Dropping the future cancels the login.
    pub async fn device_poll(
        &self,
        oauth: &OAuthClient,
        device: &DeviceAuthorization,
        now: Timestamp,
        mut on_event: impl FnMut(DevicePollEvent),
    ) -> Result<TokenUpdate, FlowError> {
        let started = tokio::time::Instant::now();
        let give_up_at = started + device.expires_in;
        let mut interval = device.interval;
        loop {
            if tokio::time::Instant::now() + interval > give_up_at {
                return Err(FlowError::Expired);
            }
            tokio::time::sleep(interval).await;
            let left = give_up_at.saturating_duration_since(tokio::time::Instant::now());
            let limit = left.min(self.limits().deadline);
            let poll = match tokio::time::timeout(limit, self.poll_device_once(oauth, device)).await
            {
                Ok(poll) => poll,
                Err(_) if limit == left => return Err(FlowError::Expired),
                Err(_) => Poll::Transient(format!(
                    "{} did not answer within the {} s deadline.",
                    safety::host_port(&oauth.token_url),
                    self.limits().deadline.as_secs()
                )),
            };
            match poll {
                Poll::Granted(body) => {
                    let issued_at = Timestamp(now.0 + started.elapsed().as_secs() as i64);
                    return granted_tokens(&body, issued_at, oauth);
                }
                Poll::Pending => on_event(DevicePollEvent::Pending),
                Poll::SlowDown => {
                    interval += Duration::from_secs(5);
                    on_event(DevicePollEvent::SlowDown { interval });
                }
                Poll::Transient(reason) => {
                    // RFC 8628 §3.5: back off on connection trouble; a minute is the ceiling.
                    interval = (interval * 2).min(Duration::from_secs(60));
                    on_event(DevicePollEvent::Retrying { reason });
                }
                Poll::Failed(error) => return Err(error),
            }
        }
    }

    async fn poll_device_once(&self, oauth: &OAuthClient, device: &DeviceAuthorization) -> Poll {
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device.device_code.expose_secret()),
        ];
        let client = match self
            .http()
            .for_url(&oauth.token_url, oauth.ca_cert.as_deref())
        {
            Ok(client) => client,
            Err(f) => return Poll::Failed(FlowError::Misconfigured(f.reason)),
        };
        let mut request = client.post(oauth.token_url.clone());
        match &oauth.client_secret {
            // The same client authentication oauth2 uses for the other grants (RFC 6749 §2.3.1:
            // form-urlencoded id and secret inside basic auth).
            Some(secret) => {
                request = request.basic_auth(
                    form_encode(&oauth.client_id),
                    Some(form_encode(secret.expose_secret())),
                )
            }
            None => form.push(("client_id", &oauth.client_id)),
        }
        let where_ = safety::host_port(&oauth.token_url);
        let response = match request.form(&form).send().await {
            Ok(r) => r,
            Err(e) => {
                let failure = NetFailure::from_reqwest(&e);
                let sentence = failure.sentence(&where_, self.limits().connect_timeout.as_secs());
                // A certificate keyway refuses will not be accepted on the next poll either.
                return match failure.status() {
                    Status::Misconfigured => Poll::Failed(FlowError::Misconfigured(sentence)),
                    _ => Poll::Transient(sentence),
                };
            }
        };
        let status = response.status();
        if status.is_redirection() {
            return Poll::Failed(FlowError::Misconfigured(format!(
                "The token endpoint at {where_} redirected; keyway does not follow redirects with a secret attached."
            )));
        }
        let body = read_body(response).await;
        if status == StatusCode::OK {
            return Poll::Granted(body);
        }
        let code = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.error);
        match code.as_deref() {
            Some("authorization_pending") => Poll::Pending,
            Some("slow_down") => Poll::SlowDown,
            Some("access_denied") => Poll::Failed(FlowError::AccessDenied),
            Some("expired_token") => Poll::Failed(FlowError::Expired),
            Some("invalid_client") => Poll::Failed(FlowError::Rejected(
                "The provider rejected the client ID or client secret (invalid_client).".into(),
            )),
            Some(other) => Poll::Failed(FlowError::Rejected(format!(
                "The provider ended the device login ({}).",
                printable_code(other)
            ))),
            None if status.is_server_error() => {
                Poll::Transient(format!("{where_} answered HTTP {}.", status.as_u16()))
            }
            None => Poll::Failed(status_failure(status, &where_)),
        }
    }

    /// Exchanges the code in the address the user pasted after signing in. `pasted` may be the
    /// whole address or just its query; its `state` must equal the one `authorize_url` returned,
    /// or nothing is sent (a mismatched state means the code is not from this login).
    pub async fn exchange_pasted_redirect(
        &self,
        oauth: &OAuthClient,
        redirect_uri: &str,
        pasted: &str,
        expected_state: &CsrfToken,
        verifier: PkceCodeVerifier,
        now: Timestamp,
    ) -> Result<TokenUpdate, FlowError> {
        let code = code_from_pasted(pasted, expected_state)?;
        let redirect = redirect_url(redirect_uri)?;
        let client = oauth.grant_client().set_redirect_uri(redirect);
        let http = oauth.http(self.http());
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http);
        let response = self
            .within_deadline(&safety::host_port(&oauth.token_url), request)
            .await?
            .map_err(|e| token_failure(e, Grant::Code, oauth, self.limits()))?;
        Ok(token_update(&response, now))
    }

    /// `request` to `where_`, ended at the verification deadline: the backstop of the login
    /// clients fires only a second later, which is a second past the promise.
    async fn within_deadline<T>(
        &self,
        where_: &str,
        request: impl std::future::Future<Output = T>,
    ) -> Result<T, FlowError> {
        let deadline = self.limits().deadline;
        tokio::time::timeout(deadline, request).await.map_err(|_| {
            FlowError::Unreachable(format!(
                "{where_} did not answer within the {} s deadline.",
                deadline.as_secs()
            ))
        })
    }
}

enum Poll {
    Granted(Vec<u8>),
    Pending,
    SlowDown,
    Transient(String),
    Failed(FlowError),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    /// The refresh token's lifetime, read leniently as the oauth2 grants read it.
    #[serde(flatten)]
    lifetimes: LifetimeFields,
}

fn granted_tokens(
    body: &[u8],
    issued_at: Timestamp,
    oauth: &OAuthClient,
) -> Result<TokenUpdate, FlowError> {
    let grant: GrantBody = serde_json::from_slice(body).map_err(|_| {
        FlowError::Unreachable(format!(
            "The token endpoint at {} did not answer with an OAuth2 token response.",
            safety::host_port(&oauth.token_url)
        ))
    })?;
    Ok(TokenUpdate {
        access_token: SecretString::from(grant.access_token),
        refresh_token: grant.refresh_token.map(SecretString::from),
        expires_at: grant
            .expires_in
            .map(|s| expiry(issued_at, Duration::from_secs(s))),
        refresh_expires_at: grant
            .lifetimes
            .refresh_expires_in()
            .map(|d| expiry(issued_at, d)),
    })
}

/// Both token-response decoders on one body: the device grant's own (`granted_tokens`) and
/// oauth2's, which every other grant uses; the tokens each read, none where it refused. For the
/// property tests and the fuzz targets in fuzz/, which feed them answers no provider would give.
#[doc(hidden)]
pub fn decode_token_responses(body: &[u8], now: Timestamp) -> Vec<TokenUpdate> {
    let client = OAuthClient {
        client_id: "fuzz".into(),
        client_secret: None,
        token_url: Url::parse("https://token.invalid/token").expect("a fixed, valid URL"),
        device_authorization_url: None,
        auth_url: None,
        scopes: Vec::new(),
        ca_cert: None,
    };
    let mut out = Vec::new();
    if let Ok(t) = granted_tokens(body, now, &client) {
        out.push(t);
    }
    if let Ok(r) = serde_json::from_slice::<GrantResponse>(body) {
        out.push(token_update(&r, now));
    }
    out
}

fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, FlowError> {
    RedirectUrl::new(redirect_uri.to_string()).map_err(|_| {
        FlowError::Misconfigured(format!(
            "The redirect URI '{redirect_uri}' is not an absolute URL."
        ))
    })
}

/// The address to open for an authorization-code login with PKCE (S256), the PKCE verifier to
/// keep for the exchange, and the state the pasted address must carry back.
pub fn authorize_url(
    oauth: &OAuthClient,
    redirect_uri: &str,
) -> Result<(Url, PkceCodeVerifier, CsrfToken), FlowError> {
    let auth_url = oauth.auth_url.clone().ok_or_else(|| {
        FlowError::Misconfigured(
            "The field 'auth_url' is empty; this provider needs the device login.".into(),
        )
    })?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = BasicClient::new(ClientId::new(oauth.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(auth_url))
        .set_redirect_uri(redirect_url(redirect_uri)?)
        .authorize_url(CsrfToken::new_random)
        .add_scopes(oauth.scope_list())
        .set_pkce_challenge(challenge)
        .url();
    Ok((url, verifier, state))
}

/// The authorization code from a pasted redirect address, after checking its state.
fn code_from_pasted(pasted: &str, expected_state: &CsrfToken) -> Result<String, FlowError> {
    let pasted = pasted.trim();
    let query = match Url::parse(pasted) {
        Ok(url) => url.query().unwrap_or_default().to_string(),
        Err(_) => pasted.trim_start_matches('?').to_string(),
    };
    let mut code = None;
    let mut state = None;
    let mut error = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            _ => {}
        }
    }
    if state.is_none() && code.is_none() && error.is_none() {
        return Err(FlowError::BadRedirect(
            "The pasted text is not the address the browser was sent to (it has no 'state' or 'code' parameter); paste the whole address from the browser's address bar."
                .into(),
        ));
    }
    if state.as_deref() != Some(expected_state.secret().as_str()) {
        return Err(FlowError::StateMismatch);
    }
    match (error.as_deref(), code) {
        (Some("access_denied"), _) => Err(FlowError::AccessDenied),
        (Some(other), _) => Err(FlowError::Rejected(format!(
            "The provider ended the login ({}).",
            printable_code(other)
        ))),
        (None, Some(code)) if !code.is_empty() => Ok(code),
        (None, _) => Err(FlowError::BadRedirect(
            "The pasted address has no 'code' parameter; paste the whole address the browser ended on."
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_redirects_need_the_right_state_and_a_code() {
        let state = CsrfToken::new("s1".into());
        assert_eq!(
            code_from_pasted("http://127.0.0.1/keyway-callback?code=abc&state=s1", &state).unwrap(),
            "abc"
        );
        assert_eq!(
            code_from_pasted("?state=s1&code=x%2By", &state).unwrap(),
            "x+y"
        );
        assert!(matches!(
            code_from_pasted("http://127.0.0.1/cb?code=abc&state=evil", &state),
            Err(FlowError::StateMismatch)
        ));
        assert!(matches!(
            code_from_pasted("http://127.0.0.1/cb?code=abc", &state),
            Err(FlowError::StateMismatch)
        ));
        assert!(matches!(
            code_from_pasted("http://127.0.0.1/cb?error=access_denied&state=s1", &state),
            Err(FlowError::AccessDenied)
        ));
        assert!(matches!(
            code_from_pasted("http://127.0.0.1/cb?state=s1", &state),
            Err(FlowError::BadRedirect(_))
        ));
        for garbage in ["asdf", "", "https://example.com/", "?x=1"] {
            assert!(
                matches!(
                    code_from_pasted(garbage, &state),
                    Err(FlowError::BadRedirect(_))
                ),
                "{garbage:?}"
            );
        }
    }
}

/// The token-response decoders' contract on a provider's answer: never a panic, whatever the
/// body; an error that never quotes the body (it may echo what was sent); expiries that stay
/// times keyway can write however large `expires_in` is; and a well-formed grant read back as
/// sent.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::core::secret::SecretFields;
    use crate::core::Credential;
    use proptest::prelude::*;
    use serde_json::json;

    fn client() -> OAuthClient {
        let mut public = std::collections::BTreeMap::new();
        public.insert("client_id".to_string(), "c".to_string());
        public.insert(
            "token_url".to_string(),
            "https://id.example/token".to_string(),
        );
        let credential = Credential {
            id: crate::core::RecordId("x".into()),
            workspace: crate::core::RecordId("w".into()),
            component: "generic_oauth2".into(),
            name: "n".into(),
            environment: Default::default(),
            public,
            secrets: SecretFields::new(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            last_verification: None,
            revision: Default::default(),
            password_changed_at: None,
            pending_rotation: None,
        };
        OAuthClient::from_credential(&credential).unwrap()
    }

    /// Any JSON value, a few levels deep.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "access_token",
                        "refresh_token",
                        "expires_in",
                        "token_type",
                        "refresh_token_expires_in",
                        "scope",
                        "error",
                        "x",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..6,
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn decode_both(body: &[u8], now: Timestamp) -> Vec<TokenUpdate> {
        if let Err(e) = granted_tokens(body, now, &client()) {
            assert!(!e.to_string().contains("SENTINEL"), "{e}");
        }
        decode_token_responses(body, now)
    }

    proptest! {
        #[test]
        fn any_body_is_decoded_or_refused_without_quoting_it(body in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut body = body;
            body.extend_from_slice(b"SENTINEL");
            decode_both(&body, Timestamp(1_700_000_000));
        }

        #[test]
        fn any_json_answer_is_decoded_or_refused(value in json_value(), now in any::<i64>()) {
            let body = serde_json::to_vec(&value).unwrap();
            for t in decode_both(&body, Timestamp(now.clamp(0, Timestamp::RFC3339_MAX.0))) {
                // Never an overflow, and always a time RFC 3339 can write.
                prop_assert!(t.expires_at.is_none_or(|at| at.is_rfc3339()));
                prop_assert!(t.refresh_expires_at.is_none_or(|at| at.is_rfc3339()));
            }
        }

        #[test]
        fn grants_read_back_as_sent(
            access in "[!-~]{1,60}",
            refresh in prop::option::of("[!-~]{1,60}"),
            expires_in in prop::option::of(any::<u64>()),
            lifetime in prop::option::of(any::<u64>()),
        ) {
            let mut body = json!({"access_token": access, "token_type": "bearer"});
            if let Some(r) = &refresh { body["refresh_token"] = json!(r); }
            if let Some(e) = expires_in { body["expires_in"] = json!(e); }
            if let Some(l) = lifetime { body["refresh_token_expires_in"] = json!(l); }
            let now = Timestamp(1_700_000_000);
            let decoded = decode_both(&serde_json::to_vec(&body).unwrap(), now);
            prop_assert_eq!(decoded.len(), 2);
            for t in decoded {
                prop_assert_eq!(t.access_token.expose_secret(), access.as_str());
                prop_assert_eq!(t.refresh_token.as_ref().map(|r| r.expose_secret().to_string()), refresh.clone());
                if let Some(at) = t.expires_at {
                    prop_assert!(at >= now && at.is_rfc3339());
                }
            }
        }
    }
}
