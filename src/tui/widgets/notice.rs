//! A screen's one-line message (saved, deleted, refused...): what it says and how it looks.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            kind: NoticeKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            kind: NoticeKind::Error,
            text: text.into(),
        }
    }
}

pub fn notice_style(theme: &Theme, notice: &Notice) -> Style {
    match notice.kind {
        NoticeKind::Info => theme.ok(),
        NoticeKind::Error => theme.error(),
    }
}

/// `notice`, if any, on the last line of `area`; returns the area above that line.
pub fn notice_at_bottom(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    notice: Option<&Notice>,
) -> Rect {
    if area.height == 0 {
        return area;
    }
    if let Some(n) = notice {
        let line = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Line::styled(n.text.clone(), notice_style(theme, n))),
            line,
        );
    }
    Rect {
        height: area.height - 1,
        ..area
    }
}
