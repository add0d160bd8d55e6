//! The workspace picker: pick, add, rename and delete workspaces. Opened from the grid (`w`),
//! or in place of it after unlocking when no workspace is remembered; picking one starts the
//! navigation over from that workspace's grid.

pub mod keys;
mod prompt;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::core::{RecordId, Snapshot, Workspace};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::{DeleteTarget, Modal, Shared};
use crate::vault::Changes;
use keys::{Command, PROMPT, WORKSPACES};
pub use prompt::{Prompt, PromptKind};

#[derive(Debug, Default)]
pub struct WorkspacesState {
    pub selected: usize,
    /// The name prompt, while it is open.
    pub prompt: Option<Prompt>,
}

/// Workspaces in display order (by name, case-insensitively).
pub fn sorted_workspaces(snapshot: &Snapshot) -> Vec<&Workspace> {
    let mut list: Vec<&Workspace> = snapshot.workspaces.iter().collect();
    list.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.name.cmp(&b.name))
    });
    list
}

impl WorkspacesState {
    /// The picker with the open workspace (if any) selected.
    pub fn open(shared: &Shared) -> WorkspacesState {
        let selected = shared.vault.as_ref().and_then(|v| {
            sorted_workspaces(&v.snapshot)
                .iter()
                .position(|w| Some(&w.id) == v.workspace.as_ref())
        });
        WorkspacesState {
            selected: selected.unwrap_or(0),
            prompt: None,
        }
    }

    fn prompt_command(&mut self, shared: &mut Shared, command: Command) -> Update {
        let Some(prompt) = self.prompt.as_mut() else {
            return Update::none();
        };
        if command != Command::Confirm {
            self.prompt = None;
            return Update::none();
        }
        let Some(view) = shared.vault.as_ref() else {
            return Update::none();
        };
        match prompt.effect(&view.snapshot) {
            Ok(effect) => {
                self.prompt = None;
                Update::effect(effect)
            }
            Err(e) => {
                prompt.error = Some(e.to_string());
                Update::none()
            }
        }
    }
}

impl Screen for WorkspacesState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.prompt.is_some() {
            &PROMPT
        } else {
            &WORKSPACES
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if self.prompt.is_some() {
            return self.prompt_command(shared, command);
        }
        let Some(view) = shared.vault.as_mut() else {
            return Update::none();
        };
        let list: Vec<Workspace> = sorted_workspaces(&view.snapshot)
            .into_iter()
            .cloned()
            .collect();
        let sel = &mut self.selected;
        *sel = (*sel).min(list.len().saturating_sub(1));
        let current = list.get(*sel);
        match command {
            Command::Up => *sel = sel.saturating_sub(1),
            Command::Down => *sel = (*sel + 1).min(list.len().saturating_sub(1)),
            Command::Open => {
                if let Some(w) = current {
                    view.select_workspace(Some(w.id.clone()));
                    shared.notice = None;
                    return Update::effect(Effect::RememberWorkspace { id: w.id.clone() })
                        .and(Nav::Reset(Route::Grid));
                }
            }
            Command::Add => {
                self.prompt = Some(Prompt::new(PromptKind::NewWorkspace, String::new()))
            }
            Command::Rename => {
                if let Some(w) = current {
                    self.prompt = Some(Prompt::new(
                        PromptKind::RenameWorkspace(w.id.clone()),
                        w.name.clone(),
                    ))
                }
            }
            Command::Delete => {
                if let Some(w) = current {
                    let held = view.snapshot.credentials_in(&w.id).count()
                        + view.snapshot.flows_in(&w.id).count();
                    if held == 0 {
                        shared.modal = Some(Modal::ConfirmDelete {
                            target: DeleteTarget::EmptyWorkspace {
                                name: w.name.clone(),
                            },
                            refusal: None,
                        });
                    } else {
                        self.prompt = Some(Prompt::new(
                            PromptKind::DeleteWorkspace {
                                name: w.name.clone(),
                            },
                            String::new(),
                        ));
                    }
                }
            }
            // Back to the grid, when a workspace is open for it to show.
            Command::Back if view.workspace.is_some() => return Update::nav(Nav::BACK),
            Command::Back | Command::Confirm | Command::Cancel => {}
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "workspaces".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area);
        if let Some(p) = &self.prompt {
            p.draw(frame, area, &shared.theme, shared.modal.is_none());
        }
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        self.prompt.as_mut().map(|p| &mut p.input)
    }

    fn edited(&mut self, _shared: &mut Shared) {
        if let Some(p) = self.prompt.as_mut() {
            p.error = None;
        }
    }

    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        let list = sorted_workspaces(&shared.vault.as_ref()?.snapshot);
        let last = list.len().checked_sub(1)?;
        list.get(self.selected.min(last)).map(|w| w.id.clone())
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        _changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let Some(view) = shared.vault.as_ref() else {
            return Vec::new();
        };
        let list = sorted_workspaces(&view.snapshot);
        let found = cursor.and_then(|id| list.iter().position(|w| w.id == id));
        self.selected = found.unwrap_or(self.selected.min(list.len().saturating_sub(1)));
        Vec::new()
    }

    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update> {
        let view = shared.vault.as_ref()?;
        match event {
            Stored::WorkspaceAdded(id) => {
                let index = sorted_workspaces(&view.snapshot)
                    .iter()
                    .position(|w| &w.id == id);
                self.selected = index.unwrap_or(0);
            }
            Stored::WorkspaceRenamed => {}
            Stored::WorkspaceDeleted => self.selected = self.selected.saturating_sub(1),
            _ => return None,
        }
        Some(Update::none())
    }
}
