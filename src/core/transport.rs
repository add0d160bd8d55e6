//! The transport rule for every URL a secret is sent to: https always; plain http only to
//! loopback (a local test server or tunnel: nothing crosses the wire) or where the credential
//! explicitly allows it (`allow_http = yes`, for trusted networks). Field validation refuses a
//! value that breaks it before anything is saved; the verifiers apply it again before sending.

use std::net::IpAddr;

use url::{Host, Url};

/// Loopback hosts never leave the machine, so plain http to them exposes nothing on the wire,
/// and no proxy is ever asked to reach them.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => is_loopback_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_loopback_ip(IpAddr::V6(ip)),
        Some(Host::Domain(d)) => is_loopback_name(d),
        None => false,
    }
}

/// The same rule for a host field ("127.0.0.1", "::1", "[::1]", "localhost"): where a database
/// credential may use `sslmode = disable`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_loopback_ip(ip),
        Err(_) => is_loopback_name(bare),
    }
}

/// 127.0.0.0/8 and ::1, also written as an IPv4-mapped IPv6 address (::ffff:127.0.0.1).
fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// "localhost" always means this machine (RFC 6761), whatever DNS says; other names may not.
fn is_loopback_name(name: &str) -> bool {
    name.trim_end_matches('.').eq_ignore_ascii_case("localhost")
}

/// Whether `url`'s scheme may carry a secret: https, or http to loopback or when allowed.
pub fn scheme_allowed(url: &Url, allow_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_http || is_loopback(url),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_stays_on_the_machine_unless_allowed() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(scheme_allowed(&url("https://api.example.com"), false));
        assert!(scheme_allowed(&url("http://127.0.0.1:8080"), false));
        assert!(scheme_allowed(&url("http://[::1]:8080"), false));
        assert!(scheme_allowed(&url("http://localhost"), false));
        assert!(!scheme_allowed(&url("http://api.example.com"), false));
        assert!(scheme_allowed(&url("http://api.example.com"), true));
        assert!(!scheme_allowed(&url("ftp://api.example.com"), true));
    }

    #[test]
    fn loopback_is_the_same_for_urls_and_host_fields() {
        for host in [
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST.",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "10.0.0.5",
            "db.internal",
            "localhost.example.com",
            "::ffff:10.0.0.1",
            "0.0.0.0",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        for url in [
            "http://127.0.0.1:9",
            "http://[::1]/",
            "http://localhost./x",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        assert!(!is_loopback(&Url::parse("http://10.0.0.5").unwrap()));
    }
}
