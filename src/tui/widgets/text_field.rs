//! One line of text input: horizontally scrolled to keep the cursor visible (by display
//! columns, so wide characters work), masked for secrets, and placing the terminal cursor.

use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::Frame;
use tui_input::Input;
use unicode_width::UnicodeWidthChar;

pub struct FieldLook {
    pub masked: bool,
    pub focused: bool,
    pub style: Style,
    /// Shown dim when the field is empty.
    pub placeholder: Option<String>,
    pub placeholder_style: Style,
}

pub fn draw(frame: &mut Frame, area: Rect, input: &Input, look: &FieldLook) {
    let width = usize::from(area.width);
    if width == 0 || area.height == 0 {
        return;
    }
    if input.value().is_empty() {
        if let Some(p) = &look.placeholder {
            frame.render_widget(
                Span::styled(super::truncate(p, width), look.placeholder_style),
                area,
            );
        }
        if look.focused {
            frame.set_cursor_position(Position::new(area.x, area.y));
        }
        return;
    }
    // Columns of the text before the cursor; a masked value is one '*' per character, so its
    // length shows but nothing else does.
    let column = |c: char| {
        if look.masked {
            1
        } else {
            c.width().unwrap_or(0)
        }
    };
    let before: usize = input.value().chars().take(input.cursor()).map(column).sum();
    // Keep one column free for the cursor at the end.
    let scroll = before.saturating_sub(width.saturating_sub(1));
    let mut shown = String::new();
    let mut at = 0;
    for c in input.value().chars() {
        let w = column(c);
        if at >= scroll && at + w <= scroll + width {
            shown.push(if look.masked { '*' } else { c });
        }
        at += w;
        if at >= scroll + width {
            break;
        }
    }
    frame.render_widget(Span::styled(shown, look.style), area);
    if look.focused {
        let x = area.x + u16::try_from(before - scroll).unwrap_or(0);
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// A label in the first `label_w` columns of row `y` of `area`, then the field in the rest of the
/// row; returns the field's area (the row under it is the field's, for its hint or error).
pub fn labelled(
    frame: &mut Frame,
    area: Rect,
    y: u16,
    label_w: u16,
    label: Span,
    input: &Input,
    look: &FieldLook,
) -> Rect {
    let label_area = Rect {
        x: area.x,
        y,
        width: label_w.min(area.width),
        height: 1,
    };
    frame.render_widget(label, label_area);
    let field = Rect {
        x: area.x + label_w,
        y,
        width: area.width.saturating_sub(label_w),
        height: 1,
    };
    draw(frame, field, input, look);
    field
}

/// Debug for an input field: its text, or `[REDACTED]` where it may hold a secret. The field's
/// kill ring (text deleted with Ctrl-W or Ctrl-U, kept for Ctrl-Y) is never shown: it can hold
/// a secret deleted from a field whose text is shown.
pub struct InputDebug<'a> {
    input: &'a Input,
    secret: bool,
}

impl std::fmt::Debug for InputDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("[REDACTED]")
        } else {
            std::fmt::Debug::fmt(self.input.value(), f)
        }
    }
}

/// Debug for a field that holds a secret only when `secret` is set (a form's fields).
pub fn input_debug(input: &Input, secret: bool) -> InputDebug<'_> {
    InputDebug { input, secret }
}

/// Debug for a field that may hold a secret (a passphrase, a pasted address).
pub fn secret_input(input: &Input) -> InputDebug<'_> {
    input_debug(input, true)
}

/// Takes a typed secret out of its field, leaving the field empty.
pub fn take_secret(input: &mut Input) -> secrecy::SecretString {
    secrecy::SecretString::from(input.value_and_reset())
}
