//! The rules every outgoing verification obeys, in one place so no verifier can forget one:
//! which URLs a secret may be sent to, how a redirect is reported, how transport failures become
//! sentences, and the last-line scrub that keeps secret values out of every reason.

use std::error::Error as StdError;

use reqwest::header::{HeaderValue, LOCATION};
use url::Url;

use super::tls::CertificateProblem;
use super::Finding;
use crate::catalog::ALLOW_HTTP_FIELD;
use crate::core::transport::scheme_allowed;
use crate::core::{Credential, Status};

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

/// What went wrong below HTTP, classified from the error's source chain. The chain itself is
/// never shown: reqwest's top-level Display includes the URL, which may carry a query-string key.
#[derive(Debug, Clone)]
pub(crate) enum NetFailure {
    /// No connection within the connect timeout.
    Timeout,
    /// Connected, but the answer did not come in time.
    SlowAnswer,
    Refused,
    Dns,
    /// The TLS handshake failed for another reason than the server's certificate; the alert
    /// the server sent, if it sent one.
    Tls(Option<rustls::AlertDescription>),
    /// The server's certificate failed keyway's check, with what it says about itself when
    /// keyway's own check refused it (see verify/tls/explain.rs).
    Certificate(Option<Box<CertificateProblem>>),
    /// The proxy from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY did not open the tunnel.
    Proxy(ProxyFailure),
    Reset,
    Other,
}

/// How a proxy failed, from hyper-util's tunnel errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyFailure {
    /// The proxy could not be reached.
    Unreachable,
    /// The proxy wants a login (407).
    NeedsLogin,
    /// The proxy answered the CONNECT with something other than 200.
    Refused,
    Other,
}

impl NetFailure {
    pub(crate) fn from_reqwest(e: &reqwest::Error) -> NetFailure {
        if e.is_timeout() {
            return if e.is_connect() {
                NetFailure::Timeout
            } else {
                NetFailure::SlowAnswer
            };
        }
        NetFailure::from_chain(e)
    }

    /// Walks the source chain, looking inside io::Errors too: an io::Error's `source()` skips
    /// the error it wraps, which is exactly where rustls puts its certificate verdict (under
    /// two io::Errors when reqwest made the connection).
    pub(crate) fn from_chain(top: &(dyn StdError + 'static)) -> NetFailure {
        let mut found = NetFailure::Other;
        let mut current: Option<&(dyn StdError + 'static)> = Some(top);
        while let Some(err) = current {
            let mut candidates = vec![err];
            while let Some(inner) = candidates
                .last()
                .and_then(|e| e.downcast_ref::<std::io::Error>())
                .and_then(|io| io.get_ref())
                .filter(|_| candidates.len() < 4)
            {
                candidates.push(inner as &(dyn StdError + 'static));
            }
            for candidate in candidates {
                if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                    return NetFailure::from_rustls(tls);
                }
                // Fixed wording of hyper-util's TunnelError, which is not exported; it never
                // contains the request.
                let text = candidate.to_string();
                if let Some(kind) = text.strip_prefix("tunnel error: ") {
                    return NetFailure::Proxy(match kind {
                        "failed to create underlying connection" => ProxyFailure::Unreachable,
                        "proxy authorization required" => ProxyFailure::NeedsLogin,
                        "unsuccessful" => ProxyFailure::Refused,
                        _ => ProxyFailure::Other,
                    });
                }
                if let Some(io) = candidate.downcast_ref::<std::io::Error>() {
                    match io.kind() {
                        std::io::ErrorKind::ConnectionRefused => found = NetFailure::Refused,
                        std::io::ErrorKind::TimedOut => found = NetFailure::Timeout,
                        std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::BrokenPipe
                            if matches!(found, NetFailure::Other) =>
                        {
                            found = NetFailure::Reset
                        }
                        _ => {}
                    }
                }
                // Resolver failures have no typed error of their own; their text is fixed
                // wording from hyper-util / the libc resolver and never contains the request.
                if matches!(found, NetFailure::Other)
                    && (text.contains("dns error")
                        || text.contains("failed to lookup address")
                        || text.contains("Name or service not known"))
                {
                    found = NetFailure::Dns;
                }
            }
            current = err.source();
        }
        found
    }

    fn from_rustls(error: &rustls::Error) -> NetFailure {
        match error {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
                let problem = (*other.0).downcast_ref::<CertificateProblem>();
                NetFailure::Certificate(problem.cloned().map(Box::new))
            }
            rustls::Error::InvalidCertificate(_) => NetFailure::Certificate(None),
            rustls::Error::AlertReceived(alert) => NetFailure::Tls(Some(*alert)),
            _ => NetFailure::Tls(None),
        }
    }

    /// The verdict: a certificate keyway refused is the credential's (or the server's)
    /// configuration, not a passing network problem, so saving it unverified is not offered.
    pub(crate) fn status(&self) -> Status {
        match self {
            NetFailure::Certificate(_) => Status::Misconfigured,
            _ => Status::Unreachable,
        }
    }

    /// The finding for a request to `where_` that failed this way.
    pub(crate) fn finding(&self, where_: &str, connect_timeout_secs: u64) -> Finding {
        Finding::with(self.status(), self.sentence(where_, connect_timeout_secs))
    }

    /// One sentence for `where_` ("api.stripe.com", "db.example.com:5432").
    pub(crate) fn sentence(&self, where_: &str, connect_timeout_secs: u64) -> String {
        match self {
            NetFailure::Timeout => format!(
                "{where_} did not answer in time (connect timeout {connect_timeout_secs} s)."
            ),
            NetFailure::SlowAnswer => {
                format!("{where_} accepted the connection but did not answer in time.")
            }
            NetFailure::Refused => format!("{where_} refused the connection."),
            NetFailure::Dns => format!("The host name of {where_} could not be resolved."),
            NetFailure::Certificate(Some(problem)) => problem.sentence(where_),
            NetFailure::Certificate(None) => format!(
                "TLS to {where_} failed: the server's certificate could not be verified. Nothing was sent."
            ),
            NetFailure::Tls(Some(alert)) => format!(
                "The TLS handshake with {where_} failed: the server sent the alert {}.",
                alert_name(*alert)
            ),
            NetFailure::Tls(None) => format!("The TLS handshake with {where_} failed."),
            NetFailure::Proxy(kind) => {
                let what = match kind {
                    ProxyFailure::Unreachable => "could not be reached",
                    ProxyFailure::NeedsLogin => {
                        "asks for a login (give it in the proxy URL: http://user:password@host:port)"
                    }
                    ProxyFailure::Refused => "refused to open a tunnel",
                    ProxyFailure::Other => "failed while opening a tunnel",
                };
                format!(
                    "The proxy for {where_} (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) {what}; NO_PROXY lists hosts to reach directly."
                )
            }
            NetFailure::Reset => format!("{where_} closed the connection unexpectedly."),
            NetFailure::Other => format!("Could not complete the request to {where_}."),
        }
    }
}

/// A TLS alert as its RFC 8446 name ("certificate_required", "unknown_ca"), from rustls's
/// Debug name ("CertificateRequired", "UnknownCA").
pub(crate) fn alert_name(alert: rustls::AlertDescription) -> String {
    let debug = format!("{alert:?}");
    let mut name = String::with_capacity(debug.len() + 4);
    let mut previous_lower = false;
    for c in debug.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            name.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        name.push(c.to_ascii_lowercase());
    }
    name
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
    fn alerts_read_as_their_rfc_names() {
        use rustls::AlertDescription as A;
        assert_eq!(alert_name(A::UnknownCA), "unknown_ca");
        assert_eq!(alert_name(A::CertificateRequired), "certificate_required");
        assert_eq!(alert_name(A::BadCertificate), "bad_certificate");
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
