//! The pure view: `render(state, frame)` draws the frame around every screen — the title line,
//! the key hints (from the same table as dispatch and help), the status bar — the screen on top
//! of the stack inside it, and the dialog over it. It draws the model and nothing else.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::dialogs;
use super::keys::{keys_label, KeyHelp};
use super::shared::{CommandLine, Modal, Shared};
use super::state::State;
use crate::core::health::Health;
use crate::core::liveness::Link;
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
    match &shared.modal {
        Some(Modal::CommandLine(line)) => command_line(frame, main, hint_line, shared, line),
        _ => hints(frame, hint_line, &shared.theme, state.keys()),
    }
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
    let line = footer(keys, usize::from(area.width));
    let spans: Vec<Span> = std::iter::once(Span::raw(" "))
        .chain(line.into_iter().flat_map(|(keys, label)| {
            [
                Span::styled(keys, theme.key()),
                Span::styled(format!(" {label}  "), theme.dim()),
            ]
        }))
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The `:` command line on the footer's row, with what Tab found (or why Enter did not run)
/// on the row above.
fn command_line(frame: &mut Frame, main: Rect, row: Rect, shared: &Shared, line: &CommandLine) {
    let t = &shared.theme;
    let text = Line::from(vec![
        Span::styled(":", t.key()),
        Span::raw(line.input.value().to_string()),
    ]);
    frame.render_widget(Paragraph::new(text), row);
    let x = row.x + 1 + u16::try_from(line.input.visual_cursor()).unwrap_or(0);
    frame.set_cursor_position((x.min(row.right().saturating_sub(1)), row.y));
    if let (Some(note), true) = (&line.note, main.height > 0) {
        let above = Rect {
            y: main.bottom() - 1,
            height: 1,
            ..main
        };
        frame.render_widget(ratatui::widgets::Clear, above);
        frame.render_widget(
            Paragraph::new(Line::styled(
                crate::tui::widgets::truncate(note, usize::from(above.width)),
                t.warn(),
            )),
            above,
        );
    }
}

/// The footer for a table in `width` columns: its keys by priority (the table's order, minor
/// ones last), as many as fit, ending with the help key, worded "more" when some were left out.
/// The same table drives dispatch and the help overlay, so the three never disagree.
pub fn footer(keys: &dyn KeyHelp, width: usize) -> Vec<(String, &'static str)> {
    let entries = keys.footer_entries();
    let help = entries
        .iter()
        .find(|e| e.help)
        .map(|e| keys_label(&e.keys[..1]));
    let cost = |k: &str, l: &str| k.chars().count() + l.chars().count() + 3;
    let reserve = help.as_ref().map_or(0, |k| cost(k, "more"));
    let mut shown: Vec<(usize, String, &'static str)> = Vec::new();
    let mut used = 1usize;
    let mut left_out = false;
    let ordered = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.minor && !e.help)
        .chain(
            entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.minor && !e.help),
        );
    for (i, e) in ordered {
        let label = keys_label(e.keys);
        let c = cost(&label, e.label);
        if used + c + reserve > width {
            left_out = true;
            continue;
        }
        used += c;
        shown.push((i, label, e.label));
    }
    // Shown in the table's order, however they were chosen.
    shown.sort_by_key(|(i, _, _)| *i);
    let mut out: Vec<(String, &'static str)> = shown.into_iter().map(|(_, k, l)| (k, l)).collect();
    if let Some(k) = help {
        out.push((k, if left_out { "more" } else { "help" }));
    }
    out
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
    // A team vault whose server cannot be reached: what is shown is the last snapshot.
    let mut offline = None;
    if let Some(live) = shared.live.as_ref().filter(|l| l.read_only()) {
        let text = match live.link() {
            Link::Reconnecting { .. } => "offline, read-only · reconnecting",
            _ => "offline, read-only",
        };
        offline = Some(Span::styled(
            format!("{text} │ "),
            bar.patch(t.health(Health::Failing)),
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
    let offline_w = offline.as_ref().map_or(0, |s| s.content.chars().count());
    let used = workspace.chars().count() + counts_w + offline_w + rest.chars().count() + 10;
    let path = shorten_left(
        &shared.vault_path.display().to_string(),
        width.saturating_sub(used),
    );
    let mut spans = vec![Span::raw(format!(" {workspace} │ "))];
    if !counts.is_empty() {
        spans.extend(counts);
        spans.push(Span::raw("│ "));
    }
    spans.extend(offline);
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

#[cfg(test)]
mod tests {
    use super::footer;
    use crate::tui::screens::form::keys::FORM;
    use crate::tui::screens::grid::keys::GRID;

    fn keys_of(line: &[(String, &str)]) -> Vec<String> {
        line.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn the_footer_shows_keys_by_priority_and_ends_in_more_when_some_do_not_fit() {
        // 80 columns: the grid's own keys first (the arrows give way), then "? more".
        let line = footer(&GRID, 80);
        let keys = keys_of(&line);
        for key in ["Enter", "/", "w", "f", "A", "q"] {
            assert!(keys.contains(&key.to_string()), "{key} missing: {line:?}");
        }
        assert_eq!(line.last().unwrap(), &("?".to_string(), "more"));
        // Room for everything: the last entry says help, not more.
        let wide = footer(&GRID, 300);
        assert_eq!(wide.last().unwrap(), &("?".to_string(), "help"));
        assert_eq!(wide.len(), GRID.bindings.len());
        // 60 columns still offer help.
        assert_eq!(footer(&GRID, 60).last().unwrap().1, "more");
        // A form at 80 columns keeps "Ctrl-s verify and save"; its help key is F1 (? types).
        let form = footer(&FORM, 80);
        assert!(form
            .iter()
            .any(|(k, l)| k == "Ctrl-s" && *l == "verify and save"));
        assert_eq!(form.last().unwrap(), &("F1".to_string(), "more"));
    }
}
