//! The frame around every screen: the title line, the key hints (from the same binding list as
//! dispatch and help), the status bar and the "terminal too small" notice.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::keys::{self, Context};
use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::tui::state::State;
use crate::tui::widgets::theme::Theme;

pub fn title(frame: &mut Frame, area: Rect, state: &State, screen_title: &str) {
    let t = &state.theme;
    let line = Line::from(vec![
        Span::styled(" keyway ", t.title()),
        Span::styled("· ", t.dim()),
        Span::raw(screen_title.to_string()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub fn hints(frame: &mut Frame, area: Rect, theme: &Theme, context: Context) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    let width = usize::from(area.width);
    for b in keys::bindings(context) {
        let label = keys::binding_label(b);
        let help = short(b.help);
        let cost = label.chars().count() + help.chars().count() + 3;
        if used + cost > width {
            break;
        }
        used += cost;
        spans.push(Span::styled(label, theme.key()));
        spans.push(Span::styled(format!(" {help}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The first clause of a help text, for the one-line hints.
fn short(help: &str) -> &str {
    help.split([';', '(']).next().unwrap_or(help).trim_end()
}

pub fn status_bar(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut parts: Vec<String> = Vec::new();
    match state.vault.as_ref() {
        Some(v) => {
            parts.push(format!("ws: {}", v.workspace_name().unwrap_or("(none)")));
        }
        None => parts.push("ws: -".into()),
    }
    let running = state.verifying.len();
    if running > 0 {
        parts.push(format!(
            "{} {running} verifying",
            super::super::widgets::spinner(state.spinner_frame())
        ));
    }
    let lock = match (&state.vault, state.auto_lock) {
        (None, _) => "locked".to_string(),
        (Some(_), Some(d)) => format!("unlocked · auto-lock {}m", d.as_secs().div_ceil(60)),
        (Some(_), None) => "unlocked".to_string(),
    };
    parts.push(lock);
    let right = parts.join(" │ ");
    let width = usize::from(area.width);
    let path = state.vault_path.display().to_string();
    let room = width.saturating_sub(right.chars().count() + 5);
    let path = shorten_left(&path, room);
    let text = format!(" {right} │ {path} ");
    frame.render_widget(
        Paragraph::new(super::truncate(&text, width)).style(t.status_bar()),
        area,
    );
}

/// Keeps the end of a path (the file name matters most) within `width`.
fn shorten_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = text.chars().skip(n - width + 1).collect();
    format!("…{tail}")
}

pub fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "Terminal too small ({}x{}): keyway needs {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge it, or press Ctrl-C to quit.",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.warn())
            .wrap(Wrap { trim: true }),
        area,
    );
}

pub fn notice_style(theme: &Theme, notice: &crate::tui::state::Notice) -> Style {
    match notice.kind {
        crate::tui::state::NoticeKind::Info => theme.ok(),
        crate::tui::state::NoticeKind::Error => theme.error(),
    }
}

/// The screen's latest notice on the last line of `area`; returns the area above it.
pub fn notice_at_bottom(frame: &mut Frame, area: Rect, state: &State) -> Rect {
    if area.height == 0 {
        return area;
    }
    if let Some(n) = &state.notice {
        let line = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Line::styled(n.text.clone(), notice_style(&state.theme, n))),
            line,
        );
    }
    Rect {
        height: area.height - 1,
        ..area
    }
}

/// A rounded, titled box; returns its inside.
pub fn boxed(frame: &mut Frame, area: Rect, theme: &Theme, title: &str) -> Rect {
    let block = ratatui::widgets::Block::bordered()
        .border_type(ratatui::widgets::BorderType::Rounded)
        .title(Span::styled(title.to_string(), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The first row to draw so `selected` stays visible in `height` rows.
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    (selected + 1).saturating_sub(height.max(1))
}
