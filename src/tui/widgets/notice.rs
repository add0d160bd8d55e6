//! A screen's one-line message (saved, deleted, refused...): what it says and how it looks.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;
use super::{truncate, wrap_words};

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

/// The most rows a notice takes at the bottom of a screen: a long one wraps between words onto
/// up to three, and only a longer one is cut (with an ellipsis).
const NOTICE_MAX_ROWS: usize = 3;

/// `notice`, if any, at the bottom of `area`, wrapped between words; returns the area above
/// it (one line is kept for it even when there is none, so the list does not jump).
pub fn notice_at_bottom(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    notice: Option<&Notice>,
) -> Rect {
    if area.height == 0 {
        return area;
    }
    let mut lines = notice.map_or_else(Vec::new, |n| wrap_words(&n.text, usize::from(area.width)));
    // Never more than a third of the area, and at least one row.
    let room = NOTICE_MAX_ROWS.min(usize::from(area.height / 3)).max(1);
    if lines.len() > room {
        lines.truncate(room);
        if let Some(last) = lines.last_mut() {
            *last = truncate(&format!("{last} …"), usize::from(area.width));
        }
    }
    let rows = u16::try_from(lines.len().max(1)).unwrap_or(1);
    if let Some(n) = notice {
        let at = Rect {
            y: area.bottom() - rows,
            height: rows,
            ..area
        };
        let style = notice_style(theme, n);
        let text: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, style)).collect();
        frame.render_widget(Paragraph::new(text), at);
    }
    Rect {
        height: area.height - rows,
        ..area
    }
}
