//! Drawing helpers shared by the screens, and the small display types they draw (the theme, a
//! notice). Nothing here knows the app's state.

pub mod columns;
pub mod dialog;
pub mod expiry;
pub mod filter;
pub mod notice;
pub mod text_field;
pub mod theme;

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType};
use ratatui::Frame;

use theme::Theme;

/// A rectangle of at most `width` x `height` centred in `area` (clipped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Cuts `text` to at most `width` columns, marking the cut with '…'.
pub fn truncate(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = text.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `text` broken into lines of at most `width` columns, between words where it can (a word
/// longer than a line is split where the line ends). Used where a label or a notice must be
/// read whole: the lines are drawn one per row, so their count is the rows it takes.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let gap = usize::from(!line.is_empty());
        if !line.is_empty() && line.width() + gap + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// When a credential was last checked, worded for what the check found: "3m ago" when it was
/// verified, "never verified" when it never was checked, "unverified since 2026-05-28" for one
/// saved unverified, "checked 2h ago" for a failed check (it was not verified then).
pub fn last_check(
    v: Option<&crate::core::Verification>,
    now: crate::core::time::Timestamp,
) -> String {
    use crate::core::Status;
    match v {
        None => "never verified".to_string(),
        Some(v) if v.status == Status::Verified => v.at.relative_to(now),
        Some(v) if v.status == Status::Unverified => {
            let date: String = v.at.rfc3339().chars().take(10).collect();
            format!("unverified since {date}")
        }
        Some(v) => format!("checked {}", v.at.relative_to(now)),
    }
}

/// Braille spinner frames: one cell wide in every terminal font we care about.
pub const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn spinner(frame: usize) -> &'static str {
    SPINNER[frame % SPINNER.len()]
}

/// A rounded, titled box; returns its inside.
pub fn boxed(frame: &mut Frame, area: Rect, theme: &Theme, title: &str) -> Rect {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Span::styled(title.to_string(), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The first row to draw so `selected` stays visible in `height` rows.
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    (selected + 1).saturating_sub(height.max(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_wrap_between_words_and_a_long_word_is_split() {
        assert_eq!(
            super::wrap_words("Allow plain http (non-loopback)", 18),
            ["Allow plain http", "(non-loopback)"]
        );
        assert_eq!(super::wrap_words("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(super::wrap_words("", 5), [""]);
    }
}
