//! Unlock: the masked passphrase (twice when creating a vault), a spinner while the key is
//! derived, and the last error.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::UnlockState;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::notice_style;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::{centered, spinner, truncate};

pub(super) fn render(u: &UnlockState, shared: &Shared, frame: &mut Frame, area: Rect) {
    let t = &shared.theme;
    let box_area = centered(area, 64, if u.creating { 11 } else { 9 });
    // A team vault's passphrase is the member's own (it opens their identity, which opens
    // their key slot), not one the team shares: the title says whose.
    let title = if u.creating {
        " Create a new vault "
    } else if crate::vault::is_team_vault(&shared.vault_path) {
        " Unlock the team vault: your identity's passphrase "
    } else {
        " Unlock the vault "
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.focus_border())
        .title(Span::styled(title, t.title()));
    let inner = block.inner(box_area);
    frame.render_widget(Clear, box_area);
    frame.render_widget(block, box_area);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let width = usize::from(inner.width);
    let path = shared.vault_path.display().to_string();
    let mut y = inner.y;
    let mut line = |frame: &mut Frame, l: Line| {
        if y < inner.bottom() {
            frame.render_widget(
                Paragraph::new(l),
                Rect {
                    y,
                    height: 1,
                    ..inner
                },
            );
        }
        y += 1;
    };
    line(
        frame,
        Line::from(Span::styled(truncate(&path, width), t.dim())),
    );
    line(frame, Line::raw(""));
    let label_w = 12u16;
    let field = |frame: &mut Frame, y: u16, label: &str, index: usize| {
        if y >= inner.bottom() {
            return;
        }
        let focused = u.focus == index && !u.busy && shared.modal.is_none();
        let style = if focused { t.key() } else { t.base() };
        let input = if index == 0 {
            &u.passphrase
        } else {
            &u.confirm
        };
        text_field::labelled(
            frame,
            inner,
            y,
            label_w,
            Span::styled(label.to_string(), style),
            input,
            &FieldLook {
                masked: true,
                focused,
                style: t.base(),
                placeholder: Some("(type, then Enter)".into()),
                placeholder_style: t.dim(),
            },
        );
    };
    field(frame, y, "Passphrase", 0);
    y += 1;
    if u.creating {
        field(frame, y, "Again", 1);
        y += 1;
    }
    y += 1;
    let status = if u.busy {
        Some(Line::from(vec![
            Span::styled(spinner(shared.spinner_frame()), t.key()),
            Span::raw(if u.creating {
                " Creating the vault (deriving the key)…"
            } else {
                " Unlocking (deriving the key)…"
            }),
        ]))
    } else {
        u.message
            .as_ref()
            .map(|m| Line::from(Span::styled(m.text.clone(), notice_style(t, m))))
    };
    if let Some(l) = status {
        if y < inner.bottom() {
            let rest = Rect {
                y,
                height: inner.bottom() - y,
                ..inner
            };
            frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: true }), rest);
        }
    }
}
