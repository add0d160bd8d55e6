//! Promotion to production: each step with the production credential chosen for it —
//! automatic where exactly one exists, asked (←/→) where several do, "add one" where none does —
//! the copy's name, and whether the staging flow is kept or moved.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::PromoteState;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::notice_style;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::{boxed, wrap_words};

pub(super) fn render(p: &PromoteState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let title = format!(" Promote '{}' to production ", p.flow_name);
    let inner = boxed(frame, area, t, &title);
    if inner.height < 4 {
        return;
    }
    let mut lines = vec![Line::styled(
        "Each step needs a production credential of the same component:",
        t.dim(),
    )];
    for (i, pick) in p.picks.iter().enumerate() {
        let component = shared.catalog.display_name(&pick.component);
        let chosen = pick
            .chosen
            .as_ref()
            .and_then(|id| view.snapshot.credential(id));
        let mut spans = vec![Span::raw(format!("{}. {component}: ", i + 1))];
        match (chosen, pick.candidates.len()) {
            (Some(c), _) if pick.automatic => {
                spans.push(Span::styled(c.name.clone(), t.ok()));
                spans.push(Span::styled("  (automatic: the only one)", t.dim()));
            }
            (Some(c), n) => {
                spans.push(Span::styled(format!("‹ {} ›", c.name), t.ok()));
                spans.push(Span::styled(format!("  (chosen, 1 of {n})"), t.dim()));
            }
            (None, 0) => {
                spans.push(Span::styled("none in production", t.error()));
                spans.push(Span::styled("  a adds one", t.dim()));
            }
            (None, n) => {
                let names: Vec<&str> = pick
                    .candidates
                    .iter()
                    .filter_map(|id| view.snapshot.credential(id))
                    .map(|c| c.name.as_str())
                    .collect();
                spans.push(Span::styled(format!("choose one of {n}: "), t.warn()));
                spans.push(Span::raw(names.join(", ")));
                spans.push(Span::styled("  ←/→", t.dim()));
            }
        }
        let mut line = Line::from(spans);
        if i == p.cursor && !p.name_focused {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    let name_y = inner.y + u16::try_from(lines.len()).unwrap_or(0);
    lines.push(Line::styled(
        "Copy's name",
        if p.name_focused { t.key() } else { t.dim() },
    ));
    lines.push(Line::from(vec![
        Span::styled("Staging flow ", t.dim()),
        Span::styled(
            if p.move_flow {
                "moved (replaced by the production flow)"
            } else {
                "kept (m moves it instead)"
            },
            t.key(),
        ),
    ]));
    lines.push(Line::raw(""));
    let note = p.message.as_ref().or(shared.notice.as_ref());
    if let Some(n) = note {
        // Wrapped between words: a long refusal is read whole.
        for part in wrap_words(&n.text, usize::from(inner.width)) {
            lines.push(Line::styled(part, notice_style(t, n)));
        }
    } else if p.saving {
        lines.push(Line::styled("Promoting…", t.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if name_y < inner.bottom() {
        let field = Rect {
            x: inner.x + 13,
            y: name_y,
            width: inner.width.saturating_sub(13),
            height: 1,
        };
        text_field::draw(
            frame,
            field,
            &p.name,
            &FieldLook {
                masked: false,
                focused: p.name_focused && shared.modal.is_none(),
                style: if p.name_focused {
                    t.selected()
                } else {
                    t.base()
                },
                placeholder: None,
                placeholder_style: t.dim(),
            },
        );
    }
}
