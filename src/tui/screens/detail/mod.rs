//! A credential's detail view: what it is, where it is used, when it expires, and its
//! verification history, which the vault keeps and reads on demand. Opening the view asks for
//! the history; it is read again when a new result for the credential is stored.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::core::{Credential, RecordId, Snapshot, Verification};
use crate::tui::app::action::{Action, Effect, Stored};
use crate::tui::app::acts::{act_on, Act};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::vault::Changes;
use keys::{Command, DETAIL};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailState {
    pub credential: RecordId,
    pub history: HistoryView,
    /// The credential's newest result when its history was last asked for: a stored result
    /// that changes it changes the history (a new entry, or the newest run went on).
    read_for: Option<Verification>,
}

/// The detail view's verification history, which the vault reads on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryView {
    Loading,
    /// Newest first.
    Loaded(Vec<Verification>),
    /// Why it could not be read (a damaged history entry, a storage error).
    Failed(String),
}

fn latest<'s>(snapshot: &'s Snapshot, credential: &RecordId) -> Option<&'s Verification> {
    snapshot
        .credential(credential)
        .and_then(|c| c.last_verification.as_ref())
}

impl DetailState {
    /// The view of `credential`, and the request for its history.
    pub fn open(shared: &Shared, credential: RecordId) -> (DetailState, Vec<Effect>) {
        let read_for = shared
            .vault
            .as_ref()
            .and_then(|v| latest(&v.snapshot, &credential))
            .cloned();
        let load = Effect::LoadHistory {
            credential: credential.clone(),
        };
        let state = DetailState {
            credential,
            history: HistoryView::Loading,
            read_for,
        };
        (state, vec![load])
    }

    /// The credential shown, as the vault holds it now (None once it is gone).
    fn shown(&self, shared: &Shared) -> Option<Credential> {
        shared
            .vault
            .as_ref()
            .and_then(|v| v.snapshot.credential(&self.credential))
            .cloned()
    }
}

impl Screen for DetailState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        &DETAIL
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        match command {
            Command::Verify => {
                let shown = self.shown(shared);
                match shown {
                    Some(c) => Update::effects(shared.verify_stored(c)),
                    None => Update::none(),
                }
            }
            Command::Rotate => {
                shared.confirm_rotate(&self.credential);
                Update::none()
            }
            Command::Yank | Command::YankMore => {
                let shown = self.shown(shared);
                match shown {
                    Some(c) if command == Command::Yank => {
                        Update::effects(shared.yank("name", c.name))
                    }
                    Some(c) => {
                        shared.offer_yank(&c);
                        Update::none()
                    }
                    None => Update::none(),
                }
            }
            Command::Back => Update::nav(Nav::BACK),
            Command::UsedBy => Update::nav(Nav::Open(Route::UsedBy {
                credential: self.credential.clone(),
            })),
            // The same actions as the audit's row, on the credential shown.
            Command::Edit | Command::Delete | Command::Component => {
                let shown = self.shown(shared);
                let act = match command {
                    Command::Edit => Act::Edit,
                    Command::Delete => Act::Delete,
                    _ => Act::GoToComponent,
                };
                match shown {
                    Some(c) => act_on(shared, &c, act),
                    None => Update::none(),
                }
            }
        }
    }

    fn title(&self, _shared: &Shared) -> String {
        "credential › detail".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    /// The history read for the credential on show; one for another (the view moved on) is
    /// not this screen's.
    fn on_action(&mut self, _shared: &mut Shared, action: Action) -> Result<Update, Action> {
        match action {
            Action::HistoryLoaded { credential, result } if credential == self.credential => {
                self.history = match result {
                    Ok(history) => HistoryView::Loaded(history),
                    Err(message) => HistoryView::Failed(message),
                };
                Ok(Update::none())
            }
            other => Err(other),
        }
    }

    /// Another process saved the credential or recorded a result for it: its history is read
    /// again (the view itself draws from the snapshot, already replaced).
    fn refreshed(
        &mut self,
        shared: &mut Shared,
        changes: &Changes,
        _cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let id = &self.credential;
        let concerns_it =
            changes.reloaded || changes.results.contains(id) || changes.credentials.contains(id);
        if !concerns_it {
            return Vec::new();
        }
        self.read_for = shared
            .vault
            .as_ref()
            .and_then(|v| latest(&v.snapshot, id))
            .cloned();
        vec![Effect::LoadHistory {
            credential: id.clone(),
        }]
    }

    /// Every result recorded changes its credential's newest one, so results for other
    /// credentials (an audit's, say) are told apart without reading the history again.
    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update> {
        let now = shared
            .vault
            .as_ref()
            .and_then(|v| latest(&v.snapshot, &self.credential))
            .cloned();
        let concerns_it = match event {
            Stored::CredentialSaved(id) => *id == self.credential,
            Stored::VerificationRecorded | Stored::VerificationsRecorded => now != self.read_for,
            _ => false,
        };
        if !concerns_it {
            return None;
        }
        self.read_for = now;
        Some(Update::effect(Effect::LoadHistory {
            credential: self.credential.clone(),
        }))
    }
}
