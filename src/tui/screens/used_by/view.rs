//! "Used by": the flows that use a credential, and the credentials (same workspace, same
//! component) that can take over from it in all of them at once.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{replacements, UsedByState};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::{boxed, scroll_offset};

pub(super) fn render(u: &UsedByState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let Some(old) = view.snapshot.credential(&u.credential) else {
        return;
    };
    let title = format!(" '{}' ({}) is used by ", old.name, old.component);
    let inner = boxed(frame, area, t, &title);
    let inner = notice_at_bottom(frame, inner, t, shared.notice.as_ref());
    let mut flows: Vec<_> = view.snapshot.flows_using(&old.id).collect();
    flows.sort_by(|a, b| a.name.cmp(&b.name));
    let flows_h = u16::try_from(flows.len().max(1) + 2).unwrap_or(u16::MAX);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(flows_h), Constraint::Min(1)]).areas(inner);
    let mut lines = Vec::new();
    if flows.is_empty() {
        lines.push(Line::styled("No flow uses this credential.", t.dim()));
    }
    for f in &flows {
        lines.push(Line::from(vec![
            Span::raw(format!("• {} ", f.name)),
            Span::styled(format!("({})  ", f.environment), t.dim()),
            if f.active {
                Span::styled("active", t.ok())
            } else {
                Span::styled("inactive", t.dim())
            },
        ]));
    }
    frame.render_widget(Paragraph::new(lines), top);

    let options = replacements(&view.snapshot, old);
    let mut lines = vec![Line::styled(
        "Rebind every flow above to another credential (Enter):",
        t.title(),
    )];
    if options.is_empty() {
        lines.push(Line::styled(
            "No other credential of this component in the workspace: add one first.",
            t.dim(),
        ));
    }
    let height = usize::from(bottom.height.saturating_sub(1));
    let cursor = u.cursor.min(options.len().saturating_sub(1));
    for (i, c) in options
        .iter()
        .enumerate()
        .skip(scroll_offset(cursor, height))
        .take(height)
    {
        let line = Line::from(vec![
            Span::raw(format!("  {} ", c.name)),
            Span::styled(format!("({}) ", c.environment), t.dim()),
            Span::styled(
                c.status_word(),
                t.status(c.last_verification.as_ref().map(|v| v.status)),
            ),
        ]);
        lines.push(if i == cursor {
            line.style(t.selected())
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), bottom);
}
