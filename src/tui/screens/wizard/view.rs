//! The flow-builder wizard, one step at a time: a step bar, the step's body, and its message.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{WizardState, WizardStep};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::notice_at_bottom;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::{boxed, scroll_offset, truncate};

pub(super) fn render(w: &WizardState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let title = match &w.editing {
        Some(_) => format!(" Edit flow '{}' ", w.name.value()),
        None => " New flow ".to_string(),
    };
    let inner = boxed(frame, area, t, &title);
    if inner.height < 4 {
        return;
    }
    let [bar, rest] = Layout::vertical([Constraint::Length(2), Constraint::Min(2)]).areas(inner);
    // The step's message (or the app's notice) at the bottom, wrapped when long.
    let note = w.message.as_ref().or(shared.notice.as_ref());
    let body = notice_at_bottom(frame, rest, t, note);
    frame.render_widget(Paragraph::new(step_bar(shared, w)), bar);
    match w.step {
        WizardStep::Name => name_step(frame, body, shared, w),
        WizardStep::Components => components_step(frame, body, shared, w),
        WizardStep::Credentials => credentials_step(frame, body, shared, w),
        WizardStep::Review => review_step(frame, body, shared, w),
    }
}

fn step_bar<'a>(shared: &Shared, w: &WizardState) -> Line<'a> {
    let t = &shared.theme;
    let mut spans = Vec::new();
    for (i, (step, label)) in [
        (WizardStep::Name, "Name"),
        (WizardStep::Components, "Components"),
        (WizardStep::Credentials, "Credentials"),
        (WizardStep::Review, "Review"),
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim()));
        }
        let text = format!("{} {label}", step.number());
        spans.push(if *step == w.step {
            Span::styled(text, t.selected())
        } else {
            Span::styled(text, t.dim())
        });
    }
    Line::from(spans)
}

fn name_step(frame: &mut Frame, area: Rect, shared: &Shared, w: &WizardState) {
    let t = &shared.theme;
    let interactive = shared.modal.is_none();
    let fields = [
        ("Name*", &w.name, None),
        (
            "Environment*",
            &w.environment,
            Some("staging (default), production, or a name of your own"),
        ),
    ];
    for (i, (label, input, help)) in fields.iter().enumerate() {
        let y = area.y + 2 * i as u16;
        if y >= area.bottom() {
            break;
        }
        let focused = w.name_focus == i;
        let value = text_field::labelled(
            frame,
            area,
            y,
            14,
            Span::styled(*label, if focused { t.key() } else { t.base() }),
            input,
            &FieldLook {
                masked: false,
                focused: focused && interactive,
                style: if focused { t.selected() } else { t.base() },
                placeholder: (i == 0).then(|| "e.g. billing-sync".to_string()),
                placeholder_style: t.dim(),
            },
        );
        if let (Some(h), true) = (help, y + 1 < area.bottom()) {
            let cut = truncate(h, usize::from(value.width));
            frame.render_widget(Span::styled(cut, t.dim()), Rect { y: y + 1, ..value });
        }
    }
}

fn components_step(frame: &mut Frame, area: Rect, shared: &Shared, w: &WizardState) {
    let t = &shared.theme;
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let visible = w.visible_components(&shared.catalog);
    let mut lines = vec![Line::from(vec![
        Span::styled("Filter: /", t.key()),
        Span::raw(w.filter.value().to_string()),
    ])];
    let height = usize::from(left.height.saturating_sub(1));
    let cursor = w.catalogue_cursor.min(visible.len().saturating_sub(1));
    if visible.is_empty() {
        lines.push(Line::styled("No component matches the filter.", t.dim()));
    }
    for (i, c) in visible
        .iter()
        .enumerate()
        .skip(scroll_offset(cursor, height))
        .take(height)
    {
        let mut line = Line::from(vec![
            Span::styled(format!(" {} ", c.icon), t.key()),
            Span::raw(truncate(
                &c.name,
                usize::from(left.width).saturating_sub(16),
            )),
            Span::styled(format!("  {}", c.kind.as_str()), t.dim()),
        ]);
        if i == cursor && !w.in_chosen {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), left);
    if !w.in_chosen && shared.modal.is_none() {
        let x = left.x + 9 + u16::try_from(w.filter.visual_cursor()).unwrap_or(0);
        frame.set_cursor_position((x.min(left.right().saturating_sub(1)), left.y));
    }
    let mut chosen = vec![Line::styled(
        format!("Chosen, in order ({}):", w.picks.len()),
        t.title(),
    )];
    if w.picks.is_empty() {
        chosen.push(Line::styled(
            "Enter adds the highlighted component.",
            t.dim(),
        ));
    }
    for (i, p) in w.picks.iter().enumerate() {
        let name = shared.catalog.display_name(&p.component);
        let mut line = Line::raw(format!("{}. {name}", i + 1));
        if w.in_chosen && i == w.chosen_cursor {
            line = line.style(t.selected());
        }
        chosen.push(line);
    }
    chosen.push(Line::raw(""));
    chosen.push(Line::styled(
        if w.picks.len() < 2 {
            "Two or more are needed to continue."
        } else {
            "Ctrl-n: next step · Tab: reorder, remove"
        },
        t.dim(),
    ));
    // The pane is narrow at 60 columns: its sentences wrap between words.
    frame.render_widget(Paragraph::new(chosen).wrap(Wrap { trim: false }), right);
}

fn credentials_step(frame: &mut Frame, area: Rect, shared: &Shared, w: &WizardState) {
    let t = &shared.theme;
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let view = shared.vault.as_ref();
    let mut steps = vec![Line::styled(
        format!("Steps ({} flow):", w.environment()),
        t.title(),
    )];
    for (i, p) in w.picks.iter().enumerate() {
        let component = shared.catalog.display_name(&p.component);
        let bound = p
            .credential
            .as_ref()
            .and_then(|id| view.and_then(|v| v.snapshot.credential(id)));
        let (mark, cred) = match (&p.credential, bound) {
            (_, Some(c)) => (Span::styled("✓ ", t.ok()), c.name.clone()),
            (Some(_), None) => (Span::styled("✗ ", t.error()), "(missing)".to_string()),
            (None, None) => (Span::styled("· ", t.dim()), "(choose)".to_string()),
        };
        let mut line = Line::from(vec![
            mark,
            Span::raw(format!("{}. {component} → {cred}", i + 1)),
        ]);
        if i == w.step_cursor {
            line = line.style(t.selected());
        }
        steps.push(line);
    }
    frame.render_widget(Paragraph::new(steps), left);

    let Some(pick) = w.picks.get(w.step_cursor) else {
        return;
    };
    let component = shared.catalog.display_name(&pick.component);
    let offered = w.current_candidates(shared);
    let mut lines = vec![Line::styled(
        format!("{component} credentials in this workspace:"),
        t.title(),
    )];
    let height = usize::from(right.height.saturating_sub(1));
    let cursor = w.credential_cursor.min(offered.len());
    let add_row = format!("+ add a new {component} credential");
    let names: Vec<Line> = offered
        .iter()
        .map(|c| {
            let status = Span::styled(
                format!(" {}", c.status_word()),
                t.status(c.last_verification.as_ref().map(|v| v.status)),
            );
            let chosen = if pick.credential.as_ref() == Some(&c.id) {
                "● "
            } else {
                "  "
            };
            Line::from(vec![
                Span::raw(format!("{chosen}{} ", c.name)),
                Span::styled(format!("({})", c.environment), t.dim()),
                status,
            ])
        })
        .chain(std::iter::once(Line::styled(add_row, t.key())))
        .collect();
    for (i, line) in names
        .into_iter()
        .enumerate()
        .skip(scroll_offset(cursor, height))
        .take(height)
    {
        lines.push(if i == cursor {
            line.style(t.selected())
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), right);
}

fn review_step(frame: &mut Frame, area: Rect, shared: &Shared, w: &WizardState) {
    let t = &shared.theme;
    let view = shared.vault.as_ref();
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Name         ", t.dim()),
            Span::raw(w.name.value().to_string()),
        ]),
        Line::from(vec![
            Span::styled("Environment  ", t.dim()),
            Span::raw(w.environment().to_string()),
        ]),
        Line::styled("Steps", t.dim()),
    ];
    for (i, p) in w.picks.iter().enumerate() {
        let component = shared.catalog.display_name(&p.component);
        let cred = p
            .credential
            .as_ref()
            .and_then(|id| view.and_then(|v| v.snapshot.credential(id)));
        let (mark, text, status) = match cred {
            Some(c) => {
                let status = c.last_verification.as_ref().map(|v| v.status);
                let failing = c.is_failing();
                (
                    if failing {
                        Span::styled("  ✗ ", t.error())
                    } else {
                        Span::raw("    ")
                    },
                    format!("{}. {component}: {} ", i + 1, c.name),
                    Span::styled(c.status_word(), t.status(status)),
                )
            }
            None => (
                Span::styled("  ✗ ", t.error()),
                format!("{}. {component}: ", i + 1),
                Span::styled("missing", t.error()),
            ),
        };
        lines.push(Line::from(vec![mark, Span::raw(text), status]));
        // A credential of another environment (a production key in a staging flow) is allowed,
        // but never silently: the review says so beside the step.
        if let Some(c) = cred.filter(|c| c.environment != w.environment()) {
            lines.push(Line::styled(
                format!(
                    "    ⚠ '{}' is a {} credential in a {} flow",
                    c.name,
                    c.environment,
                    w.environment()
                ),
                t.warn(),
            ));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("Save as      ", t.dim()),
        Span::styled(
            if w.active {
                "[x] active   [ ] inactive"
            } else {
                "[ ] active   [x] inactive"
            },
            t.key(),
        ),
    ]));
    lines.push(Line::styled(
        if w.saving {
            "Saving…"
        } else {
            "Space switches active/inactive; Enter saves."
        },
        t.dim(),
    ));
    frame.render_widget(Paragraph::new(lines), area);
}
