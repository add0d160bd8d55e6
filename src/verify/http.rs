//! API-key verification: the one request a component's catalogue entry describes, with the key
//! where the service expects it, judged by the status (and Slack-style `"ok": false` bodies).

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use url::Url;

use super::endpoints::Endpoints;
use super::failure::NetFailure;
use super::safety;
use super::transport::{detail_at, read_body, HttpClients};
use super::{Finding, Limits};
use crate::core::schema::{Component, KeyPlacement, VerifySpec, CA_CERT_FIELD};
use crate::core::{Credential, TlsState};

pub(crate) async fn verify_api_key(
    clients: &HttpClients,
    endpoints: &Endpoints,
    limits: Limits,
    component: &Component,
    credential: &Credential,
) -> Finding {
    match build_and_send(clients, endpoints, limits, component, credential).await {
        Ok(finding) | Err(finding) => finding,
    }
}

/// How a request to `url` is protected: https is always checked (chain and host name).
pub(crate) fn tls_of(url: &Url) -> TlsState {
    if url.scheme() == "https" {
        TlsState::Verified
    } else {
        TlsState::None
    }
}

async fn build_and_send(
    clients: &HttpClients,
    endpoints: &Endpoints,
    limits: Limits,
    component: &Component,
    credential: &Credential,
) -> Result<Finding, Finding> {
    let VerifySpec::Http {
        method,
        path,
        auth,
        ok_status,
        detail_pointer,
    } = &component.verify
    else {
        return Err(Finding::misconfigured(format!(
            "{} is not verified over HTTP.",
            component.name
        )));
    };
    let endpoint = endpoints.for_credential(credential, path)?;
    // The request's own copy; only a query-string key (below) makes it differ from `endpoint`,
    // which the verdict and error sentences use (they name the host, never the query).
    let mut url = Url::clone(&endpoint);
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
        Finding::misconfigured(format!(
            "The component's verify method '{method}' is not an HTTP method."
        ))
    })?;

    // The key goes straight into the request's own header map: the request starts with no
    // headers, so this is what building a separate map and `.headers()` did, minus a map.
    let mut header: Option<(HeaderName, HeaderValue)> = None;
    let mut basic: Option<(String, String)> = None;
    match auth {
        KeyPlacement::Bearer => {
            let key = safety::required(credential, "api_key")?;
            header = Some((
                AUTHORIZATION,
                secret_header(format!("Bearer {key}"), "api_key")?,
            ));
        }
        KeyPlacement::Header { name, prefix } => {
            let key = safety::required(credential, "api_key")?;
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Finding::misconfigured(format!(
                    "The component's header name '{name}' is not a valid HTTP header name."
                ))
            })?;
            let value = match prefix.as_deref() {
                None | Some("") => key.to_string(),
                Some(p) => format!("{}{key}", prefix_with_separator(p)),
            };
            header = Some((name, secret_header(value, "api_key")?));
        }
        KeyPlacement::Basic {
            username_field,
            username,
            password_field,
        } => {
            let user = match (username_field, username) {
                (Some(field), _) => safety::required(credential, field)?.to_string(),
                (None, Some(fixed)) => fixed.clone(),
                (None, None) => String::new(),
            };
            let password = safety::required(credential, password_field)?;
            basic = Some((user, password.to_string()));
        }
        KeyPlacement::Query { param } => {
            let key = safety::required(credential, "api_key")?;
            // query_pairs_mut percent-encodes the key, so '&', '=' or '+' in it cannot break
            // (or inject into) the query string.
            url.query_pairs_mut().append_pair(param, key);
        }
    }

    let client = clients.for_url(&endpoint, safety::optional(credential, CA_CERT_FIELD))?;
    let mut request = client.request(method, url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    // host_port is formatted only when a failure needs it, not on every request.
    let response = request.send().await.map_err(|e| {
        NetFailure::from_reqwest(&e).finding(
            &safety::host_port(&endpoint),
            limits.connect_timeout.as_secs(),
        )
    })?;
    Ok(judge(
        response,
        &endpoint,
        &component.name,
        "key",
        ok_status,
        detail_pointer.as_deref(),
    )
    .await
    .over(tls_of(&endpoint)))
}

/// "Token" → "Token <key>", "Token token=" → "Token token=<key>", "Bearer " → "Bearer <key>":
/// a prefix that does not end in '=' or a space gets one space, as people write it.
fn prefix_with_separator(prefix: &str) -> String {
    if prefix.ends_with('=') || prefix.ends_with(' ') {
        prefix.to_string()
    } else {
        format!("{prefix} ")
    }
}

/// A header value marked sensitive (so hyper never logs it and HTTP/2 never indexes it). It
/// takes the String's buffer instead of copying it (HeaderValue::from_str copies; the byte
/// check is the same either way).
pub(crate) fn secret_header(value: String, field: &str) -> Result<HeaderValue, Finding> {
    let mut v = HeaderValue::try_from(value).map_err(|_| {
        Finding::misconfigured(format!(
            "The field '{field}' contains characters that cannot be sent in an HTTP header."
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The verdict on an answer: `ok_status` verified (unless the body says `"ok": false`),
/// 3xx reported as a refused redirect, 401/403 rejected, 429 and 5xx unreachable (try later),
/// anything else rejected with the status named.
pub(crate) async fn judge(
    response: reqwest::Response,
    url: &Url,
    service: &str,
    what: &str,
    ok_status: &[u16],
    detail_pointer: Option<&str>,
) -> Finding {
    let status = response.status();
    if status.is_redirection() {
        return safety::redirect_finding(url, safety::location(response.headers()));
    }
    if ok_status.contains(&status.as_u16()) {
        let body = read_body(response).await;
        // Parsing the body into a Value is most of the cost of judging a success. It is needed
        // only for a detail pointer or for `"ok": false`, and a JSON false can only be written
        // as the literal `false` (no escape spells it), so a body without those five bytes
        // cannot carry it; the `ok` rule still applies to every body that could.
        let json = if detail_pointer.is_some() || contains_false(&body) {
            serde_json::from_slice::<serde_json::Value>(&body).ok()
        } else {
            None
        };
        if let Some(json) = &json {
            // Slack (and a few others) answer 200 for a bad token and say so in the body.
            if json.get("ok").and_then(serde_json::Value::as_bool) == Some(false) {
                let code = json
                    .get("error")
                    .and_then(serde_json::Value::as_str)
                    .filter(|c| {
                        c.len() <= 40 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    })
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                return Finding::rejected(format!(
                    "{service} answered but reported the {what} as not valid{code}."
                ));
            }
        }
        let detail = json.as_ref().and_then(|j| detail_at(j, detail_pointer));
        // The success sentence is built by hand: it is written for nearly every outcome, and
        // `format!` costs several times as much as three pushes into a right-sized String.
        let mut reason = String::with_capacity(service.len() + what.len() + 15);
        reason.push_str(service);
        reason.push_str(" accepted the ");
        reason.push_str(what);
        reason.push('.');
        return Finding::verified(reason, detail);
    }
    let code = describe(status);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Finding::rejected(format!("{service} rejected the {what} ({code})."))
        }
        StatusCode::TOO_MANY_REQUESTS => Finding::unreachable(format!(
            "{service} is rate-limiting requests ({code}); try again later."
        )),
        s if s.is_server_error() => Finding::unreachable(format!(
            "{service} answered with a server error ({code}); try again later."
        )),
        _ => Finding::rejected(format!(
            "{service} did not accept the {what}: it answered {code}."
        )),
    }
}

/// Whether `body` contains the JSON literal `false` anywhere (a cheap, exact pre-check).
fn contains_false(body: &[u8]) -> bool {
    // `<[u8]>::contains` on one byte is a word-at-a-time memchr; most bodies have few 'f's.
    if !body.contains(&b'f') {
        return false;
    }
    body.windows(5).any(|w| w == b"false")
}

fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("HTTP {} {r}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_get_a_space_unless_they_end_in_one_or_in_equals() {
        assert_eq!(prefix_with_separator("Token"), "Token ");
        assert_eq!(prefix_with_separator("Token token="), "Token token=");
        assert_eq!(prefix_with_separator("Bearer "), "Bearer ");
    }

    async fn judged(body: &'static str, pointer: Option<&str>) -> Finding {
        let response = oauth2::http::Response::builder()
            .status(200)
            .body(body)
            .expect("response");
        let url = Url::parse("http://127.0.0.1:1/v1/me").expect("url");
        judge(response.into(), &url, "Svc", "key", &[200], pointer).await
    }

    #[tokio::test]
    async fn ok_false_rejects_with_or_without_a_detail_pointer() {
        for pointer in [None, Some("/team")] {
            let f = judged(r#"{"ok": false, "error": "invalid_auth"}"#, pointer).await;
            assert_eq!(f.status, crate::core::Status::Rejected, "{pointer:?}");
            assert_eq!(
                f.reason,
                "Svc answered but reported the key as not valid (invalid_auth)."
            );
            let f = judged(r#"{"error":"x y","ok":false}"#, pointer).await;
            assert_eq!(f.reason, "Svc answered but reported the key as not valid.");
        }
    }

    #[tokio::test]
    async fn bodies_that_cannot_say_ok_false_are_verified() {
        for body in [
            r#"{"ok": true, "team": "Acme"}"#,
            r#"{"account": {"id": "acct_42"}}"#,
            r#"{"ok": "false"}"#,
            r#"{"flags": [false], "ok": true}"#,
            "<html>ok: false</html>",
            r#"[{"ok": false}]"#,
            "",
        ] {
            let f = judged(body, None).await;
            assert_eq!(f.status, crate::core::Status::Verified, "{body}");
            assert_eq!(f.reason, "Svc accepted the key.");
            assert_eq!(f.detail, None);
        }
        let f = judged(r#"{"ok": true, "team": "Acme"}"#, Some("/team")).await;
        assert_eq!(f.detail.as_deref(), Some("Acme"));
    }

    #[test]
    fn the_false_literal_is_found_anywhere() {
        assert!(contains_false(b"false"));
        assert!(contains_false(br#"{"ok":false}"#));
        assert!(!contains_false(b"fals"));
        assert!(!contains_false(br#"{"ok":true,"f":"fa lse"}"#));
        assert!(!contains_false(b""));
    }

    #[test]
    fn header_values_with_newlines_are_misconfigured_without_echo() {
        let f = secret_header("abc\r\nX-Evil: 1".into(), "api_key").unwrap_err();
        assert!(f.reason.contains("api_key"));
        assert!(!f.reason.contains("Evil"));
    }
}
