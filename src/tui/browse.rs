//! Browsing: the component grid (with its filter) and a component's credentials list.

use tui_input::Input;

use crate::core::Credential;

use super::action::Effect;
use super::keys::{Command, Context};
use super::layout;
use super::state::*;
use super::{audit, detail, flows, form, workspaces};

pub(super) fn grid_command(state: &mut State, context: Context, command: Command) {
    let count = state.visible_components().len();
    let columns = layout::grid_columns(state.size.0);
    let grid = &mut state.grid;
    if context == Context::GridFilter {
        match command {
            Command::Confirm => {
                grid.filtering = false;
                return;
            }
            Command::Cancel => {
                grid.filtering = false;
                grid.filter = Input::default();
                grid.selected = 0;
                return;
            }
            _ => grid.filtering = false,
        }
    }
    let last = count.saturating_sub(1);
    let sel = grid.selected.min(last);
    grid.selected = match command {
        Command::Left => sel.saturating_sub(1),
        Command::Right => (sel + 1).min(last),
        Command::Up => sel.checked_sub(columns).unwrap_or(sel),
        Command::Down if sel + columns <= last => sel + columns,
        // The last row may be short: moving down from above it lands on its last card.
        Command::Down if sel / columns < last / columns => last,
        _ => sel,
    };
    match command {
        Command::Filter => grid.filtering = true,
        Command::Back => {
            grid.filter = Input::default();
            grid.selected = 0;
        }
        Command::Flows => flows::open_list(state),
        Command::Audit => audit::open(state),
        Command::Workspaces => {
            let index = state.vault.as_ref().and_then(|v| {
                workspaces::sorted_workspaces(&v.snapshot)
                    .iter()
                    .position(|w| Some(&w.id) == v.workspace.as_ref())
            });
            state.workspaces.selected = index.unwrap_or(0);
            state.screen = Screen::Workspaces;
        }
        Command::Open => {
            let Some(id) = state.visible_components().get(sel).map(|c| c.id.clone()) else {
                return;
            };
            if let Some(view) = state.vault.as_mut() {
                view.show_component(&id);
            }
            state.credentials = CredentialsState {
                component: id,
                selected: 0,
            };
            state.notice = None;
            state.screen = Screen::Credentials;
        }
        _ => {}
    }
}

// ---- credentials -----------------------------------------------------------------------------

/// Re-verifies a stored credential (the list's and the detail view's `v`); the result is
/// recorded like any other and shows in the status column and the history.
pub(super) fn verify_now(state: &mut State, c: Credential, fx: &mut Vec<Effect>) {
    let Some(component) = state.catalog.get(&c.component).cloned() else {
        state.notice = Some(Notice::error(format!(
            "Component '{}' is not in the catalogue",
            c.component
        )));
        return;
    };
    let Some(request) = state.begin_verifying(&c) else {
        return;
    };
    state.notice = Some(Notice::info(format!("Verifying '{}'…", c.name)));
    fx.push(Effect::Verify {
        request,
        component: Box::new(component),
        credential: Box::new(c),
    });
}

pub(super) fn credentials_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let count = view.row_count();
    let sel = state.credentials.selected.min(count.saturating_sub(1));
    state.credentials.selected = sel;
    let current = view.row(sel).cloned();
    match command {
        Command::Up => state.credentials.selected = sel.saturating_sub(1),
        Command::Down => state.credentials.selected = (sel + 1).min(count.saturating_sub(1)),
        Command::Back => {
            state.notice = None;
            state.screen = Screen::Grid;
        }
        Command::Add => {
            let component = state.credentials.component.clone();
            form::open_form(state, &component, None, "staging", FormOrigin::Credentials);
        }
        Command::Edit => {
            if let Some(c) = current {
                let component = c.component.clone();
                form::open_form(state, &component, Some(&c), "", FormOrigin::Credentials);
            }
        }
        Command::Details => {
            if let Some(c) = current {
                detail::open(state, c.id, Screen::Credentials, fx);
            }
        }
        Command::UsedBy => {
            if let Some(c) = current {
                flows::open_used_by(state, c.id, Screen::Credentials);
            }
        }
        Command::Verify => {
            if let Some(c) = current {
                verify_now(state, c, fx);
            }
        }
        Command::Delete => {
            let Some(c) = current else { return };
            let refusal = view
                .snapshot
                .check_credential_delete(&c)
                .err()
                .map(|e| e.to_string());
            state.modal = Some(Modal::ConfirmDelete {
                target: DeleteTarget::Credential {
                    id: c.id.clone(),
                    name: c.name.clone(),
                },
                refusal,
            });
        }
        _ => {}
    }
}
