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
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.nfc().eq(b.nfc())
}
