//! What the UI does when a write finishes or fails: take the new snapshot, move the selection,
//! tell the user.

use crate::core::Snapshot;

use super::action::Stored;
use super::state::*;
use super::{flows, form, wizard, workspaces};

pub(super) fn on_store_failed(state: &mut State, event: Stored, message: String) {
    if let (Stored::CredentialSaved(_), Some(form)) = (&event, state.form.as_mut()) {
        form.phase = FormPhase::Editing;
        form.message = Some(Notice::error(format!("Not saved: {message}")));
        return;
    }
    let handled = match &event {
        Stored::FlowSaved { .. } => wizard::save_failed(state, &message),
        Stored::FlowPromoted { .. } => flows::promote_failed(state, &message),
        _ => false,
    };
    if handled {
        return;
    }
    let text = match event {
        Stored::FlowActivated { active: true, .. } => format!("Not activated: {message}"),
        Stored::Rebound { to, .. } => format!("Not rebound to '{to}': {message}"),
        Stored::VerificationsRecorded => format!("Audit results not recorded: {message}"),
        _ => message,
    };
    state.notice = Some(Notice::error(text));
}

pub(super) fn on_stored(state: &mut State, snapshot: Snapshot, event: Stored) {
    let Some(view) = state.vault.as_mut() else {
        return;
    };
    view.replace(snapshot);
    match event {
        Stored::WorkspaceAdded(id) => {
            let index = workspaces::sorted_workspaces(&view.snapshot)
                .iter()
                .position(|w| w.id == id);
            state.workspaces.selected = index.unwrap_or(0);
            state.notice = Some(Notice::info("Workspace created: Enter opens it"));
        }
        Stored::WorkspaceRenamed => state.notice = Some(Notice::info("Workspace renamed")),
        Stored::WorkspaceDeleted => {
            state.workspaces.selected = state.workspaces.selected.saturating_sub(1);
            state.notice = Some(Notice::info("Workspace deleted"));
            if view.workspace.is_none() {
                state.screen = Screen::Workspaces;
            }
        }
        Stored::CredentialSaved(id) => {
            let index = view.rows().position(|c| c.id == id);
            let saved = view.snapshot.credential(&id);
            let text = saved.map_or_else(
                || "Saved".to_string(),
                |c| {
                    let status = c.status_word();
                    match c.last_verification.as_ref().and_then(|v| v.detail.clone()) {
                        Some(d) => format!("Saved '{}' ({status}: {d})", c.name),
                        None => format!("Saved '{}' ({status})", c.name),
                    }
                },
            );
            let mut origin = FormOrigin::Credentials;
            if state
                .form
                .as_ref()
                .is_some_and(|f| matches!(f.phase, FormPhase::Saving))
            {
                if let Some(form) = state.form.take() {
                    origin = form::leave(state, form);
                }
            }
            match origin {
                FormOrigin::Credentials => state.credentials.selected = index.unwrap_or(0),
                FormOrigin::Wizard { step } => wizard::credential_added(state, step, id),
                FormOrigin::Promote { step } => flows::promote_credential_added(state, step, id),
            }
            state.notice = Some(Notice::info(text));
        }
        Stored::VerificationRecorded => {}
        Stored::CredentialDeleted => {
            let count = view.row_count();
            state.credentials.selected = state.credentials.selected.min(count.saturating_sub(1));
            state.notice = Some(Notice::info("Credential deleted"));
        }
        Stored::FlowSaved { name } => {
            let closed = state.wizard.take().is_some();
            let active = land_on_flow(state, &name, closed);
            state.notice = Some(Notice::info(format!(
                "Saved flow '{name}' ({})",
                flows::activity(active)
            )));
        }
        Stored::FlowActivated { name, active } => {
            state.notice = Some(Notice::info(format!(
                "'{name}' is now {}",
                flows::activity(active)
            )));
        }
        Stored::FlowDeleted => {
            state.flows.selected = state.flows.selected.saturating_sub(1);
            state.notice = Some(Notice::info("Flow deleted"));
        }
        Stored::FlowPromoted { name } => {
            let closed = state.promote.take().is_some();
            // The store keeps a promoted copy active only if it can run on its credentials.
            let active = land_on_flow(state, &name, closed);
            state.notice = Some(Notice::info(format!(
                "Promoted to '{name}' in production ({})",
                flows::activity(active)
            )));
        }
        Stored::Rebound { flows, to } => {
            state.notice = Some(Notice::info(if flows.is_empty() {
                format!("No flow used it; nothing rebound to '{to}'")
            } else {
                format!(
                    "Rebound {} flow(s) to '{to}': {}",
                    flows.len(),
                    flows.join(", ")
                )
            }));
        }
        Stored::VerificationsRecorded => {}
    }
}

/// Shows the saved flow `name` selected in the flow list (on that screen if `closed`, a wizard
/// having closed to make way) and says whether it is active.
fn land_on_flow(state: &mut State, name: &str, closed: bool) -> bool {
    if closed {
        state.screen = Screen::Flows;
    }
    let found = state.vault.as_ref().and_then(|view| {
        let w = view.workspace.as_ref()?;
        let flows = flows::sorted_flows(&view.snapshot, w);
        let i = flows.iter().position(|f| f.name == name)?;
        Some((i, flows[i].active))
    });
    let Some((i, active)) = found else {
        return false;
    };
    state.flows.selected = i;
    active
}
