//! A loopback API that checks a key wherever a component may put it, plus a "trap" server that
//! records whether anything (and the key in particular) ever reached it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;

pub const BASIC_USER: &str = "AC123";

#[derive(Default)]
pub struct ApiState {
    pub key: String,
    pub trap: Option<SocketAddr>,
    /// Requests that reached a key-checking route.
    pub hits: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// Where the right key was found, per accepted request ("bearer", "header", "basic", "query").
    pub found_via: Mutex<Vec<&'static str>>,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    pub state: Arc<ApiState>,
}

impl ApiServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Serves `router` on a fresh loopback port in the current runtime.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// Routes: /v1/me (200 with a JSON account, or 401), /v1/slow/{ms} (the same after a delay,
/// counting requests in flight), /v1/boom (500), /v1/moved (302 to the trap), /v1/slack
/// (always 200; `"ok": false` for a wrong key).
pub async fn api_server(key: &str, trap: Option<SocketAddr>) -> ApiServer {
    let state = Arc::new(ApiState {
        key: key.to_string(),
        trap,
        ..ApiState::default()
    });
    let router = api_router(state.clone());
    ApiServer {
        addr: serve(router).await,
        state,
    }
}

/// The routes of `api_server`, over any transport (tls.rs serves them over TLS).
pub fn api_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/slow/{ms}", get(slow))
        .route(
            "/v1/boom",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/v1/moved", get(moved))
        .route("/v1/slack", get(slack))
        .with_state(state)
}

fn key_placement(
    state: &ApiState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Option<&'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("authorization") == Some(format!("Bearer {}", state.key).as_str()) {
        return Some("bearer");
    }
    if header("x-api-key") == Some(state.key.as_str()) {
        return Some("header");
    }
    if header("authorization") == Some(format!("Token token={}", state.key).as_str()) {
        return Some("header-prefix");
    }
    if let Some(basic) = header("authorization").and_then(|v| v.strip_prefix("Basic ")) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if decoded.as_deref() == Some(format!("{BASIC_USER}:{}", state.key).as_str()) {
            return Some("basic");
        }
    }
    if query.get("key") == Some(&state.key) {
        return Some("query");
    }
    None
}

fn checked(state: &ApiState, headers: &HeaderMap, query: &HashMap<String, String>) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    match key_placement(state, headers, query) {
        Some(via) => {
            state.found_via.lock().unwrap().push(via);
            Json(json!({"account": {"id": "acct_42", "seats": 7}})).into_response()
        }
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": "bad key"}))).into_response(),
    }
}

async fn me(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    checked(&state, &headers, &query)
}

async fn slow(
    State(state): State<Arc<ApiState>>,
    Path(ms): Path<u64>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    checked(&state, &headers, &query)
}

async fn moved(State(state): State<Arc<ApiState>>) -> Response {
    let trap = state.trap.expect("the moved route needs a trap server");
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("http://{trap}/steal"))],
    )
        .into_response()
}

async fn slack(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let ok = key_placement(&state, &headers, &HashMap::new()).is_some();
    if ok {
        Json(json!({"ok": true, "team": "Acme"})).into_response()
    } else {
        Json(json!({"ok": false, "error": "invalid_auth"})).into_response()
    }
}

/// Records every request it receives, and whether the key appeared anywhere in one.
#[derive(Default)]
pub struct TrapState {
    pub key: String,
    pub requests: AtomicUsize,
    pub saw_key: AtomicUsize,
}

pub struct Trap {
    pub addr: SocketAddr,
    pub state: Arc<TrapState>,
}

pub async fn trap_server(key: &str) -> Trap {
    let state = Arc::new(TrapState {
        key: key.to_string(),
        ..TrapState::default()
    });
    let router = Router::new().fallback(trap).with_state(state.clone());
    Trap {
        addr: serve(router).await,
        state,
    }
}

async fn trap(State(state): State<Arc<TrapState>>, uri: Uri, headers: HeaderMap) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let in_headers = headers
        .values()
        .any(|v| String::from_utf8_lossy(v.as_bytes()).contains(&state.key));
    if in_headers || uri.to_string().contains(&state.key) {
        state.saw_key.fetch_add(1, Ordering::SeqCst);
    }
    Json(json!({"account": {"id": "stolen"}})).into_response()
}

/// Every way `echo_server` can echo a token.
pub const ECHO_MODES: [&str; 9] = [
    "plain",
    "upper",
    "header",
    "prefix",
    "middle",
    "suffix",
    "base64",
    "basic",
    "urlencoded",
];

/// A service that echoes the bearer token it received back in the JSON detail
/// (`/account/id`), transformed as the last path segment says: `plain`, `upper`, `header` (the
/// whole Authorization header), `prefix` (its first 40 characters), `middle` (without its
/// first 9, as a service drops a key's `sk_live_`), `suffix` (its last 16), `base64`, `basic` (base64
/// of `user:TOKEN`, as a Basic header would carry it) or `urlencoded`. Always 200.
pub async fn echo_server() -> SocketAddr {
    serve(Router::new().route("/echo/{mode}", get(echo))).await
}

async fn echo(Path(mode): Path<String>, headers: HeaderMap) -> Response {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let token = header
        .strip_prefix("Bearer ")
        .unwrap_or(&header)
        .to_string();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let echoed = match mode.as_str() {
        "plain" => token,
        "upper" => token.to_uppercase(),
        "header" => header,
        "prefix" => token.chars().take(40).collect(),
        "middle" => token.chars().skip(9).collect(),
        "suffix" => {
            let skip = token.chars().count().saturating_sub(16);
            token.chars().skip(skip).collect()
        }
        "base64" => b64(&token),
        "basic" => format!("Basic {}", b64(&format!("user:{token}"))),
        "urlencoded" => url::form_urlencoded::byte_serialize(token.as_bytes()).collect(),
        _ => "unknown mode".to_string(),
    };
    Json(json!({"account": {"id": echoed}, "note": "echo"})).into_response()
}
