//! Why a request failed below HTTP (DNS, connect, TLS, the proxy), classified from the error's
//! source chain into sentences a person can act on, and the verdict each amounts to.

use std::error::Error as StdError;

use super::tls::CertificateProblem;
use super::Finding;
use crate::core::Status;

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

    #[test]
    fn alerts_read_as_their_rfc_names() {
        use rustls::AlertDescription as A;
        assert_eq!(alert_name(A::UnknownCA), "unknown_ca");
        assert_eq!(alert_name(A::CertificateRequired), "certificate_required");
        assert_eq!(alert_name(A::BadCertificate), "bad_certificate");
    }
}
