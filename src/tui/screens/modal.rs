//! Dialogs drawn over the current screen: help, text prompts, delete and discard confirmations.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::keys::{self, Context};
use crate::tui::state::{DeleteTarget, Discard, Modal, PromptKind, State};
use crate::tui::widgets::centered;
use crate::tui::widgets::text_field::{self, FieldLook};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let Some(modal) = &state.modal else { return };
    match modal {
        Modal::Help { context } => help(frame, area, state, *context),
        Modal::Prompt(p) => {
            let (title, text) = match &p.kind {
                PromptKind::NewWorkspace => (" New workspace ", "Name of the new workspace:".to_string()),
                PromptKind::RenameWorkspace(_) => (" Rename workspace ", "New name:".to_string()),
                PromptKind::DeleteWorkspace { name } => (
                    " Delete workspace ",
                    format!(
                        "'{name}' still holds credentials or flows; they are deleted with it. Type its name to confirm:"
                    ),
                ),
            };
            let r = dialog(frame, area, state, title, 60, 8);
            let mut lines = vec![Line::raw(text)];
            if let Some(e) = &p.error {
                lines.push(Line::styled(format!("✗ {e}"), t.error()));
            }
            let text_h = r.height.saturating_sub(2);
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: true }),
                Rect {
                    height: text_h,
                    ..r
                },
            );
            if r.height >= 2 {
                let field = Rect {
                    y: r.bottom() - 1,
                    height: 1,
                    ..r
                };
                text_field::draw(
                    frame,
                    field,
                    &p.input,
                    &FieldLook {
                        masked: false,
                        focused: true,
                        style: t.selected(),
                        placeholder: None,
                        placeholder_style: t.dim(),
                    },
                );
            }
        }
        Modal::ConfirmDelete { target, refusal } => {
            let what = match target {
                DeleteTarget::Credential { name, .. } => format!("credential '{name}'"),
                DeleteTarget::EmptyWorkspace { name } => format!("empty workspace '{name}'"),
                DeleteTarget::Flow { name, .. } => format!("flow '{name}'"),
            };
            let r = dialog(frame, area, state, " Delete ", 60, 8);
            let lines = match refusal {
                Some(why) => vec![
                    Line::styled(format!("Cannot delete the {what}."), t.error()),
                    Line::raw(why.clone()),
                    Line::styled("Esc closes.", t.dim()),
                ],
                None => vec![
                    Line::raw(format!("Delete the {what}? This cannot be undone.")),
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled("y", t.key()),
                        Span::raw(" delete   "),
                        Span::styled("n/Esc", t.key()),
                        Span::raw(" keep it"),
                    ]),
                ],
            };
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
        Modal::ConfirmDiscard(what) => {
            let r = dialog(frame, area, state, " Discard changes? ", 50, 6);
            let lines = vec![
                Line::raw(match what {
                    Discard::Form => "The form has unsaved changes.",
                    Discard::Wizard => "The flow has not been saved.",
                }),
                Line::from(vec![
                    Span::styled("y", t.key()),
                    Span::raw(" discard   "),
                    Span::styled("n/Esc", t.key()),
                    Span::raw(" keep editing"),
                ]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
    }
}

/// Draws a bordered box and returns its inside.
fn dialog(frame: &mut Frame, area: Rect, state: &State, title: &str, w: u16, h: u16) -> Rect {
    let t = &state.theme;
    let r = centered(area, w, h);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.focus_border())
        .title(Span::styled(title.to_string(), t.title()));
    let inner = block.inner(r);
    frame.render_widget(Clear, r);
    frame.render_widget(block, r);
    inner
}

fn help(frame: &mut Frame, area: Rect, state: &State, context: Context) {
    let t = &state.theme;
    let bindings = keys::bindings(context);
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>16}  ", keys::binding_label(b)), t.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled(format!("{:>16}  ", "Ctrl-c"), t.key()),
        Span::raw("quit from anywhere"),
    ]));
    if context.takes_text() {
        lines.push(Line::styled(
            "Other keys type into the focused field (←/→, Home/End, Ctrl-w, Ctrl-u edit).",
            t.dim(),
        ));
    }
    let title = format!(" Help: {} (Esc closes) ", context.title());
    let h = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let r = dialog(frame, area, state, &title, 72, h);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), r);
}
