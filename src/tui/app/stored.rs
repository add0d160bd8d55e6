//! What a finished (or failed) write tells the user. The notice is the app's, whichever screen
//! asked for the write; moving a selection or closing a screen after it is the screens' own
//! business (`Screen::on_stored`).

use super::action::Stored;
use super::vault_view::VaultView;
use crate::tui::screens::flows::activity;
use crate::tui::widgets::notice::Notice;

/// The notice a write that succeeded sets, reading the snapshot it left; None keeps the one
/// shown.
pub fn notice(view: &VaultView, event: &Stored) -> Option<Notice> {
    let text = match event {
        Stored::WorkspaceAdded(_) => "Workspace created: Enter opens it".to_string(),
        Stored::WorkspaceRenamed => "Workspace renamed".to_string(),
        Stored::WorkspaceDeleted => "Workspace deleted".to_string(),
        Stored::CredentialSaved(id) => match view.snapshot.credential(id) {
            None => "Saved".to_string(),
            Some(c) => {
                let status = c.status_word();
                match c.last_verification.as_ref().and_then(|v| v.detail.as_ref()) {
                    Some(d) => format!("Saved '{}' ({status}: {d})", c.name),
                    None => format!("Saved '{}' ({status})", c.name),
                }
            }
        },
        Stored::CredentialDeleted => "Credential deleted".to_string(),
        Stored::FlowSaved { name } => {
            format!(
                "Saved flow '{name}' ({})",
                activity(flow_active(view, name))
            )
        }
        // The store keeps a promoted copy active only if it can run on its credentials.
        Stored::FlowPromoted { name } => format!(
            "Promoted to '{name}' in production ({})",
            activity(flow_active(view, name))
        ),
        Stored::FlowActivated { name, active } => format!("'{name}' is now {}", activity(*active)),
        Stored::FlowDeleted => "Flow deleted".to_string(),
        Stored::Rebound { flows, to } if flows.is_empty() => {
            format!("No flow used it; nothing rebound to '{to}'")
        }
        Stored::Rebound { flows, to } => format!(
            "Rebound {} flow(s) to '{to}': {}",
            flows.len(),
            flows.join(", ")
        ),
        Stored::VerificationRecorded | Stored::VerificationsRecorded => return None,
    };
    Some(Notice::info(text))
}

/// Whether the open workspace's flow `name` is active.
fn flow_active(view: &VaultView, name: &str) -> bool {
    view.workspace.as_ref().is_some_and(|w| {
        view.snapshot
            .flows_in(w)
            .any(|f| f.name == name && f.active)
    })
}

/// The notice for a failed write that no screen showed itself.
pub fn failure(event: &Stored, message: String) -> Notice {
    Notice::error(match event {
        Stored::FlowActivated { active: true, .. } => format!("Not activated: {message}"),
        Stored::Rebound { to, .. } => format!("Not rebound to '{to}': {message}"),
        Stored::VerificationsRecorded => format!("Audit results not recorded: {message}"),
        _ => message,
    })
}
