//! The workspace picker: every workspace with what it holds; the open one marked.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use ratatui::Frame;

use super::{sorted_workspaces, WorkspacesState};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::notice_style;
use crate::tui::widgets::{truncate, wrap_words};

pub(super) fn render(ws: &WorkspacesState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Span::styled(" Workspaces ", t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let list = sorted_workspaces(&view.snapshot);
    let mut lines: Vec<Line> = Vec::new();
    if list.is_empty() {
        lines.push(Line::styled(
            "No workspaces yet: press n to create one.",
            t.dim(),
        ));
    }
    let height = usize::from(inner.height.saturating_sub(2)).max(1);
    let selected = ws.selected.min(list.len().saturating_sub(1));
    let offset = (selected + 1).saturating_sub(height);
    let width = usize::from(inner.width);
    for (i, w) in list.iter().enumerate().skip(offset).take(height) {
        let creds = view.snapshot.credentials_in(&w.id).count();
        let flows = view.snapshot.flows_in(&w.id).count();
        let current = view.workspace.as_ref() == Some(&w.id);
        let marker = if current { "▸ " } else { "  " };
        // The workspace takes the health of its worst credential.
        let health = view
            .tally_of_workspace(&w.id)
            .and_then(|tally| shared.health_of_tally(tally));
        let glyph = match health {
            Some(h) => Span::styled(format!("{} ", h.glyph()), t.health(h)),
            None => Span::raw("  "),
        };
        let detail = format!("  {creds} credential(s), {flows} flow(s)");
        let name_room = width.saturating_sub(detail.chars().count() + 4);
        let mut line = Line::from(vec![
            Span::styled(marker, t.key()),
            glyph,
            Span::raw(truncate(&w.name, name_room)),
            Span::styled(detail, t.dim()),
        ]);
        if i == selected {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    if let Some(n) = &shared.notice {
        lines.push(Line::raw(""));
        // Wrapped between words: a long notice is read whole.
        for part in wrap_words(&n.text, usize::from(inner.width)) {
            lines.push(Line::styled(part, notice_style(t, n)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
