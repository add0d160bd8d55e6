//! Copying to the user's clipboard through the terminal: a plain OSC 52 sequence
//! (`ESC ] 52 ; c ; BASE64 BEL`), not wrapped in tmux's DCS passthrough, so tmux with
//! `set-clipboard on` takes it as it is and forwards it to the outer terminal (over SSH too).

use std::io::Write;

use base64::Engine;
use zeroize::Zeroizing;

/// The sequence that puts `text` on the clipboard. What is copied may be a secret (`Y`'s
/// secret choice), and base64 of it is as good as the secret: both buffers are wiped on drop.
pub fn osc52(text: &str) -> Zeroizing<String> {
    let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()));
    let mut sequence = Zeroizing::new(String::with_capacity(encoded.len() + 8));
    sequence.push_str("\x1b]52;c;");
    sequence.push_str(&encoded);
    sequence.push('\x07');
    sequence
}

/// Writes the sequence to the terminal (stdout, where the frames go, between two frames).
pub(crate) fn copy(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sequence_is_plain_osc_52_with_no_tmux_wrapping() {
        assert_eq!(super::osc52("legacy").as_str(), "\x1b]52;c;bGVnYWN5\x07");
        assert!(!super::osc52("x").contains("\x1bPtmux;"));
    }
}
