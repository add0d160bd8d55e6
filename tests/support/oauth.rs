//! A loopback OAuth2 provider: client credentials, refresh with rotation (a used or revoked
//! refresh token is invalid_grant), the device grant with a scripted sequence of answers, the
//! authorization code grant with PKCE (S256), and a userinfo endpoint. Request counters let tests
//! tell a refresh from a read-only check; `set_refresh_lifetime` makes grants state
//! `refresh_token_expires_in`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::http::serve;

pub const CLIENT_ID: &str = "keyway-test-client";
pub const CLIENT_SECRET: &str = "cs_SENTINEL_secret_51";
pub const DEVICE_CODE: &str = "dc_SENTINEL_device_77";
pub const USER_CODE: &str = "WDJB-MJHT";

/// One scripted answer to a device-code poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStep {
    Pending,
    SlowDown,
    Denied,
    Expired,
    Grant,
    /// The token endpoint takes the poll and never answers.
    Silent,
}

#[derive(Default)]
pub struct ProviderState {
    pub refresh_tokens: Mutex<HashSet<String>>,
    pub access_tokens: Mutex<HashSet<String>>,
    pub device_script: Mutex<VecDeque<DeviceStep>>,
    /// tokio's clock at each device poll (paused-time tests read the pacing from it).
    pub device_polls: Mutex<Vec<tokio::time::Instant>>,
    pub device_interval: u64,
    pub device_expires_in: u64,
    /// code → (PKCE challenge, redirect_uri)
    pub codes: Mutex<HashMap<String, (String, String)>>,
    pub token_requests: AtomicUsize,
    pub userinfo_requests: AtomicUsize,
    /// Sent as `refresh_token_expires_in` with every issued refresh token, when set (any JSON,
    /// so tests can send a malformed one).
    pub refresh_lifetime: Mutex<Option<serde_json::Value>>,
    /// Sent as the access token's `expires_in` instead of 3600, when set.
    pub access_lifetime: Mutex<Option<serde_json::Value>>,
    /// The device authorization endpoint takes requests and never answers.
    pub device_code_silent: std::sync::atomic::AtomicBool,
    issued: AtomicUsize,
}

pub struct Provider {
    pub addr: SocketAddr,
    pub state: Arc<ProviderState>,
    /// "http", or "https" for `provider_over_tls`.
    scheme: &'static str,
}

impl Provider {
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// The public and secret fields of a generic_oauth2 credential for this provider.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("base_url", self.url("")),
            ("client_id", CLIENT_ID.to_string()),
            ("token_url", self.url("/token")),
            ("device_authorization_url", self.url("/device/code")),
            ("auth_url", self.url("/authorize")),
            ("scope", "openid email".to_string()),
        ]
    }

    pub fn add_refresh_token(&self, token: &str) {
        self.state
            .refresh_tokens
            .lock()
            .unwrap()
            .insert(token.into());
    }

    pub fn add_access_token(&self, token: &str) {
        self.state
            .access_tokens
            .lock()
            .unwrap()
            .insert(token.into());
    }

    /// What the user's browser sign-in would leave behind: a code bound to a PKCE challenge.
    pub fn approve_code(&self, code: &str, challenge: &str, redirect_uri: &str) {
        self.state
            .codes
            .lock()
            .unwrap()
            .insert(code.into(), (challenge.into(), redirect_uri.into()));
    }

    /// Revokes an access token early (the provider forgets it).
    pub fn revoke_access_token(&self, token: &str) {
        self.state.access_tokens.lock().unwrap().remove(token);
    }

    pub fn has_refresh_token(&self, token: &str) -> bool {
        self.state.refresh_tokens.lock().unwrap().contains(token)
    }

    pub fn set_refresh_lifetime(&self, value: serde_json::Value) {
        *self.state.refresh_lifetime.lock().unwrap() = Some(value);
    }

    pub fn set_access_lifetime(&self, value: serde_json::Value) {
        *self.state.access_lifetime.lock().unwrap() = Some(value);
    }

    /// From now on the device authorization endpoint never answers.
    pub fn silence_device_endpoint(&self) {
        self.state.device_code_silent.store(true, Ordering::SeqCst);
    }

    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    pub fn userinfo_requests(&self) -> usize {
        self.state.userinfo_requests.load(Ordering::SeqCst)
    }

    pub fn device_polls(&self) -> Vec<tokio::time::Instant> {
        self.state.device_polls.lock().unwrap().clone()
    }
}

pub async fn provider(device_script: &[DeviceStep], interval: u64, expires_in: u64) -> Provider {
    let state = provider_state(device_script, interval, expires_in);
    Provider {
        addr: serve(provider_router(state.clone())).await,
        state,
        scheme: "http",
    }
}

/// The same provider over TLS with `issued` (a certificate from a test CA, see tls.rs).
pub async fn provider_over_tls(issued: &super::tls::Issued) -> Provider {
    let state = provider_state(&[], 5, 600);
    Provider {
        addr: super::tls::serve_tls(provider_router(state.clone()), issued).await,
        state,
        scheme: "https",
    }
}

fn provider_state(
    device_script: &[DeviceStep],
    interval: u64,
    expires_in: u64,
) -> Arc<ProviderState> {
    Arc::new(ProviderState {
        device_script: Mutex::new(device_script.iter().copied().collect()),
        device_interval: interval,
        device_expires_in: expires_in,
        ..ProviderState::default()
    })
}

fn provider_router(state: Arc<ProviderState>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/device/code", post(device_code))
        .route("/userinfo", get(userinfo))
        .with_state(state)
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": code}))).into_response()
}

/// Client authentication: HTTP basic (form-urlencoded id and secret) or form fields.
fn client_auth(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|s| s.split_once(':')) {
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return (decode(id), decode(secret));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

fn issue(state: &ProviderState, with_refresh: bool) -> Response {
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let access = format!("at_SENTINEL_{n}");
    state.access_tokens.lock().unwrap().insert(access.clone());
    let lifetime = state
        .access_lifetime
        .lock()
        .unwrap()
        .clone()
        .unwrap_or(json!(3600));
    let mut body = json!({"access_token": access, "token_type": "bearer", "expires_in": lifetime});
    if with_refresh {
        let refresh = format!("rt_SENTINEL_rotated_{n}");
        state.refresh_tokens.lock().unwrap().insert(refresh.clone());
        body["refresh_token"] = json!(refresh);
        if let Some(lifetime) = state.refresh_lifetime.lock().unwrap().clone() {
            body["refresh_token_expires_in"] = lifetime;
        }
    }
    Json(body).into_response()
}

async fn token(
    State(state): State<Arc<ProviderState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let (id, secret) = client_auth(&headers, &form);
    if id.as_deref() != Some(CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let confidential_ok = secret.as_deref() == Some(CLIENT_SECRET);
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {
            if !confidential_ok {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
            }
            issue(&state, false)
        }
        Some("refresh_token") => {
            if secret.is_some() && !confidential_ok {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
            }
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // Rotation: a refresh token works once.
            if !state.refresh_tokens.lock().unwrap().remove(&presented) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue(&state, true)
        }
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            state
                .device_polls
                .lock()
                .unwrap()
                .push(tokio::time::Instant::now());
            if form.get("device_code").map(String::as_str) != Some(DEVICE_CODE) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            let step = state
                .device_script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(DeviceStep::Pending);
            match step {
                DeviceStep::Pending => {
                    oauth_error(StatusCode::BAD_REQUEST, "authorization_pending")
                }
                DeviceStep::SlowDown => oauth_error(StatusCode::BAD_REQUEST, "slow_down"),
                DeviceStep::Denied => oauth_error(StatusCode::BAD_REQUEST, "access_denied"),
                DeviceStep::Expired => oauth_error(StatusCode::BAD_REQUEST, "expired_token"),
                DeviceStep::Grant => issue(&state, true),
                DeviceStep::Silent => std::future::pending().await,
            }
        }
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some((challenge, redirect)) = state.codes.lock().unwrap().remove(&code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if computed != challenge || form.get("redirect_uri") != Some(&redirect) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue(&state, true)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

async fn device_code(
    State(state): State<Arc<ProviderState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, _) = client_auth(&headers, &form);
    if id.as_deref() != Some(CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if state.device_code_silent.load(Ordering::SeqCst) {
        return std::future::pending().await;
    }
    Json(json!({
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": "https://example.invalid/device",
        "expires_in": state.device_expires_in,
        "interval": state.device_interval,
    }))
    .into_response()
}

async fn userinfo(State(state): State<Arc<ProviderState>>, headers: HeaderMap) -> Response {
    state.userinfo_requests.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if state.access_tokens.lock().unwrap().contains(token) {
        Json(json!({"sub": "u-1", "email": "etl@example.com"})).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}
