//! The one HTTP stack keyway verifies with: reqwest clients that never follow redirects, trust
//! what `tls::Trust` trusts (plus a credential's own `ca_cert`), honour the proxy variables
//! (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, read by reqwest as curl reads them) except for
//! loopback hosts, which are never proxied; and the adapter that lets oauth2 5 use them while
//! keeping the HTTP status of failed token requests (oauth2 itself reduces a 503 or a redirect
//! to an unparsable body).
//!
//! Through a proxy an https request travels inside a CONNECT tunnel, so the proxy sees the host
//! name and port and nothing else: the key is inside TLS. A plain http request would hand the
//! key to the proxy in the clear; it is refused unless the credential allows plain http
//! (`allow_http = yes`), the same rule as without a proxy.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::HashMap;
use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};
use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use url::Url;

use super::failure::NetFailure;
use super::safety;
use super::tls::{self, Trust};
use super::{Finding, Limits};

/// Sent on every request; GitHub refuses requests without a User-Agent.
pub(crate) const USER_AGENT: &str = concat!("keyway/", env!("CARGO_PKG_VERSION"));

/// Verification answers are small; a larger body is cut here so a hostile or broken endpoint
/// cannot make keyway buffer gigabytes.
const BODY_LIMIT: usize = 256 * 1024;

/// More distinct `ca_cert` values than this and their clients are made afresh: a bound on
/// memory far above the number of private CAs one vault uses.
const CA_CLIENTS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("the TLS configuration could not be built: {0}")]
    Tls(#[source] rustls::Error),
    #[error("the HTTP client could not be built: {0}")]
    Http(#[source] reqwest::Error),
}

/// Whether requests get a backstop timeout of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backstop {
    /// For `Verifier::verify`, whose deadline bounds every request: the verification deadline
    /// fires a second before a backstop would, so there it never decided anything, yet it cost
    /// each request two timers (one for the answer, one for the body) and a boxed sleep.
    None,
    /// For the login flows, which run outside `Verifier::verify` and its deadline: a second past
    /// the verification deadline, like the deadline it stands in for.
    DeadlinePlusOne,
}

/// One client honouring the proxy variables and one that never uses a proxy.
#[derive(Clone)]
struct ClientPair {
    proxied: reqwest::Client,
    direct: reqwest::Client,
}

/// The HTTP clients of one purpose (see `Backstop`): the shared pair, and a pair for each
/// `ca_cert` a credential brings, made on first use and kept by the certificates' digest.
pub(crate) struct HttpClients {
    trust: Arc<Trust>,
    limits: Limits,
    backstop: Backstop,
    shared: ClientPair,
    with_ca: Mutex<HashMap<[u8; 32], ClientPair>>,
}

impl HttpClients {
    pub(crate) fn new(
        trust: Arc<Trust>,
        limits: Limits,
        backstop: Backstop,
    ) -> Result<HttpClients, ClientBuildError> {
        let shared = client_pair(&trust, &[], limits, backstop)?;
        Ok(HttpClients {
            trust,
            limits,
            backstop,
            shared,
            with_ca: Mutex::new(HashMap::default()),
        })
    }

    /// The client for a request to `url` of a credential whose `ca_cert` field holds
    /// `ca_cert` (canonical PEM, see `core::pem`): direct for loopback, else through any proxy
    /// the environment names.
    pub(crate) fn for_url(
        &self,
        url: &Url,
        ca_cert: Option<&str>,
    ) -> Result<reqwest::Client, Finding> {
        let pair = match ca_cert {
            None => self.shared.clone(),
            Some(pem) => self.pair_with_ca(pem)?,
        };
        Ok(if crate::core::transport::is_loopback(url) {
            pair.direct
        } else {
            pair.proxied
        })
    }

    fn pair_with_ca(&self, pem: &str) -> Result<ClientPair, Finding> {
        let digest: [u8; 32] = Sha256::digest(pem.as_bytes()).into();
        if let Some(pair) = self.map().get(&digest) {
            return Ok(pair.clone());
        }
        let cas = tls::pem_certificates(pem, crate::core::schema::CA_CERT_FIELD)?;
        let pair = client_pair(&self.trust, &cas, self.limits, self.backstop).map_err(|_| {
            Finding::misconfigured(
                "The field 'ca_cert' holds a certificate that cannot be a trusted CA.".into(),
            )
        })?;
        let mut map = self.map();
        if map.len() >= CA_CLIENTS {
            map.clear();
        }
        map.insert(digest, pair.clone());
        Ok(pair)
    }

    /// Every critical section is one lookup or one insert, so a poisoned lock is safe to use.
    fn map(&self) -> MutexGuard<'_, HashMap<[u8; 32], ClientPair>> {
        self.with_ca
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn client_pair(
    trust: &Trust,
    extra_cas: &[CertificateDer<'static>],
    limits: Limits,
    backstop: Backstop,
) -> Result<ClientPair, ClientBuildError> {
    let config = trust
        .https_config(extra_cas)
        .map_err(ClientBuildError::Tls)?;
    let build = |proxies: bool| {
        let mut builder = reqwest::Client::builder()
            // A redirect would carry the Authorization header (or the query key) to wherever
            // the service points; keyway reports a 3xx instead of following it.
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls(config.clone())
            .https_only(false) // plain http is gated per request by safety::check_scheme
            .connect_timeout(limits.connect_timeout)
            .user_agent(USER_AGENT);
        if backstop == Backstop::DeadlinePlusOne {
            builder = builder.timeout(limits.deadline + std::time::Duration::from_secs(1));
        }
        if !proxies {
            builder = builder.no_proxy();
        }
        builder.build().map_err(ClientBuildError::Http)
    };
    Ok(ClientPair {
        proxied: build(true)?,
        direct: build(false)?,
    })
}

/// Reads at most BODY_LIMIT bytes of a response body; a broken body reads as empty, since the
/// status already decided the verdict.
pub(crate) async fn read_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = BODY_LIMIT.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= BODY_LIMIT {
            break;
        }
    }
    body
}

/// At most this many characters of a detail are kept for the scrubber to check (a detail
/// shows 80; a secret that starts before this point is still recognised by its start).
const DETAIL_SOURCE_CHARS: usize = 1024;

/// A value picked from a JSON answer by a catalogue pointer, made fit for one table cell:
/// strings as they are, numbers and booleans printed, no control chars. It is cut to its
/// shown length only after the scrubber checked it whole (scrub.rs): a secret cut short is
/// harder to recognise.
pub(crate) fn detail_at(json: &serde_json::Value, pointer: Option<&str>) -> Option<String> {
    let value = json.pointer(pointer?)?;
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(DETAIL_SOURCE_CHARS)
        .collect();
    (!clean.trim().is_empty()).then_some(clean)
}

/// Why a token-endpoint request failed below the OAuth2 layer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("{0:?}")]
    Net(NetFailure),
    #[error("redirect")]
    Redirect(Option<String>),
    /// A non-200 status without an OAuth2 error body.
    #[error("HTTP {0}")]
    Status(StatusCode),
    #[error("the request could not be built")]
    Build,
    /// The credential's fields keep any request from being made (a `ca_cert` that is no CA);
    /// the sentence says why.
    #[error("{0}")]
    Unusable(String),
}

/// oauth2's view of our client. Statuses other than 200 pass through only when they carry a
/// JSON `error` (invalid_client, invalid_grant, authorization_pending...); everything else is
/// turned into a `TransportError` that still knows the status.
pub(crate) struct OAuthHttp<'a> {
    pub(crate) clients: &'a HttpClients,
    /// The credential's `ca_cert`, if it has one.
    pub(crate) ca_cert: Option<&'a str>,
}

impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|_| TransportError::Build)?;
            let url = request.url().clone();
            let client = self
                .clients
                .for_url(&url, self.ca_cert)
                .map_err(|f| TransportError::Unusable(f.reason))?;
            let response = client
                .execute(request)
                .await
                .map_err(|e| TransportError::Net(NetFailure::from_reqwest(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                let target = safety::location(response.headers())
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .map(|u: Url| safety::host_port(&u));
                return Err(TransportError::Redirect(target));
            }
            let headers = response.headers().clone();
            let body = read_body(response).await;
            if status != StatusCode::OK && !has_oauth_error(&body) {
                return Err(TransportError::Status(status));
            }
            let mut builder = oauth2::http::Response::builder().status(status);
            for (name, value) in headers.iter() {
                builder = builder.header(name, value);
            }
            builder.body(body).map_err(|_| TransportError::Build)
        })
    }
}

fn has_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").is_some_and(|e| e.is_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_short_single_line_text() {
        let json = serde_json::json!({"a": {"n": 42, "s": "acct\n_1", "o": {}}, "t": true});
        assert_eq!(detail_at(&json, Some("/a/n")).as_deref(), Some("42"));
        assert_eq!(detail_at(&json, Some("/a/s")).as_deref(), Some("acct_1"));
        assert_eq!(detail_at(&json, Some("/t")).as_deref(), Some("true"));
        assert_eq!(detail_at(&json, Some("/a/o")), None);
        assert_eq!(detail_at(&json, Some("/missing")), None);
        assert_eq!(detail_at(&json, None), None);
    }

    #[test]
    fn oauth_error_bodies_are_recognised() {
        assert!(has_oauth_error(br#"{"error":"invalid_grant"}"#));
        assert!(!has_oauth_error(b"<html>502</html>"));
        assert!(!has_oauth_error(br#"{"message":"no"}"#));
    }
}
