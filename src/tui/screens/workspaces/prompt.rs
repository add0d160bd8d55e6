//! The workspace picker's name prompt: a new workspace's name, a new name, or the typed name
//! that confirms deleting a workspace with everything in it. Checked with the store's own rules
//! before anything is sent, so a refusal shows at once, in the store's words.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use crate::core::{RecordId, RuleError, Snapshot};
use crate::tui::app::action::Effect;
use crate::tui::widgets::dialog::dialog;
use crate::tui::widgets::text_field::{self, FieldLook};
use crate::tui::widgets::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    NewWorkspace,
    RenameWorkspace(RecordId),
    /// Deleting a workspace that holds records: the user types its name.
    DeleteWorkspace {
        name: String,
    },
}

#[derive(Debug)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: Input,
    pub error: Option<String>,
}

impl Prompt {
    pub fn new(kind: PromptKind, value: String) -> Prompt {
        Prompt {
            kind,
            input: Input::new(value),
            error: None,
        }
    }

    /// The write the typed value asks for, if the rules allow it.
    pub fn effect(&self, snapshot: &Snapshot) -> Result<Effect, RuleError> {
        let value = self.input.value().to_string();
        match &self.kind {
            PromptKind::NewWorkspace => snapshot
                .check_new_workspace(&value, None)
                .map(|()| Effect::AddWorkspace { name: value }),
            PromptKind::RenameWorkspace(id) => {
                snapshot
                    .check_new_workspace(&value, Some(id))
                    .map(|()| Effect::RenameWorkspace {
                        id: id.clone(),
                        name: value,
                    })
            }
            PromptKind::DeleteWorkspace { name } if &value == name => Ok(Effect::DeleteWorkspace {
                name: name.clone(),
                force: true,
            }),
            PromptKind::DeleteWorkspace { name } => Err(RuleError::BadName(format!(
                "type '{name}' exactly to delete it with everything in it"
            ))),
        }
    }

    /// The prompt as a dialog over `area`; `focused`: it has the keyboard (no help over it).
    pub fn draw(&self, frame: &mut Frame, area: Rect, t: &Theme, focused: bool) {
        let (title, text) = match &self.kind {
            PromptKind::NewWorkspace => (" New workspace ", "Name of the new workspace:".to_string()),
            PromptKind::RenameWorkspace(_) => (" Rename workspace ", "New name:".to_string()),
            PromptKind::DeleteWorkspace { name } => (
                " Delete workspace ",
                format!(
                    "'{name}' still holds credentials or flows; they are deleted with it. Type its name to confirm:"
                ),
            ),
        };
        let r = dialog(frame, area, t, title, 60, 8);
        let mut lines = vec![Line::raw(text)];
        if let Some(e) = &self.error {
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
                &self.input,
                &FieldLook {
                    masked: false,
                    focused,
                    style: t.selected(),
                    placeholder: None,
                    placeholder_style: t.dim(),
                },
            );
        }
    }
}
