//! The OAuth2 login panels of the credential form. The device panel (URL and user code) sits
//! in the form's side panel; the browser panel spans the full width under the form, with no
//! side borders, so each row of the wrapped URL is nothing but URL and can be selected and
//! copied from tmux or an SSH terminal (browsers drop the line breaks when it is pasted).
//! Nothing here draws a secret: tokens go to the form's masked fields.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tui_input::Input;

use super::login::{LoginPhase, LoginState};
use crate::tui::app::action::DeviceInfo;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::{spinner, truncate};

/// Lines for the side panel while a login starts or a device login waits; None for the
/// browser flow, which has its own panel.
pub fn side_lines(shared: &Shared, login: &LoginState) -> Option<Vec<Line<'static>>> {
    let t = &shared.theme;
    let spin = Span::styled(spinner(shared.spinner_frame()), t.key());
    match &login.phase {
        LoginPhase::Starting => Some(vec![
            Line::from(vec![spin, Span::raw(" Starting the login…")]),
            Line::styled("Esc cancels.", t.dim()),
        ]),
        LoginPhase::Device(device) => Some(device_lines(shared, spin, device)),
        LoginPhase::Paste { .. } => None,
    }
}

fn device_lines(shared: &Shared, spin: Span<'static>, d: &DeviceInfo) -> Vec<Line<'static>> {
    let t = &shared.theme;
    let mut lines = vec![
        Line::from(vec![spin, Span::raw(" Waiting for your approval")]),
        Line::raw(""),
        Line::raw("1. Open on any device:"),
        Line::styled(d.verification_uri.clone(), t.key()),
        Line::raw("2. Enter the code:"),
        Line::styled(format!("   {}", d.user_code), t.title()),
    ];
    if let Some(complete) = &d.verification_uri_complete {
        lines.push(Line::raw("Or open, code included:"));
        lines.push(Line::styled(complete.clone(), t.key()));
    }
    lines.push(Line::raw(""));
    if let Some(note) = &d.note {
        lines.push(Line::styled(note.clone(), t.dim()));
    }
    lines.push(Line::styled(
        format!(
            "The code is valid for {}. Esc cancels.",
            minutes(d.expires_in.as_secs())
        ),
        t.dim(),
    ));
    lines
}

fn minutes(secs: u64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs / 60)
    }
}

/// The browser flow's URL, its paste field and progress, when that flow is under way.
pub struct PastePanel<'a> {
    pub url: &'a str,
    pub input: &'a Input,
    pub exchanging: bool,
}

impl<'a> PastePanel<'a> {
    pub fn of(login: &'a LoginState) -> Option<PastePanel<'a>> {
        match &login.phase {
            LoginPhase::Paste {
                url,
                input,
                exchanging,
            } => Some(PastePanel {
                url,
                input,
                exchanging: *exchanging,
            }),
            _ => None,
        }
    }

    /// Rows needed at `width`: the top border, two instructions, the URL in full, the field.
    pub fn height(&self, width: u16) -> u16 {
        let rows = url_rows(self.url, usize::from(width.max(1))).len();
        u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(4)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let t = &shared.theme;
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(t.focus_border())
            .title(Span::styled(" Log in through a browser ", t.title()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let width = usize::from(inner.width);
        let mut lines = vec![Line::styled(
            truncate("Open this address in any browser and sign in:", width),
            t.dim(),
        )];
        lines.extend(
            url_rows(self.url, width)
                .into_iter()
                .map(|row| Line::styled(row, t.key())),
        );
        lines.push(Line::styled(
            truncate(
                "Paste the address the browser ended on (the page may not load), then Enter:",
                width,
            ),
            t.dim(),
        ));
        let field_row = inner.y + u16::try_from(lines.len()).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(lines), inner);
        if field_row >= inner.bottom() {
            return;
        }
        let row = Rect {
            y: field_row,
            height: 1,
            ..inner
        };
        if self.exchanging {
            frame.render_widget(
                Line::from(vec![
                    Span::styled(spinner(shared.spinner_frame()), t.key()),
                    Span::raw(" Exchanging the code for tokens…"),
                ]),
                row,
            );
            return;
        }
        frame.render_widget(Span::styled("> ", t.key()), row);
        text_field::draw(
            frame,
            Rect {
                x: row.x + 2,
                width: row.width.saturating_sub(2),
                ..row
            },
            self.input,
            &FieldLook {
                masked: false,
                focused: shared.modal.is_none(),
                style: t.selected(),
                placeholder: Some("http://127.0.0.1/keyway-callback?code=…".into()),
                placeholder_style: t.dim(),
            },
        );
    }
}

/// The URL cut into rows of exactly `width` characters (URLs are ASCII once serialised), so
/// it is shown in full however long it is.
fn url_rows(url: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = url.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::url_rows;

    #[test]
    fn urls_are_cut_into_full_rows_without_losing_a_character() {
        let url = "https://auth.example.com/authorize?client_id=abc&state=xyz";
        let rows = url_rows(url, 10);
        assert!(rows[..rows.len() - 1].iter().all(|r| r.len() == 10));
        assert_eq!(rows.concat(), url);
    }
}
