//! The one HTTP stack keyway verifies with: reqwest clients that never follow redirects, and
//! the adapter that lets oauth2 5 use them while keeping the HTTP status of failed token requests
//! (oauth2 itself reduces a 503 or a redirect to an unparsable body).

use std::future::Future;
use std::pin::Pin;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};
use reqwest::StatusCode;
use url::Url;

use super::safety::{self, NetFailure};
use super::Limits;

/// Sent on every request; GitHub refuses requests without a User-Agent.
pub(crate) const USER_AGENT: &str = concat!("keyway/", env!("CARGO_PKG_VERSION"));

/// Verification answers are small; a larger body is cut here so a hostile or broken endpoint
/// cannot make keyway buffer gigabytes.
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("the HTTP client could not be built: {0}")]
pub(crate) struct ClientBuildError(#[source] reqwest::Error);

/// The client for the login flows, which run outside `Verifier::verify` and its deadline.
pub(crate) fn http_client(limits: Limits) -> Result<reqwest::Client, ClientBuildError> {
    builder(limits)
        // A backstop for requests outside `Verifier::verify` (login flows). It runs a second
        // past the verification deadline, like the deadline it stands in for.
        .timeout(limits.deadline + std::time::Duration::from_secs(1))
        .build()
        .map_err(ClientBuildError)
}

/// The client `Verifier::verify` uses. Same as `http_client` without the backstop: every
/// request it sends runs inside the verification deadline, which fires a second before the
/// backstop would, so there the backstop never decided anything, yet it cost each request two
/// timers (one for the answer, one for the body) and a boxed sleep.
pub(crate) fn verification_client(limits: Limits) -> Result<reqwest::Client, ClientBuildError> {
    builder(limits).build().map_err(ClientBuildError)
}

fn builder(limits: Limits) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // A redirect would carry the Authorization header (or the query key) to wherever the
        // service points; keyway reports a 3xx instead of following it.
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .https_only(false) // plain http is gated per request by safety::check_scheme
        .connect_timeout(limits.connect_timeout)
        .user_agent(USER_AGENT)
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

/// A value picked from a JSON answer by a catalogue pointer, made fit for one table cell:
/// strings as they are, numbers and booleans printed, at most 80 characters, no control chars.
pub(crate) fn detail_at(json: &serde_json::Value, pointer: Option<&str>) -> Option<String> {
    let value = json.pointer(pointer?)?;
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let clean: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
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
}

/// oauth2's view of our client. Statuses other than 200 pass through only when they carry a
/// JSON `error` (invalid_client, invalid_grant, authorization_pending...); everything else is
/// turned into a `TransportError` that still knows the status.
pub(crate) struct OAuthHttp<'a>(pub(crate) &'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|_| TransportError::Build)?;
            let url = request.url().clone();
            let response = self
                .0
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
