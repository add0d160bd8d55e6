//! A credential's detail view: what it is, where it is used, when it expires, its non-secret
//! fields, and its verification-history log (newest first: time, status, latency, how many
//! checks, reason).
//! Secret fields are named, never shown.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{DetailState, HistoryView};
use crate::core::expiry::EXPIRES_AT_FIELD;
use crate::core::time::Timestamp;
use crate::core::Verification;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::boxed;
use crate::tui::widgets::columns::{column, cut, cut_span, fill, fit};
use crate::tui::widgets::expiry::expiry_span;
use crate::tui::widgets::notice::notice_at_bottom;

pub(super) fn render(d: &DetailState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let Some(view) = shared.vault.as_ref() else {
        return;
    };
    let Some(c) = view.snapshot.credential(&d.credential) else {
        return;
    };
    let now = shared.clock.wall;
    let component = shared.catalog.display_name(&c.component);
    let title = format!(" {component} · {} ", c.name);
    let inner = boxed(frame, area, t, &title);
    let inner = notice_at_bottom(frame, inner, t, shared.notice.as_ref());
    let label = |s: &str| Span::styled(format!("{s:<13}"), t.dim());
    let last = c.last_verification.as_ref();
    let mut lines = vec![
        Line::from(vec![
            label("Environment"),
            Span::raw(c.environment.as_str().to_string()),
            Span::styled("   Workspace ", t.dim()),
            Span::raw(
                view.snapshot
                    .workspace(&c.workspace)
                    .map_or("?", |w| w.name.as_str())
                    .to_string(),
            ),
        ]),
        Line::from(vec![
            label("Status"),
            t.status_span(last.map(|v| v.status)),
            Span::raw(last.map_or_else(String::new, |v| format!(" — {}", v.reason))),
        ]),
        Line::from(vec![
            label("Changed"),
            Span::raw(format!(
                "{} ({})   created {}",
                c.updated_at.relative_to(now),
                c.updated_at.rfc3339(),
                c.created_at.rfc3339()
            )),
        ]),
    ];
    if let Some(p) = &c.pending_rotation {
        lines.push(Line::from(vec![
            label("Rotation"),
            Span::styled(crate::rotate::pending_note(p), t.error()),
        ]));
    }
    lines.push(Line::from(vec![
        label("Expires"),
        expiry_span(shared.expiry_of(c), now, t, "not set", true),
    ]));
    let mut flows: Vec<&str> = view
        .snapshot
        .flows_using(&c.id)
        .map(|f| f.name.as_str())
        .collect();
    flows.sort_unstable();
    lines.push(Line::from(vec![
        label("Used by"),
        Span::raw(if flows.is_empty() {
            "no flow".to_string()
        } else {
            flows.join(", ")
        }),
    ]));
    let public: Vec<String> = c
        .public
        .iter()
        .filter(|(k, _)| k.as_str() != EXPIRES_AT_FIELD)
        .map(|(k, v)| format!("{k}={}", crate::core::pem::one_line(v)))
        .collect();
    lines.push(Line::from(vec![
        label("Fields"),
        Span::raw(public.join("  ")),
    ]));
    let secrets: Vec<&str> = c.secrets.names().collect();
    lines.push(Line::from(vec![
        label("Secrets"),
        Span::styled(
            if secrets.is_empty() {
                "none".to_string()
            } else {
                format!("{} (stored encrypted, not shown)", secrets.join(", "))
            },
            t.dim(),
        ),
    ]));
    // Long lines wrap (a narrow terminal still shows every field); each takes the rows its
    // width needs, and one more in case the words break early.
    let width = usize::from(inner.width.max(1));
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let head_h = u16::try_from(rows + 1)
        .unwrap_or(u16::MAX)
        .min(inner.height.saturating_sub(3));
    let [head, history] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), head);

    let title_line = Rect {
        height: 1,
        ..history
    };
    let table_area = Rect {
        y: history.y + 1,
        height: history.height.saturating_sub(1),
        ..history
    };
    // The title, then the table, or in its place one line saying why there is none.
    let (title, entries, instead) = match &d.history {
        HistoryView::Loading => (
            "Verification history".to_string(),
            &[][..],
            Some(Line::styled("Reading the history…", t.dim())),
        ),
        HistoryView::Failed(message) => (
            "Verification history".to_string(),
            &[][..],
            Some(Line::styled(
                format!("The history cannot be read: {message}"),
                t.error(),
            )),
        ),
        HistoryView::Loaded(entries) => (
            format!(
                "Verification history ({} kept, newest first)",
                entries.len()
            ),
            entries.as_slice(),
            entries
                .is_empty()
                .then(|| Line::styled("Never verified.", t.dim())),
        ),
    };
    frame.render_widget(Paragraph::new(Line::styled(title, t.title())), title_line);
    if let Some(line) = instead {
        frame.render_widget(Paragraph::new(line), table_area);
        return;
    }
    // Time, status and reason always; the newest entry's whole reason is in the Status line.
    let specs = [
        column(32, 0),
        column(15, 0),
        column(8, 2),
        column(6, 3),
        fill(12, 1),
    ];
    let shown = fit(&specs, table_area.width, 1);
    let rows: Vec<Row> = entries
        .iter()
        .take(usize::from(table_area.height.saturating_sub(1)))
        .map(|v| {
            let all = [
                Span::raw(format!("{} ({})", v.at.rfc3339(), v.at.relative_to(now))),
                t.status_span(Some(v.status)),
                Span::raw(
                    v.latency_ms
                        .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
                ),
                Span::raw(v.checks().to_string()),
                Span::raw(history_reason(v, now)),
            ];
            Row::new(
                shown
                    .iter()
                    .map(|(col, w)| Cell::from(cut_span(all[*col].clone(), *w))),
            )
        })
        .collect();
    let labels = ["Time", "Status", "Latency", "Checks", "Reason"];
    let table = Table::new(rows, shown.iter().map(|(_, w)| Constraint::Length(*w)))
        .header(Row::new(shown.iter().map(|(col, w)| cut(labels[*col], *w))).style(t.title()))
        .column_spacing(1);
    frame.render_widget(table, table_area);
}

/// An entry's reason, with its detail (a run ends when the detail changes, so two neighbours
/// may differ only there) and, for a run of several checks (one entry, timed by its latest),
/// when it began.
fn history_reason(v: &Verification, now: Timestamp) -> String {
    let mut text = v.reason.clone();
    if let Some(detail) = &v.detail {
        text.push_str(&format!(" ({detail})"));
    }
    if v.checks() > 1 {
        text.push_str(&format!(" · first {}", v.first_at().relative_to(now)));
    }
    text
}
