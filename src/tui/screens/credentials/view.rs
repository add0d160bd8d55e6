//! A component's credentials in the open workspace: name, environment, status in colour, last
//! verification and how many flows use each. Only the visible rows are built, so a list of
//! 10,000 costs what a screenful costs.

use std::collections::HashSet;

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{CredentialsState, Visible};
use crate::core::RecordId;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::columns::{column, cut, cut_span, fill, fit};
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::{last_check, spinner};

pub(super) fn render(list: &CredentialsState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let Some(component) = shared.catalog.get(&list.component) else {
        return;
    };
    let count = view.row_count();
    let title = format!(
        " {} {} · {} · {count} credential(s){} ",
        component.icon,
        component.name,
        component.kind.as_str(),
        // A user file standing in for the built-in one decides where these keys are sent.
        if component.overrides_builtin() {
            " · your override of the built-in"
        } else {
            ""
        }
    );
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Span::styled(title, t.title()));
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    let visible = Visible::of(view, &list.filter);
    // The filter's line above the table, while it is typed or narrows the list.
    if list.filter.is_shown() && inner.height > 3 {
        list.filter.draw(frame, inner, t, visible.len());
        inner.y += 1;
        inner.height -= 1;
    }
    // Header, rows, the selected row in full, then one line for the notice.
    let detail_h: u16 = if inner.height >= 8 { 2 } else { 0 };
    let rows_height = usize::from(inner.height.saturating_sub(2 + detail_h)).max(1);
    let specs = [
        fill(12, 0),
        column(11, 2),
        column(15, 0),
        column(18, 1),
        column(5, 3),
    ];
    let shown = fit(&specs, inner.width, 1);
    let selected = list.selected.min(visible.len().saturating_sub(1));
    let offset = (selected + 1).saturating_sub(rows_height);
    let in_flight: HashSet<&RecordId> = shared
        .verifying
        .values()
        .filter_map(|f| f.credential.as_ref())
        .collect();
    let now = shared.clock.wall;
    let frame_no = shared.spinner_frame();
    let rows: Vec<Row> = visible
        .from(offset)
        .take(rows_height)
        .map(|(i, c)| {
            let last = c.last_verification.as_ref();
            let status = if in_flight.contains(&c.id) {
                Span::styled(format!("{} verifying", spinner(frame_no)), t.key())
            } else {
                t.status_span(last.map(|v| v.status))
            };
            let when = last_check(last, now);
            let flows = view.snapshot.flows_using(&c.id).count();
            let all = [
                Span::raw(c.name.clone()),
                Span::raw(c.environment.as_str().to_string()),
                status,
                Span::raw(when),
                Span::raw(flows.to_string()),
            ];
            let row = Row::new(
                shown
                    .iter()
                    .map(|(col, w)| Cell::from(cut_span(all[*col].clone(), *w))),
            );
            if i == selected {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let table_area = notice_at_bottom(frame, inner, t, shared.notice.as_ref());
    if count > 0 && visible.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "No credential matches the filter: Esc clears it.",
                t.dim(),
            )),
            table_area,
        );
    } else if count == 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    "No {} credentials in this workspace: press a to add one.",
                    component.name
                ),
                t.dim(),
            )),
            table_area,
        );
    } else {
        let labels = ["Name", "Env", "Status", "Last verified", "Flows"];
        let header = Row::new(shown.iter().map(|(col, w)| cut(labels[*col], *w))).style(t.title());
        let table_only = Rect {
            height: table_area.height.saturating_sub(detail_h),
            ..table_area
        };
        let table = Table::new(rows, shown.iter().map(|(_, w)| Constraint::Length(*w)))
            .header(header)
            .column_spacing(1);
        frame.render_widget(table, table_only);
        if let Some(c) = visible.get(selected).filter(|_| detail_h > 0) {
            let detail_area = Rect {
                y: table_only.bottom(),
                height: detail_h,
                ..table_area
            };
            let mut spans = vec![
                Span::styled(format!("{} ", c.name), t.title()),
                Span::styled(format!("({}) ", c.environment.as_str()), t.dim()),
                t.status_span(c.last_verification.as_ref().map(|v| v.status)),
            ];
            match &c.last_verification {
                Some(v) => spans.push(Span::raw(format!(": {}", v.reason))),
                None => spans.push(Span::styled(": never verified", t.dim())),
            }
            frame.render_widget(
                Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
                detail_area,
            );
        }
    }
}
