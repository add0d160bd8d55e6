//! A list's `/` filter, one for every list (the grid, credentials, flows, the audit): the typed
//! text, whether it has the keyboard, how a row matches it, the line that shows it, and how
//! n/N step between the matches.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_input::Input;

use super::columns::cut_spans;
use super::theme::Theme;

/// What the filter line starts with; the typed text follows it.
const PROMPT: &str = "Filter: /";

#[derive(Debug, Default)]
pub struct ListFilter {
    pub input: Input,
    /// The filter has the keyboard: typed keys edit it.
    pub typing: bool,
}

impl ListFilter {
    pub fn text(&self) -> &str {
        self.input.value()
    }

    /// Something is typed: the list shows only what matches it.
    pub fn is_set(&self) -> bool {
        !self.input.value().trim().is_empty()
    }

    /// Shown above the list: while typed, and while it narrows the list.
    pub fn is_shown(&self) -> bool {
        self.typing || self.is_set()
    }

    /// `/`: the filter takes the keyboard, keeping what it had.
    pub fn start(&mut self) {
        self.typing = true;
    }

    /// Enter (or a move): the filter stays and lets go of the keyboard.
    pub fn stop(&mut self) {
        self.typing = false;
    }

    /// Esc: no filter.
    pub fn clear(&mut self) {
        self.input = Input::default();
        self.typing = false;
    }

    /// Whether a row whose texts are `texts` matches: every word of the filter appears in one
    /// of them, ignoring case ("prod rej" finds a production credential that was rejected).
    pub fn matches(&self, texts: &[&str]) -> bool {
        crate::core::filter::matches_words(self.input.value(), texts)
    }

    /// The filter's line: the prompt and the text, with what the keys do now.
    pub fn line(&self, theme: &Theme, matches: usize) -> Line<'static> {
        let mut spans = vec![
            Span::styled(PROMPT, theme.key()),
            Span::raw(self.text().to_string()),
        ];
        let hint = if self.typing {
            format!("   {matches} match(es) · Esc clears")
        } else {
            format!("   {matches} match(es) · n/N next/previous · Esc clears")
        };
        spans.push(Span::styled(hint, theme.dim()));
        Line::from(spans)
    }

    /// Draws the filter's line on `area`'s first row, with the text cursor while it is typed.
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, matches: usize) {
        if area.height == 0 {
            return;
        }
        let row = Rect { height: 1, ..area };
        frame.render_widget(
            Paragraph::new(Line::from(cut_spans(
                self.line(theme, matches).spans,
                row.width,
            ))),
            row,
        );
        if self.typing {
            let offset = PROMPT.chars().count() + self.input.visual_cursor();
            let x = row.x + u16::try_from(offset).unwrap_or(u16::MAX);
            frame.set_cursor_position((x.min(row.right().saturating_sub(1)), row.y));
        }
    }
}

/// n/N: the next (or previous) of `count` rows after `selected`, wrapping at either end.
pub fn step(selected: usize, count: usize, forward: bool) -> usize {
    if count == 0 {
        return 0;
    }
    let selected = selected.min(count - 1);
    if forward {
        (selected + 1) % count
    } else {
        (selected + count - 1) % count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_some_text_ignoring_case() {
        let mut f = ListFilter {
            input: Input::new("PROD rej".into()),
            typing: false,
        };
        assert!(f.matches(&["legacy", "production", "rejected"]));
        assert!(!f.matches(&["legacy", "production", "verified"]));
        f.clear();
        assert!(f.matches(&["anything"]), "no filter matches everything");
        assert!(!f.is_shown());
    }

    #[test]
    fn stepping_wraps_at_both_ends() {
        assert_eq!(step(2, 3, true), 0);
        assert_eq!(step(0, 3, false), 2);
        assert_eq!(step(1, 3, true), 2);
        assert_eq!(step(9, 3, true), 0, "a stale cursor counts as the last row");
        assert_eq!(step(0, 0, true), 0);
    }
}
