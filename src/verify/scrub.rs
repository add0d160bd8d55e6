//! The last line of defence: whatever a verifier wrote or a server echoed, no form of a secret
//! the request carried leaves in a reason or a detail.
//!
//! The forms a secret can come back in: as sent (stored values are trimmed, but vaults written
//! before that rule may hold the whitespace a paste left, and the verifiers trim when sending),
//! in any case (a service that upper-cases what it echoes), cut short or cut into (a detail is
//! cut to 80 characters, a server may cut too, or echo a key without its `sk_live_` prefix: any
//! run of at least PREFIX characters of a secret, taken from anywhere in it, counts), percent-
//! or form-encoded (a query-string key), and base64-encoded alone or
//! inside a longer string (an `Authorization: Basic` header holds `user:password`): every run
//! of base64 characters long enough to hide PREFIX characters is decoded at each of its four
//! alignments and searched.
//!
//! A reason is keyway's own sentence and keeps its shape with the secret masked; a detail is
//! the service's words, so a detail holding any form of a secret is dropped whole: no detail
//! rather than a detail that may hold a secret.
//!
//! It runs on every outcome, and almost every text holds no secret: the common path allocates
//! nothing (a case-blind search for runs of each secret; the encodings only when the text has
//! a '%' or '+', the base64 decoding only for a long enough run). Very short values are
//! skipped: masking "a" would garble every sentence and reveal nothing.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::core::secret::MASK;
use crate::core::Credential;

/// Secrets shorter than this (trimmed) are not looked for.
const SHORTEST: usize = 4;
/// A run of at least this many characters of a secret, from anywhere in it, is a leak (or the
/// whole secret, if it is shorter).
const PREFIX: usize = 12;
/// A detail is cut to this many characters after it is checked, never before.
pub(crate) const DETAIL_CHARS: usize = 80;

/// Base64 of either alphabet, with or without padding, as decoded from inside a text.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// What a text is checked against: the credential's secret values, read in place.
pub(crate) struct Scrubber<'c> {
    credential: &'c Credential,
}

impl<'c> Scrubber<'c> {
    pub(crate) fn of(credential: &'c Credential) -> Scrubber<'c> {
        Scrubber { credential }
    }

    /// Every secret value worth looking for, trimmed.
    fn secrets(&self) -> impl Iterator<Item = &'c str> + 'c {
        let secrets = &self.credential.secrets;
        secrets
            .names()
            .filter_map(|name| secrets.expose(name))
            .map(str::trim)
            .flat_map(|v| {
                // A PEM value (a private key) is secret in its body, line by line; its armour
                // ("-----BEGIN OPENSSH PRIVATE KEY-----") is public words that keyway's own
                // sentences use ("did not accept the private key"), so it is not looked for.
                let armoured = v.starts_with("-----BEGIN ");
                v.split(move |c| armoured && c == '\n')
                    .map(str::trim)
                    .filter(move |line| !(armoured && line.starts_with("-----")))
            })
            .filter(|v| v.chars().count() >= SHORTEST)
    }

    /// `text` with every form of every secret masked. A text without any comes back as it was
    /// (no copy).
    pub(crate) fn reason(&self, text: String) -> String {
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
        if self.folded_elsewhere(&masked) {
            return "(hidden: the text held a secret value)".to_string();
        }
        masked
    }

    /// `text` if it holds no form of any secret, cut to DETAIL_CHARS; else nothing.
    pub(crate) fn detail(&self, text: String) -> Option<String> {
        if !self.spans(&text).is_empty() || self.folded_elsewhere(&text) {
            return None;
        }
        Some(match text.char_indices().nth(DETAIL_CHARS) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        })
    }

    /// The byte ranges of `text` that hold a secret, sorted and merged.
    fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        let encoded_chars = text.contains(['%', '+']);
        for secret in self.secrets() {
            runs_of(text, secret, &mut spans);
            if encoded_chars {
                let form: String =
                    url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                let percent = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
                for encoded in [form, percent] {
                    if encoded != secret {
                        runs_of(text, &encoded, &mut spans);
                    }
                }
            }
        }
        self.base64_runs(text, &mut spans);
        if spans.is_empty() {
            return spans;
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

    /// Runs of base64 characters that decode (at some alignment) to bytes holding a run of a
    /// secret.
    fn base64_runs(&self, text: &str, spans: &mut Vec<(usize, usize)>) {
        // The fewest base64 characters that encode PREFIX bytes: a run of a secret encoded
        // alone.
        let shortest_run = (PREFIX * 4).div_ceil(3);
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            if !is_base64_char(bytes[at]) {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && is_base64_char(bytes[at]) {
                at += 1;
            }
            if at - start >= shortest_run && self.run_holds_a_secret(&text[start..at]) {
                spans.push((start, at));
            }
        }
    }

    fn run_holds_a_secret(&self, run: &str) -> bool {
        let run = run.trim_end_matches('=');
        (0..4).any(|offset| {
            let aligned = &run[offset..];
            let aligned = &aligned[..aligned.len() - aligned.len() % 4];
            [&STANDARD, &URL_SAFE].iter().any(|engine| {
                let Ok(decoded) = engine.decode(aligned) else {
                    return false;
                };
                self.secrets().any(|secret| {
                    let mut found = false;
                    each_run(&decoded, secret, &mut |_, _| found = true);
                    found
                })
            })
        })
    }

    /// A secret with letters beyond ASCII, in another case than stored: its case-folded form
    /// may differ in length, so where it stands is not known and the whole text is hidden.
    fn folded_elsewhere(&self, text: &str) -> bool {
        let mut secrets = self.secrets().filter(|s| !s.is_ascii()).peekable();
        if secrets.peek().is_none() {
            return false;
        }
        let lower = text.to_lowercase();
        secrets.any(|secret| {
            let folded: Vec<char> = secret.to_lowercase().chars().collect();
            let run = PREFIX.min(folded.len());
            folded
                .windows(run)
                .any(|w| lower.contains(&w.iter().collect::<String>()))
        })
    }
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Pushes the span of every place where `text` holds a run of `form` (ASCII case-blind): at
/// least PREFIX characters of it (all of it if shorter), taken from anywhere in it, extended
/// as far as the two agree.
fn runs_of(text: &str, form: &str, spans: &mut Vec<(usize, usize)>) {
    each_run(text.as_bytes(), form, &mut |start, mut end| {
        // `start` is a character boundary (a run starts with a whole character of `form`);
        // the agreement may stop inside one.
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        spans.push((start, end));
    });
}

/// Calls `found(start, end)` for each place in `hay` holding a run of `form` (see `runs_of`),
/// left to right, each as long as it goes; the search goes on after its end. Allocates nothing:
/// it runs on every text, and almost every text holds no secret.
fn each_run(hay: &[u8], form: &str, found: &mut dyn FnMut(usize, usize)) {
    let needle = form.as_bytes();
    let run_chars = PREFIX.min(form.chars().count());
    if run_chars == 0 {
        return;
    }
    // Where a run may start in `form`: a character with run_chars characters from it on.
    let starts = form.chars().count() - run_chars + 1;
    let mut at = 0;
    while at < hay.len() {
        let mut longest = None;
        for (from, _) in form.char_indices().take(starts) {
            if !hay[at].eq_ignore_ascii_case(&needle[from]) {
                continue;
            }
            let run_end = form[from..]
                .char_indices()
                .nth(run_chars)
                .map_or(form.len(), |(len, _)| from + len);
            let run = &needle[from..run_end];
            if at + run.len() > hay.len() || !hay[at..at + run.len()].eq_ignore_ascii_case(run) {
                continue;
            }
            let agreeing = hay[at + run.len()..]
                .iter()
                .zip(&needle[run_end..])
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .count();
            let end = at + run.len() + agreeing;
            longest = Some(longest.map_or(end, |e: usize| e.max(end)));
        }
        match longest {
            Some(end) => {
                found(at, end);
                at = end.max(at + 1);
            }
            None => at += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(secrets: &[(&str, &str)]) -> Credential {
        Credential::with_fields(&[("base_url", "https://api.example.com")], secrets)
    }

    const KEY: &str = "sk_live_Ab12Cd34Ef56/Gh78+Ij90";

    #[test]
    fn a_private_keys_body_is_masked_but_not_its_armour_words() {
        let body = "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBT";
        let pem = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
        );
        let c = holding(&[("private_key", &pem)]);
        let s = Scrubber::of(&c);
        let sentence = "The server did not accept the private key for user 'files'.";
        assert_eq!(s.reason(sentence.to_string()), sentence);
        let out = s.reason(format!("it echoed {}", &body[10..40]));
        assert!(!out.contains(&body[10..40]), "{out}");
    }

    #[test]
    fn every_form_of_a_secret_is_masked_in_a_reason() {
        let c = holding(&[("api_key", &format!("  {KEY} \n"))]);
        let s = Scrubber::of(&c);
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
        let c = holding(&[("api_key", KEY), ("pin", "ab")]);
        let s = Scrubber::of(&c);
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
        // The same from anywhere in the key: the key without its `sk_live_` prefix, its end.
        assert!(s.detail(KEY[8..19].to_string()).is_some());
        assert!(s.detail(KEY[8..20].to_string()).is_none());
        assert!(s.detail(KEY[KEY.len() - 12..].to_string()).is_none());
        assert_eq!(
            s.reason(format!("key {} unknown", &KEY[8..])),
            format!("key {MASK} unknown")
        );
    }

    #[test]
    fn non_ascii_secrets_in_another_case_hide_the_whole_text() {
        let c = holding(&[("password", "pässwörd-Ünïcode")]);
        let s = Scrubber::of(&c);
        assert_eq!(
            s.reason("echo: PÄSSWÖRD-ÜNÏCODE".into()),
            "(hidden: the text held a secret value)"
        );
        assert_eq!(s.reason("echo: pässwörd-Ünïcode".into()), "echo: ********");
    }

    #[test]
    fn a_mask_is_never_a_secret_of_its_own() {
        let c = holding(&[("pin", "****")]);
        let s = Scrubber::of(&c);
        assert_eq!(s.reason("a **** b".into()), "a ******** b");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever a server wraps around a secret, the reason keeps none of it and the detail
        /// is dropped.
        #[test]
        fn a_secret_inside_any_text_never_survives(
            secret in "[!-~]{4,40}",
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            upper in proptest::bool::ANY,
        ) {
            // A secret of stars alone is what the mask itself is made of.
            proptest::prop_assume!(!secret.chars().all(|ch| ch == '*'));
            let c = holding(&[("api_key", &secret)]);
            let s = Scrubber::of(&c);
            let shown = if upper { secret.to_uppercase() } else { secret.clone() };
            let text = format!("{before}{shown}{after}");
            let out = s.reason(text.clone());
            proptest::prop_assert!(!out.contains(&shown), "{text:?} -> {out:?}");
            proptest::prop_assert_eq!(s.detail(text), None);
        }

        /// The same for any run of PREFIX characters or more, taken from anywhere in the
        /// secret (a server that drops a key's prefix, or echoes only its end), in any
        /// encoding the scrubber knows.
        #[test]
        fn a_run_from_anywhere_in_a_secret_never_survives(
            secret in "[!-~]{12,60}",
            from in 0usize..60,
            len in 12usize..60,
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            form in 0u8..3,
        ) {
            proptest::prop_assume!(!secret.chars().all(|ch| ch == '*'));
            let from = from % (secret.len() - 11);
            let run = &secret[from..(from + len).min(secret.len())];
            let shown = match form {
                0 => run.to_string(),
                1 => run.to_uppercase(),
                _ => base64::engine::general_purpose::STANDARD.encode(run),
            };
            let c = holding(&[("api_key", &secret)]);
            let s = Scrubber::of(&c);
            // Base64 is found as a token of its own (as in a header), not glued to the text.
            let text = if form == 2 {
                format!("{before} {shown} {after}")
            } else {
                format!("{before}{shown}{after}")
            };
            let out = s.reason(text.clone());
            proptest::prop_assert!(!out.contains(&shown), "{text:?} -> {out:?}");
            proptest::prop_assert_eq!(s.detail(text), None);
        }
    }
}
