//! Text from outside on its way to a person: which characters a terminal would act on or show as
//! nothing, and how such text is made safe to print. One rule for every face: names refuse these
//! characters (rules.rs), and everything the CLI prints passes through `for_terminal` or
//! `for_json` (cli/output.rs), whatever it came from (a server's answer, a file, an argument).

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that change how a terminal shows the text around them, or show as nothing, so a
/// string holding one does not read as what it is: control characters (C0, DEL, C1: ESC starts
/// the OSC and CSI sequences that retitle a window or rewrite the screen, U+009B is CSI on its
/// own), bidirectional controls (U+202E shows "good\u{202E}dab" as "goodbad"), zero-width and
/// invisible characters (ZWSP, ZWJ, word joiner, BOM, soft hyphen, Hangul fillers, tag
/// characters), and the Unicode line and paragraph separators.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                  // soft hyphen
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark
            | '\u{115F}' | '\u{1160}'   // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'   // Khmer invisible vowels
            | '\u{180B}'..='\u{180F}'   // Mongolian selectors and vowel separator
            | '\u{200B}'..='\u{200F}'   // ZWSP, ZWNJ, ZWJ, LRM, RLM
            | '\u{2028}' | '\u{2029}'   // line and paragraph separators
            | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
            | '\u{3164}' | '\u{FFA0}'   // Hangul fillers
            | '\u{FE00}'..='\u{FE0F}'   // variation selectors
            | '\u{FEFF}'                // BOM, zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
            | '\u{E0000}'..='\u{E0FFF}' // tags and variation selectors supplement
        )
}

/// `text` as it may be written to a terminal: every character of `is_hidden_or_control` shown as
/// a visible escape (`\u{1b}`, `\t`), the rest untouched. Newlines stay when `keep_newlines`
/// (a report of several lines), else they are escaped too (a one-line message).
pub fn for_terminal(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_hidden_or_control(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// JSON text as it may be written to a terminal: serde_json escapes C0 controls, but leaves DEL,
/// C1 controls, bidi controls and invisible characters raw inside strings. Those only occur
/// inside strings (JSON's own syntax is ASCII), so each is replaced by its `\uXXXX` escape: the
/// same document, the same values, nothing a terminal acts on.
pub fn for_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_hidden_or_control) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_hidden_or_control(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_look_alikes_are_made_visible() {
        assert_eq!(
            for_terminal("\u{1b}]0;PWNED\u{7}x", false),
            "\\u{1b}]0;PWNED\\u{7}x"
        );
        assert_eq!(for_terminal("a\u{9b}2J", false), "a\\u{9b}2J");
        assert_eq!(for_terminal("good\u{202E}dab", false), "good\\u{202e}dab");
        assert_eq!(
            for_terminal("zero\u{200B}width", false),
            "zero\\u{200b}width"
        );
        assert_eq!(for_terminal("two\nlines", true), "two\nlines");
        assert_eq!(for_terminal("two\nlines", false), "two\\nlines");
        assert_eq!(for_terminal("tab\there", true), "tab\\there");
        assert!(matches!(
            for_terminal("café ☕ 東京", false),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_keeps_its_values_and_loses_its_raw_controls() {
        let value = serde_json::json!({"reason": "x\u{1b}[2J\u{9b}\u{202E}\u{E0041}y"});
        let text = serde_json::to_string(&value).unwrap();
        let safe = for_json(&text);
        assert!(!safe.chars().any(is_hidden_or_control), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }
}
