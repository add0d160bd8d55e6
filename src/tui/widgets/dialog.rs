//! A dialog box over the screen: cleared, rounded, titled, centred.

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Clear};
use ratatui::Frame;

use super::centered;
use super::theme::Theme;

/// Draws a bordered box of at most `w` x `h` centred in `area` and returns its inside.
pub fn dialog(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, w: u16, h: u16) -> Rect {
    let r = centered(area, w, h);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.focus_border())
        .title(Span::styled(title.to_string(), theme.title()));
    let inner = block.inner(r);
    frame.render_widget(Clear, r);
    frame.render_widget(block, r);
    inner
}
