//! The credential form: the component's fields (two lines each: value, then the inline error or
//! help), secrets masked unless revealed, and the verification panel beside (or below) it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};
use ratatui::Frame;
use zeroize::Zeroize;

use super::login_view::{self as login, PastePanel};
use super::{FieldKey, FormField, FormPhase, FormState};
use crate::core::{dburl, Credential};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::columns::cut_spans;
use crate::tui::widgets::dialog::dialog;
use crate::tui::widgets::notice::notice_style;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::{spinner, truncate, wrap_words};

/// Wide terminals get the verification panel beside the form, narrow ones below it.
const SIDE_PANEL_MIN_WIDTH: u16 = 90;

pub(super) fn render(form: &FormState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let component_name = shared.catalog.display_name(&form.component);
    let title = match &form.editing {
        Some(_) => format!(" Edit {component_name} credential "),
        None => format!(" New {component_name} credential "),
    };
    // A browser login takes the full width under the form (see login_view.rs).
    let paste = form.login.as_ref().and_then(PastePanel::of);
    let (area, paste_area) = match &paste {
        Some(p) => {
            let height = p.height(area.width).min(area.height.saturating_sub(4));
            let [a, b] =
                Layout::vertical([Constraint::Min(4), Constraint::Length(height)]).areas(area);
            (a, Some(b))
        }
        None => (area, None),
    };
    let login_lines = form
        .login
        .as_ref()
        .and_then(|l| login::side_lines(shared, l));
    let panel_title = if login_lines.is_some() {
        " Log in "
    } else {
        " Verification "
    };
    let (panel, below_height) = match login_lines {
        Some(mut lines) => {
            lines.extend(message_line(shared, form));
            let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
            (lines, h.min(area.height / 2).max(5))
        }
        None => (panel_lines(shared, form), 5),
    };
    let (form_area, panel_area) = if panel.is_empty() {
        (area, None)
    } else if area.width >= SIDE_PANEL_MIN_WIDTH {
        let [a, b] = Layout::horizontal([Constraint::Min(40), Constraint::Length(38)]).areas(area);
        (a, Some(b))
    } else {
        let [a, b] =
            Layout::vertical([Constraint::Min(4), Constraint::Length(below_height)]).areas(area);
        (a, Some(b))
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Span::styled(title, t.title()));
    let inner = block.inner(form_area);
    frame.render_widget(block, form_area);
    draw_fields(frame, inner, shared, form);
    if let Some(panel_area) = panel_area {
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .title(Span::styled(panel_title, t.title()));
        let inner = block.inner(panel_area);
        frame.render_widget(block, panel_area);
        frame.render_widget(Paragraph::new(panel).wrap(Wrap { trim: true }), inner);
    }
    if let (Some(p), Some(paste_area)) = (paste, paste_area) {
        p.draw(frame, paste_area, shared);
    }
    if let FormPhase::Conflict { mine, theirs } = &form.phase {
        conflict_dialog(frame, area, shared, form, mine, theirs.as_deref());
    }
    if let FormPhase::ConfirmHostKey { fingerprint, .. } = &form.phase {
        host_key_dialog(frame, area, shared, fingerprint);
    }
}

/// The form's own message, else the app's notice (a copy made from the form says so here).
fn message_line<'a>(shared: &Shared, form: &'a FormState) -> Option<Line<'a>> {
    let m = form.message.as_ref().or(shared.notice.as_ref())?;
    Some(Line::styled(m.text.clone(), notice_style(&shared.theme, m)))
}

fn draw_fields(frame: &mut Frame, area: Rect, shared: &Shared, form: &FormState) {
    let t = &shared.theme;
    if area.height == 0 || area.width < 8 {
        return;
    }
    // The label column fits the longest label up to a third of the width; a longer label
    // wraps between words onto the rows below (the field then takes more than its two rows),
    // so no label is cut.
    let widest = form
        .fields
        .iter()
        .map(|f| f.label.chars().count() + 3)
        .max()
        .unwrap_or(10);
    let label_w = widest.min(usize::from(area.width / 3).clamp(12, 28));
    let labels: Vec<Vec<String>> = form
        .fields
        .iter()
        .map(|f| {
            let mark = if f.required { "*" } else { "" };
            wrap_words(&format!("{}{mark}", f.label), label_w - 2)
        })
        .collect();
    // Each field's rows: its value and hint, or as many as its label's lines.
    let heights: Vec<u16> = labels
        .iter()
        .map(|l| u16::try_from(l.len().max(2)).unwrap_or(u16::MAX))
        .collect();
    // The first field drawn: as far down as keeps the focused field whole on the screen.
    let mut offset = 0;
    while offset < form.focus
        && heights[offset..=form.focus.min(heights.len() - 1)]
            .iter()
            .sum::<u16>()
            > area.height
    {
        offset += 1;
    }
    let label_w = u16::try_from(label_w).unwrap_or(u16::MAX);
    let url_scheme = shared
        .catalog
        .get(&form.component)
        .and_then(dburl::url_engine)
        .map(|engine| dburl::schemes(engine)[0]);
    // The pasted-address field of a browser login has the cursor while it is shown.
    let interactive =
        shared.modal.is_none() && !form.login.as_ref().is_some_and(|l| l.takes_paste());
    let mut y = area.y;
    for (i, field) in form.fields.iter().enumerate().skip(offset) {
        if y >= area.bottom() {
            break;
        }
        let field_y = y;
        y = y.saturating_add(heights[i]);
        let focused = i == form.focus;
        let mut label_lines = labels[i].iter();
        let label = label_lines.next().cloned().unwrap_or_default();
        // The label's further lines, under its first, in the label column.
        for (n, more) in label_lines.enumerate() {
            let row = field_y + 1 + n as u16;
            if row >= area.bottom() {
                break;
            }
            let style = if focused { t.key() } else { t.base() };
            frame.render_widget(
                Span::styled(more.clone(), style),
                Rect {
                    x: area.x,
                    y: row,
                    width: label_w.min(area.width),
                    height: 1,
                },
            );
        }
        let y = field_y;
        let label_style = if focused { t.key() } else { t.base() };
        let revealed = form.is_revealed(i);
        let cleartext =
            field.key == FieldKey::Field("sslmode".into()) && field.input.value() == "disable";
        // A stored secret, once the user confirmed its reveal, is drawn in the field (until
        // something is typed, which replaces it); hidden, the placeholder says it is there.
        let stored_shown = revealed
            .then(|| form.stored_secret(i))
            .flatten()
            .map(|v| tui_input::Input::new(v.to_string()));
        let placeholder = if field.secret && field.has_stored_secret && stored_shown.is_none() {
            Some("(stored; Ctrl-r shows it, typing replaces it)".to_string())
        } else if field.key == FieldKey::Url {
            url_scheme.map(|scheme| format!("paste a {scheme}:// URL to fill the form"))
        } else {
            None
        };
        // A pick list shows its value between arrows, with no text cursor: it is not typed.
        let pick = (!field.choices.is_empty())
            .then(|| tui_input::Input::new(format!("‹ {} ›", field.input.value())))
            .or(stored_shown);
        // A URL typed by hand shows no password: the same number of characters, masked.
        let url = (field.key == FieldKey::Url).then(|| {
            tui_input::Input::new(url_shown(field.input.value())).with_cursor(field.input.cursor())
        });
        let value_area = text_field::labelled(
            frame,
            area,
            y,
            label_w,
            Span::styled(label, label_style),
            pick.as_ref().or(url.as_ref()).unwrap_or(&field.input),
            &FieldLook {
                masked: field.secret && !revealed,
                focused: focused && interactive && pick.is_none(),
                style: if focused { t.selected() } else { t.base() },
                placeholder,
                placeholder_style: t.dim(),
            },
        );
        // The copy of a shown stored secret is overwritten before it is freed.
        if let Some(mut shown) = pick {
            shown.value_and_reset().zeroize();
        }
        if y + 1 >= area.bottom() {
            continue;
        }
        let hint = if let Some(e) = &field.error {
            Line::styled(format!("✗ {e}"), t.error())
        } else if revealed {
            let left = form.revealed.map_or(0, |(_, until)| {
                // Rounded up: "10 s" at the start, "1 s" in the last second.
                until
                    .saturating_duration_since(shared.clock.mono)
                    .as_millis()
                    .div_ceil(1000)
            });
            let what = if form.stored_secret(i).is_some() {
                "stored secret shown"
            } else {
                "revealed"
            };
            Line::styled(
                format!("{what}: hidden again in {left} s (Ctrl-r hides now)"),
                t.warn(),
            )
        } else if let Some(meaning) = choice_meaning(shared, form, field).filter(|_| focused) {
            Line::styled(
                meaning.to_string(),
                if cleartext { t.warn() } else { t.dim() },
            )
        } else if cleartext {
            Line::styled(
                "⚠ unencrypted connection: the password travels in clear",
                t.warn(),
            )
        } else if focused {
            match &field.help {
                Some(h) => Line::styled(h.clone(), t.dim()),
                None if field.secret => {
                    Line::styled("secret: masked; Ctrl-r reveals for 10 s", t.dim())
                }
                None => Line::raw(""),
            }
        } else {
            Line::raw("")
        };
        let hint_area = Rect {
            y: y + 1,
            ..value_area
        };
        // A hint longer than the row ends in an ellipsis, never mid-word.
        let style = hint.style;
        let hint = Line::from(cut_spans(hint.spans, hint_area.width)).style(style);
        frame.render_widget(Paragraph::new(hint), hint_area);
    }
}

/// The URL field as drawn: the password in its user part (after `user:`, up to the last '@') as
/// one '*' a character. Before the '@' is typed, what follows a ':' is masked unless it is a port.
fn url_shown(value: &str) -> String {
    let Some(start) = value.find("://").map(|i| i + 3) else {
        return value.to_string();
    };
    let rest = &value[start..];
    let userinfo = match rest.rfind('@') {
        Some(at) => &rest[..at],
        None => {
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            match authority.split_once(':') {
                Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => return value.into(),
                _ => authority,
            }
        }
    };
    let Some(colon) = userinfo.find(':') else {
        return value.to_string();
    };
    let (from, to) = (start + colon + 1, start + userinfo.len());
    let masked: String = value[from..to].chars().map(|_| '*').collect();
    format!("{}{masked}{}", &value[..from], &value[to..])
}

/// What the value chosen in a field of choices means (the catalogue's `choice_help`).
fn choice_meaning<'a>(shared: &'a Shared, form: &FormState, field: &FormField) -> Option<&'a str> {
    let FieldKey::Field(name) = &field.key else {
        return None;
    };
    let spec = shared.catalog.get(&form.component)?.field(name)?;
    spec.choice_help
        .get(field.input.value())
        .map(String::as_str)
}

fn panel_lines<'a>(shared: &Shared, form: &'a FormState) -> Vec<Line<'a>> {
    let t = &shared.theme;
    let mut lines = Vec::new();
    if let Some(banner) = &form.underneath {
        lines.push(Line::styled(format!("! {banner}"), t.warn()));
    }
    match &form.phase {
        FormPhase::Editing => {}
        // Drawn as dialogs over the form (conflict_dialog, host_key_dialog).
        FormPhase::Conflict { .. } | FormPhase::ConfirmHostKey { .. } => {}
        FormPhase::Verifying { .. } => {
            lines.push(Line::from(vec![
                Span::styled(spinner(shared.spinner_frame()), t.key()),
                Span::raw(" Verifying with the service…"),
            ]));
            lines.push(Line::styled(
                "Nothing is saved until it answers. Esc cancels.",
                t.dim(),
            ));
        }
        FormPhase::Refused { status, reason } => {
            lines.push(Line::styled(format!("✗ {}", status.as_str()), t.error()));
            lines.push(Line::raw(reason.clone()));
            lines.push(Line::styled(
                "Nothing was saved. Fix the fields; Ctrl-s retries.",
                t.dim(),
            ));
        }
        FormPhase::Unreachable { check, .. } => {
            lines.push(Line::styled("! unreachable", t.warn()));
            lines.push(Line::raw(check.reason.clone()));
            lines.push(Line::styled(
                "Ctrl-o saves it as unverified; Ctrl-s retries.",
                t.dim(),
            ));
        }
        FormPhase::Saving => lines.push(Line::from(vec![
            Span::styled(spinner(shared.spinner_frame()), t.key()),
            Span::raw(" Saving…"),
        ])),
    }
    lines.extend(message_line(shared, form));
    lines
}

/// Trust on first use, never silently: the server's fingerprint, to compare with what its
/// administrator (or `ssh-keygen -lf` on the server) says, before anything is sent to it.
fn host_key_dialog(frame: &mut Frame, area: Rect, shared: &Shared, fingerprint: &str) {
    let t = &shared.theme;
    let width = area.width.min(72);
    let inner = dialog(
        frame,
        area,
        t,
        " Trust this host key? ",
        width,
        9.min(area.height),
    );
    let lines = vec![
        Line::raw("The SSH server presents this host key; nothing was sent to it yet:"),
        Line::styled(format!("  {fingerprint}"), t.key()),
        Line::styled(
            "Compare it with ssh-keygen -lf on the server's host key.",
            t.dim(),
        ),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.key()),
            Span::raw(" trust it, pin it and save   "),
            Span::styled("n", t.key()),
            Span::raw("/"),
            Span::styled("Esc", t.key()),
            Span::raw(" do not trust it"),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Both versions of a credential whose save met another process's change, field by field;
/// secrets are never shown, only whether the two differ.
fn conflict_dialog(
    frame: &mut Frame,
    area: Rect,
    shared: &Shared,
    form: &FormState,
    mine: &Credential,
    theirs: Option<&Credential>,
) {
    let t = &shared.theme;
    let mut rows: Vec<(String, String, String)> = vec![
        (
            "Name".into(),
            mine.name.clone(),
            theirs.map_or_else(String::new, |c| c.name.clone()),
        ),
        (
            "Environment".into(),
            mine.environment.as_str().to_string(),
            theirs.map_or_else(String::new, |c| c.environment.as_str().to_string()),
        ),
    ];
    if let Some(component) = shared.catalog.get(&form.component) {
        for spec in &component.fields {
            let (a, b) = if spec.secret {
                let mine_value = mine.secrets.expose(&spec.name);
                let theirs_value = theirs.and_then(|c| c.secrets.expose(&spec.name));
                let masked = |v: Option<&str>| {
                    if v.is_some() {
                        "••••••"
                    } else {
                        "(none)"
                    }
                };
                let b = match theirs {
                    None => String::new(),
                    Some(_) if mine_value == theirs_value => masked(theirs_value).to_string(),
                    Some(_) => format!("{} (differs)", masked(theirs_value)),
                };
                (masked(mine_value).to_string(), b)
            } else {
                let value = |c: &Credential| c.public.get(&spec.name).cloned().unwrap_or_default();
                (value(mine), theirs.map_or_else(String::new, value))
            };
            rows.push((spec.label.clone(), a, b));
        }
    }
    let heading = match theirs {
        Some(c) => format!(
            "Saved meanwhile by {} at {} (revision {}; you opened revision {}).",
            c.revision.author(),
            c.revision.changed_at.rfc3339(),
            c.revision.number,
            form.base.as_ref().map_or(0, |b| b.revision.number)
        ),
        None => "Deleted by another process since this form opened.".to_string(),
    };
    let w = area.width.min(84);
    let h = u16::try_from(rows.len() + 7)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let inner = dialog(frame, area, t, " Changed by another process ", w, h);
    let col = usize::from(inner.width.saturating_sub(16) / 2).max(6);
    let mut lines = vec![
        Line::styled(heading, t.warn()),
        Line::from(vec![
            Span::styled(format!("  {:<13}", "Field"), t.dim()),
            Span::styled(format!("{:<col$} ", "Mine"), t.dim()),
            Span::styled("Theirs", t.dim()),
        ]),
    ];
    for (label, a, b) in &rows {
        let differs = theirs.is_some() && (a != b || b.ends_with("(differs)"));
        let mark = if differs { "≠ " } else { "  " };
        let style = if differs { t.warn() } else { t.base() };
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(format!("{:<13}", truncate(label, 12)), style),
            Span::styled(
                format!("{:<col$} ", truncate(a, col.saturating_sub(1))),
                style,
            ),
            Span::styled(truncate(b, col), style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("r", t.key()),
        Span::raw(" reload theirs   "),
        Span::styled("o", t.key()),
        Span::raw(" overwrite with mine   "),
        Span::styled("Esc", t.key()),
        Span::raw(" keep editing"),
    ]));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::url_shown;

    #[test]
    fn a_url_is_drawn_without_its_password() {
        assert_eq!(
            url_shown("mysql://etl:p@ss@db:3306/x"),
            "mysql://etl:****@db:3306/x"
        );
        assert_eq!(url_shown("redis://:pw@cache"), "redis://:**@cache");
        assert_eq!(url_shown("postgresql://etl:sec"), "postgresql://etl:***");
        assert_eq!(url_shown("redis://cache:6379/0"), "redis://cache:6379/0");
        assert_eq!(url_shown("postgresql://etl@db/x"), "postgresql://etl@db/x");
        assert_eq!(
            url_shown("postgresql://etl:密码@db"),
            "postgresql://etl:**@db"
        );
        assert_eq!(url_shown("not a url"), "not a url");
    }
}
