//! The last line of defence: whatever a verifier wrote or a server echoed, no form of a secret
//! the request carried leaves in a reason or a detail.
//!
//! The forms a secret can come back in: as sent (stored values are trimmed, but vaults written
//! before that rule may hold the whitespace a paste left, and the verifiers trim when sending),
//! in any case (a service that upper-cases what it echoes), cut short (a detail is cut to 80
//! characters; a server may cut too: any run of at least PREFIX characters of a secret's start
//! counts), percent- or form-encoded (a query-string key), and base64-encoded alone or inside
//! a longer string (an `Authorization: Basic` header holds `user:password`; the base64 of the
//! part that is the secret's own is the same whatever stands before it, up to its offset modulo
//! three, so each of the three alignments is looked for).
//!
//! A reason is keyway's own sentence and keeps its shape with the secret masked; a detail is
//! the service's words, so a detail holding any form of a secret is dropped whole: no detail
//! rather than a detail that may hold a secret.
//!
//! Very short values are skipped: masking "a" would garble every sentence and reveal nothing.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::core::secret::MASK;
use crate::core::Credential;

/// Secrets shorter than this (trimmed) are not looked for.
const SHORTEST: usize = 4;
/// A run of at least this many characters of a secret's start is a leak (or the whole secret,
/// if it is shorter).
const PREFIX: usize = 12;
/// The base64 of a secret's middle shorter than this is not looked for (it would match text
/// that merely looks like base64).
const SHORTEST_BASE64: usize = 8;
/// A detail is cut to this many characters after it is checked, never before.
pub(crate) const DETAIL_CHARS: usize = 80;

/// What a text is checked against, made once per verification from the credential.
pub(crate) struct Scrubber {
    /// Lower-cased forms, matched case-insensitively from their start (see `PREFIX`).
    folded: Vec<String>,
    /// Base64 cores, matched exactly.
    exact: Vec<String>,
    /// Secrets with letters outside ASCII, lower-cased: their case-folded forms may change
    /// length, so a match redacts the whole text.
    unicode: Vec<String>,
}

impl Scrubber {
    pub(crate) fn of(credential: &Credential) -> Scrubber {
        let mut scrubber = Scrubber {
            folded: Vec::new(),
            exact: Vec::new(),
            unicode: Vec::new(),
        };
        for name in credential.secrets.names() {
            let Some(value) = credential.secrets.expose(name).map(str::trim) else {
                continue;
            };
            if value.chars().count() < SHORTEST {
                continue;
            }
            scrubber.add(value);
        }
        scrubber
    }

    fn add(&mut self, value: &str) {
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let percent = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
        for text in [value, &form, &percent] {
            let folded = text.to_ascii_lowercase();
            if !self.folded.contains(&folded) {
                self.folded.push(folded);
            }
        }
        if !value.is_ascii() {
            self.unicode.push(value.to_lowercase());
        }
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            for offset in 0..3 {
                let mut bytes = vec![0u8; offset];
                bytes.extend_from_slice(value.as_bytes());
                let encoded = engine.encode(&bytes);
                // Leave out the characters the bytes before it touch, and the last group,
                // which depends on what comes after it.
                let start = (offset * 4).div_ceil(3);
                let end = encoded.len().saturating_sub(4);
                if end >= start + SHORTEST_BASE64 {
                    let core = encoded[start..end].to_string();
                    if !self.exact.contains(&core) {
                        self.exact.push(core);
                    }
                }
            }
        }
    }

    /// Whether there is anything to look for at all.
    fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }

    /// `text` with every form of every secret masked. A text without any comes back as it was
    /// (no copy).
    pub(crate) fn reason(&self, text: String) -> String {
        if self.is_empty() {
            return text;
        }
        let spans = self.spans(&text);
        let masked = if spans.is_empty() {
            text
        } else {
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            for (start, end) in spans {
                out.push_str(&text[at..start]);
                out.push_str(MASK);
                at = end;
            }
            out.push_str(&text[at..]);
            out
        };
        if self.unicode_hit(&masked) {
            return "(hidden: the text held a secret value)".to_string();
        }
        masked
    }

    /// `text` if it holds no form of any secret, cut to DETAIL_CHARS; else nothing.
    pub(crate) fn detail(&self, text: String) -> Option<String> {
        if !self.is_empty() && (self.unicode_hit(&text) || !self.spans(&text).is_empty()) {
            return None;
        }
        Some(match text.char_indices().nth(DETAIL_CHARS) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        })
    }

    fn unicode_hit(&self, text: &str) -> bool {
        if self.unicode.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        self.unicode.iter().any(|secret| {
            let probe: String = secret.chars().take(PREFIX).collect();
            lower.contains(&probe)
        })
    }

    /// The byte ranges of `text` that hold a secret, sorted and merged.
    fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        // ASCII folding keeps every byte where it was, so positions in `lower` are positions
        // in `text`.
        let lower = text.to_ascii_lowercase();
        let mut spans = Vec::new();
        for form in &self.folded {
            let probe_len = form
                .char_indices()
                .nth(PREFIX)
                .map_or(form.len(), |(at, _)| at);
            let probe = &form[..probe_len];
            for (start, _) in lower.match_indices(probe) {
                // As far as the text goes on agreeing with the secret.
                let agreeing = lower.as_bytes()[start + probe_len..]
                    .iter()
                    .zip(&form.as_bytes()[probe_len..])
                    .take_while(|(a, b)| a == b)
                    .count();
                let mut end = start + probe_len + agreeing;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                spans.push((start, end));
            }
        }
        for core in &self.exact {
            spans.extend(
                text.match_indices(core.as_str())
                    .map(|(s, m)| (s, s + m.len())),
            );
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber(secrets: &[(&str, &str)]) -> Scrubber {
        Scrubber::of(&Credential::with_fields(
            &[("base_url", "https://api.example.com")],
            secrets,
        ))
    }

    const KEY: &str = "sk_live_Ab12Cd34Ef56/Gh78+Ij90";

    #[test]
    fn every_form_of_a_secret_is_masked_in_a_reason() {
        let s = scrubber(&[("api_key", &format!("  {KEY} \n"))]);
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let form: String = url::form_urlencoded::byte_serialize(KEY.as_bytes()).collect();
        for shown in [
            KEY.to_string(),
            KEY.to_uppercase(),
            format!("Bearer {KEY}"),
            KEY[..14].to_string(),
            b64(KEY),
            format!("Basic {}", b64(&format!("AC123:{KEY}"))),
            format!("Basic {}", b64(&format!("x:{KEY}"))),
            form.clone(),
            form.to_uppercase(),
            utf8_percent_encode(KEY, NON_ALPHANUMERIC).to_string(),
        ] {
            let out = s.reason(format!("the service said <{shown}> twice: <{shown}>"));
            assert!(out.starts_with("the service said <"), "{out}");
            assert!(!out.to_lowercase().contains("ab12cd34"), "{shown} -> {out}");
            assert!(!out.contains(&b64(KEY)[8..20]), "{shown} -> {out}");
            assert_eq!(out.matches(MASK).count(), 2, "{shown} -> {out}");
            assert_eq!(s.detail(shown.clone()), None, "{shown}");
        }
    }

    #[test]
    fn clean_text_is_left_alone_and_details_are_cut_after_the_check() {
        let s = scrubber(&[("api_key", KEY), ("pin", "ab")]);
        let text = "Loopback API accepted the key at https://api.example.com (ab).";
        assert_eq!(s.reason(text.to_string()), text);
        assert_eq!(s.reason(String::new()), "");
        let long = "é".repeat(200);
        assert_eq!(
            s.detail(long).map(|d| d.chars().count()),
            Some(DETAIL_CHARS)
        );
        // A secret past the cut still drops the detail.
        let late = format!("{}{KEY}", "x".repeat(100));
        assert_eq!(s.detail(late), None);
        // Eleven characters of the start are not yet a leak; twelve are.
        assert!(s.detail(KEY[..11].to_string()).is_some());
        assert!(s.detail(KEY[..12].to_string()).is_none());
    }

    #[test]
    fn non_ascii_secrets_in_another_case_hide_the_whole_text() {
        let s = scrubber(&[("password", "pässwörd-Ünïcode")]);
        assert_eq!(
            s.reason("echo: PÄSSWÖRD-ÜNÏCODE".into()),
            "(hidden: the text held a secret value)"
        );
        assert_eq!(s.reason("echo: pässwörd-Ünïcode".into()), "echo: ********");
    }

    #[test]
    fn a_mask_is_never_a_secret_of_its_own() {
        let s = scrubber(&[("pin", "****")]);
        assert_eq!(s.reason("a **** b".into()), "a ******** b");
    }
}
