//! The workspaces screen: pick, add, rename and delete workspaces, with the text prompt and
//! the typed delete confirmation they share with other screens.

use tui_input::Input;

use crate::core::Snapshot;
use crate::core::{RuleError, Workspace};

use super::action::Effect;
use super::keys::Command;
use super::state::*;

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

pub(super) fn workspaces_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(view) = state.vault.as_mut() else {
        return;
    };
    let list: Vec<Workspace> = sorted_workspaces(&view.snapshot)
        .into_iter()
        .cloned()
        .collect();
    let sel = &mut state.workspaces.selected;
    *sel = (*sel).min(list.len().saturating_sub(1));
    let current = list.get(*sel);
    match command {
        Command::Up => *sel = sel.saturating_sub(1),
        Command::Down => *sel = (*sel + 1).min(list.len().saturating_sub(1)),
        Command::Open => {
            if let Some(w) = current {
                view.select_workspace(Some(w.id.clone()));
                fx.push(Effect::RememberWorkspace { id: w.id.clone() });
                state.grid = GridState::default();
                state.notice = None;
                state.screen = Screen::Grid;
            }
        }
        Command::Add => {
            state.modal = Some(Modal::Prompt(Prompt {
                kind: PromptKind::NewWorkspace,
                input: Input::default(),
                error: None,
            }))
        }
        Command::Rename => {
            if let Some(w) = current {
                state.modal = Some(Modal::Prompt(Prompt {
                    kind: PromptKind::RenameWorkspace(w.id.clone()),
                    input: Input::new(w.name.clone()),
                    error: None,
                }))
            }
        }
        Command::Delete => {
            if let Some(w) = current {
                let held = view.snapshot.credentials_in(&w.id).count()
                    + view.snapshot.flows_in(&w.id).count();
                state.modal = Some(if held == 0 {
                    Modal::ConfirmDelete {
                        target: DeleteTarget::EmptyWorkspace {
                            name: w.name.clone(),
                        },
                        refusal: None,
                    }
                } else {
                    Modal::Prompt(Prompt {
                        kind: PromptKind::DeleteWorkspace {
                            name: w.name.clone(),
                        },
                        input: Input::default(),
                        error: None,
                    })
                });
            }
        }
        Command::Back if view.workspace.is_some() => state.screen = Screen::Grid,
        _ => {}
    }
}

pub(super) fn prompt_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(Modal::Prompt(prompt)) = state.modal.as_mut() else {
        return;
    };
    if command != Command::Confirm {
        state.modal = None;
        return;
    }
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let value = prompt.input.value().to_string();
    let effect = match &prompt.kind {
        PromptKind::NewWorkspace => view
            .snapshot
            .check_new_workspace(&value, None)
            .map(|()| Effect::AddWorkspace { name: value }),
        PromptKind::RenameWorkspace(id) => {
            view.snapshot
                .check_new_workspace(&value, Some(id))
                .map(|()| Effect::RenameWorkspace {
                    id: id.clone(),
                    name: value,
                })
        }
        PromptKind::DeleteWorkspace { name } => {
            if &value == name {
                Ok(Effect::DeleteWorkspace {
                    name: name.clone(),
                    force: true,
                })
            } else {
                Err(RuleError::BadName(format!(
                    "type '{name}' exactly to delete it with everything in it"
                )))
            }
        }
    };
    match effect {
        Ok(e) => {
            fx.push(e);
            state.modal = None;
        }
        Err(e) => prompt.error = Some(e.to_string()),
    }
}

pub(super) fn confirm_delete_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(Modal::ConfirmDelete { target, refusal }) = state.modal.take() else {
        return;
    };
    if command != Command::Confirm || refusal.is_some() {
        return;
    }
    fx.push(match target {
        DeleteTarget::Credential { id, .. } => Effect::DeleteCredential { id },
        DeleteTarget::EmptyWorkspace { name } => Effect::DeleteWorkspace { name, force: false },
        DeleteTarget::Flow { id, .. } => Effect::DeleteFlow { id },
    });
}
