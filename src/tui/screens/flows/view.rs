//! The workspace's flows: name, environment, active or not, and each step's component and
//! credential, with a step whose credential is missing or failing marked ✗ (in red). The
//! selected flow's steps are listed in full below the table.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{activity, sorted_flows, visible_flows, FlowsState};
use crate::core::health::Health;
use crate::core::Flow;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::columns::{column, cut, cut_spans, fill, fit};
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::{boxed, scroll_offset};

pub(super) fn render(flows: &FlowsState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let Some(ws) = view.workspace.as_ref() else {
        return;
    };
    let total = sorted_flows(&view.snapshot, ws).len();
    let list = visible_flows(&view.snapshot, ws, &flows.filter);
    let title = format!(
        " Flows · {} · {total} flow(s) ",
        view.workspace_name().unwrap_or("?"),
    );
    let inner = boxed(frame, area, t, &title);
    let mut inner = notice_at_bottom(frame, inner, t, shared.notice.as_ref());
    // The filter's line above the table, while it is typed or narrows the list.
    if flows.filter.is_shown() && inner.height > 3 {
        flows.filter.draw(frame, inner, t, list.len());
        inner.y += 1;
        inner.height -= 1;
    }
    if list.is_empty() && total > 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "No flow matches the filter: Esc clears it.",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    if list.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "No flows in this workspace yet: press c to build one.",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    let selected = flows.selected.min(list.len() - 1);
    let detail_h = u16::try_from(list[selected].steps.len() + 2)
        .unwrap_or(u16::MAX)
        .min(inner.height / 2);
    let table_area = Rect {
        height: inner.height.saturating_sub(detail_h),
        ..inner
    };
    // Name and state always; the steps take the rest, shown whole below for the selected flow.
    let specs = [column(18, 0), column(11, 2), column(12, 0), fill(10, 1)];
    let shown = fit(&specs, table_area.width, 1);
    let rows_h = usize::from(table_area.height.saturating_sub(1));
    let offset = scroll_offset(selected, rows_h);
    let rows: Vec<Row> =
        list.iter()
            .enumerate()
            .skip(offset)
            .take(rows_h)
            .map(|(i, f)| {
                let failing = view.snapshot.failing_steps(f);
                // The row takes the health of its worst credential (a missing one is failing).
                let health = Health::worst(f.steps.iter().map(|s| {
                    view.snapshot
                        .credential(&s.credential)
                        .map_or(Health::Failing, |c| shared.health_of(c))
                }))
                .unwrap_or(Health::Unchecked);
                let state_cell = Span::styled(
                    format!("{} {}", health.glyph(), activity(f.active)),
                    t.health(health),
                );
                let mut spans = Vec::new();
                for (n, s) in f.steps.iter().enumerate() {
                    if n > 0 {
                        spans.push(Span::styled(" → ", t.dim()));
                    }
                    let cred = view
                        .snapshot
                        .credential(&s.credential)
                        .map_or("(missing)", |c| c.name.as_str());
                    let text = format!("{}:{cred}", s.component);
                    if failing.contains(&n) {
                        spans.push(Span::styled(format!("✗ {text}"), t.error()));
                    } else {
                        spans.push(Span::raw(text));
                    }
                }
                let cells = [
                    vec![Span::raw(f.name.clone())],
                    vec![Span::raw(f.environment.as_str().to_string())],
                    vec![state_cell],
                    spans,
                ];
                let row =
                    Row::new(shown.iter().map(|(col, w)| {
                        Cell::from(Line::from(cut_spans(cells[*col].clone(), *w)))
                    }));
                if i == selected {
                    row.style(t.selected())
                } else {
                    row
                }
            })
            .collect();
    let labels = ["Name", "Env", "State", "Steps"];
    let table = Table::new(rows, shown.iter().map(|(_, w)| Constraint::Length(*w)))
        .header(Row::new(shown.iter().map(|(col, w)| cut(labels[*col], *w))).style(t.title()))
        .column_spacing(1);
    frame.render_widget(table, table_area);
    let detail_area = Rect {
        y: table_area.bottom(),
        height: detail_h,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(step_lines(shared, list[selected])),
        detail_area,
    );
}

/// The selected flow's steps, one a line, failing ones explained.
fn step_lines<'a>(shared: &Shared, flow: &Flow) -> Vec<Line<'a>> {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return Vec::new();
    };
    let mut lines = vec![Line::styled(
        format!("Steps of '{}':", flow.name),
        t.title(),
    )];
    let failing = view.snapshot.failing_steps(flow);
    for (i, s) in flow.steps.iter().enumerate() {
        let component = shared.catalog.display_name(&s.component);
        let (cred, status) = match view.snapshot.credential(&s.credential) {
            Some(c) => (
                format!("{} ({})", c.name, c.environment),
                Span::styled(
                    c.status_word(),
                    t.status(c.last_verification.as_ref().map(|v| v.status)),
                ),
            ),
            None => (
                "(missing credential)".to_string(),
                Span::styled("missing", t.error()),
            ),
        };
        let mark = if failing.contains(&i) {
            Span::styled("✗ ", t.error())
        } else {
            Span::styled("  ", t.base())
        };
        lines.push(Line::from(vec![
            mark,
            Span::raw(format!("{}. {component}: {cred} ", i + 1)),
            status,
        ]));
    }
    lines
}
