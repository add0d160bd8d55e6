//! The detail view's state changes: opening it (which asks the edges for the credential's
//! history, kept in the vault and read on demand), taking the history when it arrives, reloading
//! it when a new result for the credential is stored, and its keys.

use super::action::{Effect, Stored};
use super::keys::Command;
use super::state::{DetailState, HistoryView, Screen, State};
use super::{browse, flows};
use crate::core::Snapshot;
use crate::core::{RecordId, Verification};

/// Shows `credential`'s detail view; Esc returns to `back`.
pub fn open(state: &mut State, credential: RecordId, back: Screen, fx: &mut Vec<Effect>) {
    fx.push(Effect::LoadHistory {
        credential: credential.clone(),
    });
    state.detail = Some(DetailState {
        credential,
        back,
        history: HistoryView::Loading,
    });
    state.screen = Screen::Detail;
}

/// The history read for `credential`; dropped if the view has moved on to another credential.
pub fn on_history_loaded(
    state: &mut State,
    credential: RecordId,
    result: Result<Vec<Verification>, String>,
) {
    if let Some(d) = state.detail.as_mut().filter(|d| d.credential == credential) {
        d.history = match result {
            Ok(history) => HistoryView::Loaded(history),
            Err(message) => HistoryView::Failed(message),
        };
    }
}

/// After a write (`after`: the snapshot it left): a new result for the credential on show
/// changed its history (a new entry, or its newest run went on). Every result recorded changes
/// the credential's latest one, so results for other credentials (an audit's, say) are told
/// apart without reading the history again.
pub fn on_stored(state: &State, after: &Snapshot, event: &Stored, fx: &mut Vec<Effect>) {
    let Some(d) = state.detail.as_ref() else {
        return;
    };
    let concerns_it = match event {
        Stored::CredentialSaved(id) => *id == d.credential,
        Stored::VerificationRecorded | Stored::VerificationsRecorded => {
            let before = state
                .vault
                .as_ref()
                .map(|v| latest(&v.snapshot, &d.credential));
            before != Some(latest(after, &d.credential))
        }
        _ => false,
    };
    if concerns_it {
        fx.push(Effect::LoadHistory {
            credential: d.credential.clone(),
        });
    }
}

fn latest<'s>(snapshot: &'s Snapshot, credential: &RecordId) -> Option<&'s Verification> {
    snapshot
        .credential(credential)
        .and_then(|c| c.last_verification.as_ref())
}

pub fn command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(detail) = state.detail.as_ref() else {
        return;
    };
    match command {
        Command::Verify => {
            let shown = state
                .vault
                .as_ref()
                .and_then(|v| v.snapshot.credential(&detail.credential))
                .cloned();
            if let Some(c) = shown {
                browse::verify_now(state, c, fx);
            }
        }
        Command::Back => {
            state.screen = detail.back;
            state.detail = None;
        }
        Command::UsedBy => {
            let id = detail.credential.clone();
            flows::open_used_by(state, id, Screen::Detail);
        }
        _ => {}
    }
}
