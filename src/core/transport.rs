//! The transport rule for every URL a secret is sent to: https always; plain http only to
//! loopback (a local test server or tunnel: nothing crosses the wire) or where the credential
//! explicitly allows it (`allow_http = yes`, for trusted networks). Field validation refuses a
//! value that breaks it before anything is saved; the verifiers apply it again before sending.

use std::net::IpAddr;

use url::{Host, Url};

/// Loopback hosts never leave the machine, so plain http to them exposes nothing on the wire.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
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
}
