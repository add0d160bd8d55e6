//! The pure view: `render(state, frame)` draws the frame around every screen — the title line,
//! the key hints (from the same table as dispatch and help), the status bar — the screen on top
//! of the stack inside it, and the dialog over it. It draws the model and nothing else.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::dialogs;
use super::keys::{keys_label, KeyHelp};
use super::shared::Shared;
use super::state::State;
use crate::core::health::Health;
use crate::tui::widgets::spinner;
use crate::tui::widgets::theme::Theme;

/// Below this the UI shows "terminal too small" instead of a squeezed layout.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

pub fn too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

pub fn render(state: &State, frame: &mut Frame) {
    let shared = &state.shared;
    let area = frame.area();
    if too_small(area.width, area.height) {
        too_small_notice(frame, area, &shared.theme);
        return;
    }
    let [title_line, main, hint_line, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let screen = state.top();
    title(frame, title_line, &shared.theme, &screen.title(shared));
    screen.view(shared, frame, main);
    dialogs::render(frame, main, shared);
    hints(frame, hint_line, &shared.theme, state.keys());
    status_bar(frame, status, shared);
}

fn title(frame: &mut Frame, area: Rect, t: &Theme, screen_title: &str) {
    let line = Line::from(vec![
        Span::styled(" keyway ", t.title()),
        Span::styled("· ", t.dim()),
        Span::raw(screen_title.to_string()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn hints(frame: &mut Frame, area: Rect, theme: &Theme, keys: &dyn KeyHelp) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    let width = usize::from(area.width);
    for (keys, help) in keys.entries() {
        let label = keys_label(keys);
        let help = short(help);
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

fn status_bar(frame: &mut Frame, area: Rect, shared: &Shared) {
    let t = &shared.theme;
    let bar = t.status_bar();
    let workspace = match shared.vault.as_ref() {
        Some(v) => format!("ws: {}", v.workspace_name().unwrap_or("(none)")),
        None => "ws: -".into(),
    };
    // The open workspace's credentials by health, each in its colour, so a rejected one off
    // screen still shows; the glyphs tell without colour.
    let mut counts: Vec<Span> = Vec::new();
    if let Some(tally) = shared.vault.as_ref().map(|v| v.workspace_tally()) {
        for health in Health::ALL {
            let n = tally.count(health);
            if n > 0 {
                counts.push(Span::styled(
                    format!("{}{n} ", health.glyph()),
                    bar.patch(t.health(health)),
                ));
            }
        }
        let expiring = tally.expiring(shared.clock.wall, shared.expiry_window());
        if expiring > 0 {
            counts.push(Span::styled(
                format!("⚠{expiring} "),
                bar.patch(t.health(Health::Attention)),
            ));
        }
    }
    let mut rest: Vec<String> = Vec::new();
    let running = shared.verifying.len();
    if running > 0 {
        rest.push(format!(
            "{} {running} verifying",
            spinner(shared.spinner_frame())
        ));
    }
    let lock = match (&shared.vault, shared.auto_lock) {
        (None, _) => "locked".to_string(),
        (Some(_), Some(d)) => format!("unlocked · auto-lock {}m", d.as_secs().div_ceil(60)),
        (Some(_), None) => "unlocked".to_string(),
    };
    rest.push(lock);
    let rest = rest.join(" │ ");
    let width = usize::from(area.width);
    let counts_w: usize = counts.iter().map(|s| s.content.chars().count()).sum();
    let used = workspace.chars().count() + counts_w + rest.chars().count() + 10;
    let path = shorten_left(
        &shared.vault_path.display().to_string(),
        width.saturating_sub(used),
    );
    let mut spans = vec![Span::raw(format!(" {workspace} │ "))];
    if !counts.is_empty() {
        spans.extend(counts);
        spans.push(Span::raw("│ "));
    }
    spans.push(Span::raw(rest));
    if !path.is_empty() {
        spans.push(Span::raw(format!(" │ {path} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
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

fn too_small_notice(frame: &mut Frame, area: Rect, theme: &Theme) {
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
