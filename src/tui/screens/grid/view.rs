//! The component grid: one card per component with its icon, name, kind and a counter of its
//! credentials in the open workspace in the colour and glyph of the worst of them (a dim zero
//! when there are none), and where the view is when not every card fits.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

use super::{grid_columns, GridState, CARD_HEIGHT, CARD_WIDTH};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::columns::cut_spans;
use crate::tui::widgets::notice::notice_style;
use crate::tui::widgets::truncate;

pub(super) fn render(grid: &GridState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    if area.height < 2 {
        return;
    }
    // The line above the cards: the filter (when any) or a notice.
    let head = Rect { height: 1, ..area };
    let components = grid.visible_components(&shared.catalog);
    let head_line = if grid.filter.is_shown() {
        grid.filter.line(t, components.len())
    } else if let Some(n) = &shared.notice {
        Line::styled(n.text.clone(), notice_style(t, n))
    } else {
        Line::styled(
            "Enter opens a component; / filters; w switches workspace",
            t.dim(),
        )
    };
    // One row: a longer notice ends in an ellipsis, never mid-word.
    let head_style = head_line.style;
    let head_line = Line::from(cut_spans(head_line.spans, head.width)).style(head_style);
    frame.render_widget(Paragraph::new(head_line.clone()), head);
    if grid.filter.typing {
        grid.filter.draw(frame, head, t, components.len());
    }

    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    if components.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("No component matches the filter.", t.dim())),
            body,
        );
        return;
    }
    let columns = grid_columns(area.width);
    let rows_visible = usize::from((body.height / CARD_HEIGHT).max(1));
    let selected = grid.selected.min(components.len() - 1);
    let first_row = (selected / columns + 1).saturating_sub(rows_visible);
    // More tiles than fit: where the view is, at the right of the line above the cards.
    if components.len() > rows_visible * columns {
        let first = first_row * columns + 1;
        let last = ((first_row + rows_visible) * columns).min(components.len());
        let more_below = last < components.len();
        let arrow = match (first > 1, more_below) {
            (true, true) => "↕",
            (true, false) => "↑",
            _ => "↓",
        };
        let text = format!(" {first}–{last} of {} {arrow}", components.len());
        let w = u16::try_from(text.chars().count())
            .unwrap_or(u16::MAX)
            .min(head.width);
        let at = Rect {
            x: head.right() - w,
            width: w,
            ..head
        };
        // The line's own text gives way to the indicator, with an ellipsis where cut.
        let rest = Rect {
            width: head.width - w,
            ..head
        };
        frame.render_widget(Clear, head);
        frame.render_widget(
            Paragraph::new(Line::from(cut_spans(head_line.spans.clone(), rest.width))),
            rest,
        );
        frame.render_widget(Paragraph::new(Line::styled(text, t.key())), at);
    }
    for (i, c) in components.iter().enumerate().skip(first_row * columns) {
        let row = i / columns - first_row;
        if row >= rows_visible {
            break;
        }
        let col = i % columns;
        let card = Rect {
            x: body.x + CARD_WIDTH * col as u16,
            y: body.y + CARD_HEIGHT * row as u16,
            width: CARD_WIDTH.min(body.width),
            height: CARD_HEIGHT.min(body.height),
        };
        let is_selected = i == selected;
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(if is_selected {
                t.focus_border()
            } else {
                t.dim()
            });
        let inner = block.inner(card);
        frame.render_widget(block, card);
        let width = usize::from(inner.width);
        // The counter takes the colour and glyph of the tile's worst credential.
        let counter = match view
            .tally(&c.id)
            .and_then(|tally| Some((tally.total(), shared.health_of_tally(tally)?)))
        {
            Some((count, health)) => {
                Span::styled(format!("{} {count}", health.glyph()), t.health(health))
            }
            None => Span::styled("0".to_string(), t.dim()),
        };
        let counter_w = counter.content.chars().count();
        let icon = format!("{} ", c.icon);
        let name_room = width.saturating_sub(icon.chars().count());
        let mut name_line = Line::from(vec![
            Span::styled(icon, t.key()),
            Span::raw(truncate(&c.name, name_room)),
        ]);
        if is_selected {
            name_line = name_line.style(t.selected());
        }
        let kind = c.kind.as_str();
        let gap = width.saturating_sub(kind.len() + counter_w);
        let kind_line = Line::from(vec![
            Span::styled(kind.to_string(), t.dim()),
            Span::raw(" ".repeat(gap)),
            counter,
        ]);
        frame.render_widget(Paragraph::new(vec![name_line, kind_line]), inner);
    }
}
