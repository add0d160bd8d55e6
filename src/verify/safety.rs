//! The rules every outgoing verification obeys, in one place so no verifier can forget one:
//! which URLs a secret may be sent to, how a redirect is reported, how transport failures become
//! sentences, and the last-line scrub that keeps secret values out of every reason.

use reqwest::header::{HeaderValue, LOCATION};
use url::Url;

use super::Finding;
use crate::core::schema::ALLOW_HTTP_FIELD;
use crate::core::transport::scheme_allowed;
use crate::core::Credential;

/// Whether the credential opted in to plain http on a non-loopback host.
pub(crate) fn allows_http(credential: &Credential) -> bool {
    credential
        .value(ALLOW_HTTP_FIELD)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
}

/// A required, non-empty field value, or the Misconfigured finding that names the field.
pub(crate) fn required<'c>(credential: &'c Credential, field: &str) -> Result<&'c str, Finding> {
    match credential.value(field).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Finding::misconfigured(format!(
            "The field '{field}' is empty, so the request cannot be built."
        ))),
    }
}

/// An optional field: absent and blank are the same thing.
pub(crate) fn optional<'c>(credential: &'c Credential, field: &str) -> Option<&'c str> {
    credential
        .value(field)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The `port` field as a TCP port, `default` when it is blank.
pub(crate) fn port(credential: &Credential, default: u16) -> Result<u16, Finding> {
    match optional(credential, "port") {
        None => Ok(default),
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            Finding::misconfigured(format!(
                "The field 'port' ('{p}') is not a port number (1-65535)."
            ))
        }),
    }
}

/// The `host` field: a host name or IP address, never a path (a driver would read one as a
/// Unix socket, which is not what a host field means).
pub(crate) fn host(credential: &Credential) -> Result<&str, Finding> {
    let host = required(credential, "host")?;
    if host.contains('/') {
        return Err(Finding::misconfigured(
            "The field 'host' must be a host name or IP address, not a path.".into(),
        ));
    }
    Ok(host)
}

/// Parses an endpoint URL from a field and applies the transport rules: https always; plain
/// http only to loopback (a local test server or tunnel) or when the credential explicitly
/// allows it; never credentials embedded in the URL itself. The raw value is not echoed back,
/// because a mistyped URL may contain a pasted secret.
pub(crate) fn checked_endpoint(raw: &str, field: &str, allow_http: bool) -> Result<Url, Finding> {
    let url = parsed_endpoint(raw, field)?;
    check_scheme(&url, field, allow_http)?;
    Ok(url)
}

/// The first half of `checked_endpoint`: an absolute URL with a host and no user info. What it
/// finds depends on `raw` alone, so its result may be kept (see endpoints.rs).
pub(crate) fn parsed_endpoint(raw: &str, field: &str) -> Result<Url, Finding> {
    let url = Url::parse(raw.trim()).map_err(|_| {
        Finding::misconfigured(format!(
            "The field '{field}' is not an absolute URL such as https://api.example.com."
        ))
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Finding::misconfigured(format!(
            "The field '{field}' has no host name."
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Finding::misconfigured(format!(
            "The field '{field}' must not contain a user name or password; use the credential's own fields."
        )));
    }
    Ok(url)
}

/// The second half: https always; plain http only to loopback or where the credential allows it.
pub(crate) fn check_scheme(url: &Url, field: &str, allow_http: bool) -> Result<(), Finding> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if scheme_allowed(url, allow_http) => Ok(()),
        "http" => Err(Finding::misconfigured(format!(
            "Refusing to send the secret over plain http to {}; use https, or set {ALLOW_HTTP_FIELD} = yes on a trusted network.",
            host_port(url)
        ))),
        other => Err(Finding::misconfigured(format!(
            "The field '{field}' uses the '{other}' scheme; only https (or http on loopback) is supported."
        ))),
    }
}

/// `host` or `host:port` as a person would type it (no path, no query: the query may hold a key).
pub(crate) fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Appends a catalogue path to a base URL, keeping the base's own path (GitHub Enterprise's
/// `https://host/api/v3` + `/user`), which `Url::join` would drop.
pub(crate) fn join_path(mut url: Url, path: &str) -> Url {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let joined = format!(
        "{}/{}",
        url.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(query);
    url.set_fragment(None);
    url
}

/// A 3xx answer. Following it would hand the secret to wherever the service points, so keyway
/// reports where it pointed instead. Misconfigured, because the usual fix is the base URL
/// (http→https, a moved API root).
pub(crate) fn redirect_finding(request_url: &Url, location: Option<&HeaderValue>) -> Finding {
    let target = location
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| request_url.join(loc).ok())
        .map(|u| host_port(&u))
        .unwrap_or_else(|| "another address".to_string());
    Finding::misconfigured(format!(
        "The service redirected to {target}; keyway does not follow redirects with a secret attached."
    ))
}

/// The Location header of a response, for `redirect_finding`.
pub(crate) fn location(headers: &reqwest::header::HeaderMap) -> Option<&HeaderValue> {
    headers.get(LOCATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(public: &[(&str, &str)], secrets: &[(&str, &str)]) -> Credential {
        Credential::with_fields(public, secrets)
    }

    #[test]
    fn plain_http_only_for_loopback_or_explicit_opt_in() {
        assert!(checked_endpoint("http://127.0.0.1:8080", "base_url", false).is_ok());
        assert!(checked_endpoint("http://localhost", "base_url", false).is_ok());
        assert!(checked_endpoint("http://[::1]:9/x", "base_url", false).is_ok());
        let refused = checked_endpoint("http://api.example.com", "base_url", false).unwrap_err();
        assert!(
            refused.reason.contains("api.example.com"),
            "{}",
            refused.reason
        );
        assert!(checked_endpoint("http://api.example.com", "base_url", true).is_ok());
        assert!(checked_endpoint("https://api.example.com", "base_url", false).is_ok());
        assert!(checked_endpoint("ftp://api.example.com", "base_url", true).is_err());
        assert!(checked_endpoint("https://u:p@api.example.com", "base_url", false).is_err());
        assert!(checked_endpoint("api.example.com", "base_url", false).is_err());
    }

    #[test]
    fn allow_http_reads_the_field() {
        assert!(allows_http(&credential(&[("allow_http", "yes")], &[])));
        assert!(!allows_http(&credential(&[("allow_http", "no")], &[])));
        assert!(!allows_http(&credential(&[], &[])));
    }

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("https://ghe.example.com/api/v3/").unwrap();
        assert_eq!(
            join_path(base.clone(), "/user").as_str(),
            "https://ghe.example.com/api/v3/user"
        );
        let base = Url::parse("https://api.example.com").unwrap();
        assert_eq!(
            join_path(base.clone(), "/v1/x?a=b").as_str(),
            "https://api.example.com/v1/x?a=b"
        );
    }

    #[test]
    fn redirect_names_only_the_target_host() {
        let from = Url::parse("http://127.0.0.1:1/v1?key=SECRET").unwrap();
        let loc = HeaderValue::from_static("http://127.0.0.1:2/steal?key=SECRET");
        let f = redirect_finding(&from, Some(&loc));
        assert!(f.reason.contains("127.0.0.1:2"), "{}", f.reason);
        assert!(!f.reason.contains("SECRET"));
    }
}
