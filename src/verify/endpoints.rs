//! Verification endpoints, parsed once. An audit verifies many credentials of one service, and
//! they share a base URL (every Stripe key goes to https://api.stripe.com). Parsing and checking
//! that URL and appending the catalogue path on every request was most of the work keyway added
//! to a request: `Url::parse` alone was about 6,500 of 8,300 instructions (callgrind; see
//! BENCHMARKS.md, "Audit"). The cache keeps the joined URL by the base URL as typed and the
//! path; the scheme rule, which also depends on the credential, is applied on every use.

use std::sync::{Arc, Mutex, MutexGuard};

// foldhash rather than SipHash: the keys are the vault's own base URLs, looked up per request.
use foldhash::HashMap;
use url::Url;

use super::safety;
use super::Finding;
use crate::core::Credential;

/// More distinct base URLs than this and the cache starts over: a bound on its memory far above
/// the number of services one vault talks to. Likewise for the paths seen with one base URL.
const BASES: usize = 1024;
const PATHS_PER_BASE: usize = 16;

/// Base URL as typed -> (catalogue path, joined URL) for each path used with it.
type Joined = HashMap<String, Vec<(String, Arc<Url>)>>;

/// Endpoints already parsed, checked and joined; shared by every verification of a Verifier.
#[derive(Default)]
pub(crate) struct Endpoints {
    joined: Mutex<Joined>,
}

impl Endpoints {
    /// `path` on the endpoint a credential's field `field` holds (`raw`), with the transport
    /// rules applied: what `safety::checked_endpoint` and then `safety::join_path` give, with the
    /// same errors, parsed only the first time.
    fn endpoint(
        &self,
        raw: &str,
        field: &str,
        path: &str,
        allow_http: bool,
    ) -> Result<Arc<Url>, Finding> {
        let url = match self.cached(raw, path) {
            Some(url) => url,
            None => {
                let base = safety::parsed_endpoint(raw, field)?;
                let url = Arc::new(safety::join_path(base, path));
                self.keep(raw, path, &url);
                url
            }
        };
        // Joining a path keeps the scheme and host, which are all this rule looks at.
        safety::check_scheme(&url, field, allow_http)?;
        Ok(url)
    }

    /// `path` on the credential's own base URL (its `base_url` field), by the same rules.
    pub(crate) fn for_credential(
        &self,
        credential: &Credential,
        path: &str,
    ) -> Result<Arc<Url>, Finding> {
        let base = safety::required(credential, "base_url")?;
        self.endpoint(base, "base_url", path, safety::allows_http(credential))
    }

    /// The map. Every critical section is one lookup or one insert, so a panic elsewhere
    /// while it was held cannot leave it inconsistent and a poisoned lock is safe to use.
    fn map(&self) -> MutexGuard<'_, Joined> {
        self.joined
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, raw: &str, path: &str) -> Option<Arc<Url>> {
        let map = self.map();
        let (_, url) = map.get(raw)?.iter().find(|(p, _)| p == path)?;
        Some(url.clone())
    }

    fn keep(&self, raw: &str, path: &str, url: &Arc<Url>) {
        let mut map = self.map();
        if map.len() >= BASES && !map.contains_key(raw) {
            map.clear();
        }
        let paths = map.entry(raw.to_string()).or_default();
        if paths.iter().any(|(p, _)| p == path) {
            return; // another verification got here first
        }
        if paths.len() >= PATHS_PER_BASE {
            paths.clear();
        }
        paths.push((path.to_string(), url.clone()));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Status;

    #[test]
    fn cached_endpoints_match_a_fresh_parse_and_keep_every_check() {
        let endpoints = Endpoints::default();
        for _ in 0..2 {
            let url = endpoints
                .endpoint(
                    " https://ghe.example.com/api/v3/ ",
                    "base_url",
                    "/user",
                    false,
                )
                .unwrap();
            let fresh = safety::join_path(
                safety::checked_endpoint("https://ghe.example.com/api/v3/", "base_url", false)
                    .unwrap(),
                "/user",
            );
            assert_eq!(*url, fresh);
        }
        assert_eq!(endpoints.len(), 1);

        // The scheme rule depends on the credential, so a cached URL is checked on every use.
        let raw = "http://api.example.com";
        assert!(endpoints.endpoint(raw, "base_url", "/v1/me", true).is_ok());
        let refused = endpoints
            .endpoint(raw, "base_url", "/v1/me", false)
            .unwrap_err();
        assert_eq!(refused.status, Status::Misconfigured);
        assert_eq!(
            refused.reason,
            safety::checked_endpoint(raw, "base_url", false)
                .unwrap_err()
                .reason
        );

        // What cannot be parsed is refused with the same sentence, and never kept.
        for bad in [
            "api.example.com",
            "https://u:p@api.example.com",
            "ftp://x.example",
        ] {
            let cached = endpoints.endpoint(bad, "base_url", "/", false).unwrap_err();
            let fresh = safety::checked_endpoint(bad, "base_url", false).unwrap_err();
            assert_eq!(cached.reason, fresh.reason, "{bad}");
        }
        assert_eq!(
            endpoints.len(),
            3,
            "the ftp URL parses; its scheme is refused per use"
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let endpoints = Endpoints::default();
        for i in 0..BASES + 10 {
            let raw = format!("https://h{i}.example.com");
            endpoints.endpoint(&raw, "base_url", "/", false).unwrap();
        }
        assert!(endpoints.len() <= BASES);
        for i in 0..PATHS_PER_BASE + 3 {
            let path = format!("/p{i}");
            endpoints
                .endpoint("https://one.example.com", "base_url", &path, false)
                .unwrap();
        }
        let paths = endpoints.map()["https://one.example.com"].len();
        assert!(paths <= PATHS_PER_BASE, "{paths}");
    }
}
