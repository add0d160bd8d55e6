//! The audit table: one row per credential with status in colour, reason, last verification,
//! latency, expiry (warned within the window, red once past), age since the last change and
//! the flows using it; the sort column marked ▲/▼; a summary line; and while "verify all" runs,
//! a progress gauge. Only the visible rows become table rows; the row list they come from
//! (`rows`) is built over every credential in scope on each frame.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Paragraph, Row, Table};
use ratatui::Frame;

use super::{rows, summary_parts, AuditColumn, AuditRow, AuditState};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::expiry::expiry_span;
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::{boxed, scroll_offset, spinner};

pub(super) fn render(a: &AuditState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let list = rows(a, shared);
    let scope = if a.all_workspaces {
        "all workspaces".to_string()
    } else {
        format!("workspace {}", view.workspace_name().unwrap_or("?"))
    };
    let filter = if a.attention_only {
        " · needs attention"
    } else {
        ""
    };
    let title = format!(" Audit · {scope}{filter} · {} credential(s) ", list.len());
    let inner = boxed(frame, area, t, &title);
    if inner.height < 4 {
        return;
    }
    let inner = notice_at_bottom(frame, inner, t, shared.notice.as_ref());
    let head = Rect { height: 1, ..inner };
    // Each count in its status's colour, with its glyph.
    let mut spans = Vec::new();
    for (i, (text, health)) in summary_parts(&list, shared.expiry_warning_days)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            spans.push(Span::styled(" · ", t.dim()));
        }
        let style = health.map_or(t.dim(), |h| t.health(h));
        spans.push(Span::styled(text, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), head);
    let mut body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    if let Some(run) = &a.run {
        let gauge_area = Rect { height: 1, ..body };
        let ratio = if run.total == 0 {
            1.0
        } else {
            run.done as f64 / run.total as f64
        };
        frame.render_widget(
            Gauge::default()
                .gauge_style(t.ok())
                .ratio(ratio.clamp(0.0, 1.0))
                .label(format!(
                    "{} verifying {}/{} · Esc cancels",
                    spinner(shared.spinner_frame()),
                    run.done,
                    run.total
                )),
            gauge_area,
        );
        body.y += 1;
        body.height = body.height.saturating_sub(1);
    }
    if list.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                if a.attention_only {
                    "Nothing needs attention. f shows everything."
                } else {
                    "No credentials here yet."
                },
                t.dim(),
            )),
            body,
        );
        return;
    }
    let rows_h = usize::from(body.height.saturating_sub(1));
    let selected = a.selected.min(list.len() - 1);
    let offset = scroll_offset(selected, rows_h);
    let pending: std::collections::HashSet<&crate::core::RecordId> =
        a.run.iter().flat_map(|r| r.pending.values()).collect();
    let table_rows: Vec<Row> = list
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_h)
        .map(|(i, r)| {
            let row = Row::new(cells(a, shared, r, pending.contains(&r.credential.id)));
            if i == selected {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let mut columns: Vec<(String, Constraint)> = Vec::new();
    if a.all_workspaces {
        columns.push(("Workspace".into(), Constraint::Length(10)));
    }
    for c in AuditColumn::ALL {
        let mut label = c.label().to_string();
        if c == a.sort {
            label.push_str(if a.reverse { "▼" } else { "▲" });
        }
        columns.push((label, width(c)));
    }
    let header = Row::new(columns.iter().map(|(l, _)| l.clone())).style(t.title());
    let table = Table::new(table_rows, columns.iter().map(|(_, w)| *w))
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, body);
}

fn width(c: AuditColumn) -> Constraint {
    match c {
        AuditColumn::Component => Constraint::Length(11),
        AuditColumn::Name => Constraint::Length(16),
        AuditColumn::Environment => Constraint::Length(10),
        AuditColumn::Status => Constraint::Length(13),
        AuditColumn::Reason => Constraint::Fill(1),
        AuditColumn::LastVerified => Constraint::Length(9),
        AuditColumn::Latency => Constraint::Length(8),
        AuditColumn::Expires => Constraint::Length(15),
        AuditColumn::Age => Constraint::Length(8),
        AuditColumn::Flows => Constraint::Length(6),
    }
}

fn cells<'a>(a: &AuditState, shared: &Shared, r: &AuditRow<'a>, pending: bool) -> Vec<Cell<'a>> {
    let t = &shared.theme;
    let now = shared.clock.wall;
    let c = r.credential;
    let v = r.verification;
    let mut out = Vec::with_capacity(11);
    if a.all_workspaces {
        out.push(Cell::from(r.workspace.to_string()));
    }
    let status = if pending {
        Span::styled(
            format!("{} checking", spinner(shared.spinner_frame())),
            t.key(),
        )
    } else {
        t.status_span(v.map(|v| v.status))
    };
    let expires = expiry_span(r.expiry, now, t, "-", false);
    out.extend([
        Cell::from(r.component.to_string()),
        Cell::from(c.name.clone()),
        Cell::from(c.environment.as_str().to_string()),
        Cell::from(status),
        Cell::from(v.map_or_else(String::new, |v| v.reason.clone())),
        Cell::from(v.map_or_else(|| "never".to_string(), |v| v.at.relative_to(now))),
        Cell::from(
            v.and_then(|v| v.latency_ms)
                .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
        ),
        Cell::from(expires),
        Cell::from(c.updated_at.relative_to(now)),
        Cell::from(r.flows.to_string()),
    ]);
    out
}
