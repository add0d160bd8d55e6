//! The name rule: what a workspace, credential, flow or environment may be called, and when
//! two names are one.

use unicode_normalization::UnicodeNormalization;

use super::text::is_hidden_or_control;

/// The longest name keyway accepts, in characters.
pub const NAME_MAX: usize = 64;

/// Names are what people type and scripts match: non-empty, trimmed, printable, bounded, and
/// shown as what they are: no character that is invisible or reorders the text around it
/// (`good\u{202E}dab` would show as "goodbad"), no space but the plain one.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let bad = |message: &str| Err(format!("{what} name {message}"));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.trim() != name {
        return bad("must not start or end with spaces");
    }
    if name.chars().count() > NAME_MAX {
        return bad(&format!("must be at most {NAME_MAX} characters"));
    }
    if name.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| is_hidden_or_control(*c) || (c.is_whitespace() && *c != ' '))
    {
        return bad(&format!(
            "must not contain invisible, direction-changing or special space characters (it holds U+{:04X})",
            c as u32
        ));
    }
    Ok(())
}

/// Whether two names are one: compared in Unicode's composed form (NFC), so "café" typed with
/// an accented é and with e + a combining accent is one name, as it looks.
///
/// Every save compares the new name with each name of its workspace, so the usual case is kept
/// cheap: two names already in composed form (every ASCII name is) are one only if they are
/// equal byte for byte, and neither is normalized. Normalizing every name of a 10,000-credential
/// workspace took most of a team-vault save's time (BENCHMARKS.md, team vault).
pub fn same_name(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if is_composed(a) && is_composed(b) {
        return false;
    }
    a.nfc().eq(b.nfc())
}

/// Whether `name` is certainly in NFC already (the quick check's "maybe" counts as no).
fn is_composed(name: &str) -> bool {
    name.is_ascii()
        || unicode_normalization::is_nfc_quick(name.chars())
            == unicode_normalization::IsNormalized::Yes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn composed_and_decomposed_spellings_are_one_name() {
        assert!(same_name("caf\u{e9}", "cafe\u{301}"));
        assert!(same_name("cafe\u{301}", "caf\u{e9}"));
        assert!(!same_name("caf\u{e9}", "cafe"));
        assert!(!same_name("prod", "Prod"));
        assert!(same_name("prod", "prod"));
    }

    proptest! {
        /// The quick path gives the answer full normalization gives, on names mixing ASCII,
        /// precomposed letters and combining marks.
        #[test]
        fn the_quick_path_agrees_with_normalizing(
            a in "[a-e\u{e9}\u{301}\u{308}\u{1e15}\u{ac00}\u{1100}\u{1161} ]{0,6}",
            b in "[a-e\u{e9}\u{301}\u{308}\u{1e15}\u{ac00}\u{1100}\u{1161} ]{0,6}",
        ) {
            prop_assert_eq!(same_name(&a, &b), a.nfc().eq(b.nfc()));
        }
    }
}
