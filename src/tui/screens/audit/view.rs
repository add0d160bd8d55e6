//! The audit table: one row per credential with status in colour, reason, last verification,
//! latency, expiry (warned within the window, red once past), age since the last change and
//! the flows using it; the sort column marked ▲/▼; a summary line; and while "verify all" runs,
//! a progress gauge. Only the visible rows become table rows; the row list they come from
//! (`rows`) is built over every credential in scope on each frame.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{rows, summary_parts, AuditColumn, AuditRow, AuditState};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::columns::{column, cut, cut_span, cut_spans, fill, fit, ColumnSpec};
use crate::tui::widgets::expiry::expiry_span;
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::{boxed, last_check, scroll_offset, spinner};

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
    frame.render_widget(
        Paragraph::new(Line::from(cut_spans(spans, head.width))),
        head,
    );
    let mut body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    // The filter's line under the summary, while it is typed or narrows the table.
    if a.filter.is_shown() && body.height > 4 {
        a.filter.draw(frame, body, t, list.len());
        body.y += 1;
        body.height -= 1;
    }
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
                if a.filter.is_set() {
                    "No row matches the filter: Esc clears it."
                } else if a.attention_only {
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
    // The selected row in full, below the table: what its cut cells left out.
    let selected = a.selected.min(list.len() - 1);
    let detail_h = 3.min(body.height.saturating_sub(4));
    let table_area = Rect {
        height: body.height - detail_h,
        ..body
    };
    let detail_area = Rect {
        y: table_area.bottom(),
        height: detail_h,
        ..body
    };
    let mut specs: Vec<(String, ColumnSpec)> = Vec::new();
    if a.all_workspaces {
        specs.push(("Workspace".into(), column(10, 1)));
    }
    for c in AuditColumn::ALL {
        let mut label = c.label().to_string();
        if c == a.sort {
            label.push_str(if a.reverse { "▼" } else { "▲" });
        }
        specs.push((label, spec(c)));
    }
    let only_specs: Vec<ColumnSpec> = specs.iter().map(|(_, s)| *s).collect();
    let shown = fit(&only_specs, table_area.width, 1);
    let rows_h = usize::from(table_area.height.saturating_sub(1));
    let offset = scroll_offset(selected, rows_h);
    let pending: std::collections::HashSet<&crate::core::RecordId> =
        a.run.iter().flat_map(|r| r.pending.values()).collect();
    let table_rows: Vec<Row> = list
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_h)
        .map(|(i, r)| {
            let all = cells(a, shared, r, pending.contains(&r.credential.id));
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
    let header = Row::new(shown.iter().map(|(col, w)| cut(&specs[*col].0, *w))).style(t.title());
    let table = Table::new(
        table_rows,
        shown.iter().map(|(_, w)| Constraint::Length(*w)),
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
    if detail_h > 0 {
        frame.render_widget(
            Paragraph::new(detail_line(shared, &list[selected])).wrap(Wrap { trim: true }),
            detail_area,
        );
    }
}

/// How wide each column is and how much it matters when the terminal is narrow: the name, the
/// status and the reason always stay.
fn spec(c: AuditColumn) -> ColumnSpec {
    match c {
        AuditColumn::Name => column(18, 0),
        AuditColumn::Status => column(15, 0),
        AuditColumn::Reason => fill(24, 0),
        AuditColumn::Environment => column(10, 1),
        AuditColumn::Component => column(11, 2),
        AuditColumn::LastVerified => column(16, 3),
        AuditColumn::Expires => column(15, 4),
        AuditColumn::Flows => column(5, 5),
        AuditColumn::Latency => column(8, 6),
        AuditColumn::Age => column(8, 7),
    }
}

/// The selected row in full: name, component, environment, status, the whole reason and the
/// detail.
fn detail_line(shared: &Shared, r: &AuditRow) -> Line<'static> {
    let t = &shared.theme;
    let c = r.credential;
    let mut spans = vec![
        Span::styled(format!("{} ", c.name), t.title()),
        Span::styled(
            format!("({}, {}) ", r.component, c.environment.as_str()),
            t.dim(),
        ),
        t.status_span(r.verification.map(|v| v.status)),
    ];
    match r.verification {
        Some(v) => {
            spans.push(Span::raw(format!(": {}", v.reason)));
            if let Some(d) = &v.detail {
                spans.push(Span::styled(format!(" · {d}"), t.dim()));
            }
        }
        None => spans.push(Span::styled(": never verified", t.dim())),
    }
    Line::from(spans)
}

/// Every column's content, as styled text (cut to its column when drawn).
fn cells<'a>(a: &AuditState, shared: &Shared, r: &AuditRow<'a>, pending: bool) -> Vec<Span<'a>> {
    let t = &shared.theme;
    let now = shared.clock.wall;
    let c = r.credential;
    let v = r.verification;
    let mut out = Vec::with_capacity(11);
    if a.all_workspaces {
        out.push(Span::raw(r.workspace.to_string()));
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
        Span::raw(r.component.to_string()),
        Span::raw(c.name.clone()),
        Span::raw(c.environment.as_str().to_string()),
        status,
        Span::raw(v.map_or_else(String::new, |v| v.reason.clone())),
        Span::raw(last_check(v, now)),
        Span::raw(
            v.and_then(|v| v.latency_ms)
                .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
        ),
        expires,
        Span::raw(c.updated_at.relative_to(now)),
        Span::raw(r.flows.to_string()),
    ]);
    out
}
