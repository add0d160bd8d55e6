//! A component's credentials in the open workspace: add, edit, verify, delete (guarded), and the
//! way to a credential's details and to the flows using it.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::core::RecordId;
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::vault::Changes;
use keys::{Command, CREDENTIALS};

#[derive(Debug, Default)]
pub struct CredentialsState {
    pub component: String,
    pub selected: usize,
}

impl CredentialsState {
    /// The list of `component`'s credentials (the vault view keeps it sorted by name).
    pub fn open(
        shared: &mut Shared,
        component: String,
        select: Option<&RecordId>,
    ) -> CredentialsState {
        if let Some(view) = shared.vault.as_mut() {
            view.show_component(&component);
        }
        let mut list = CredentialsState {
            component,
            selected: 0,
        };
        if let Some(id) = select {
            list.select(shared, id);
        }
        list
    }

    fn form(&self, editing: Option<RecordId>, environment: &str) -> Update {
        Update::nav(Nav::Open(Route::Form {
            component: self.component.clone(),
            editing,
            environment: environment.to_string(),
            title: format!("components › {} › form", self.component),
        }))
    }

    /// Selects the credential `id` (just saved) in the list.
    fn select(&mut self, shared: &Shared, id: &RecordId) {
        let index = shared
            .vault
            .as_ref()
            .and_then(|v| v.rows().position(|c| &c.id == id));
        self.selected = index.unwrap_or(0);
    }
}

impl Screen for CredentialsState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        &CREDENTIALS
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        let Some(view) = shared.vault.as_ref() else {
            return Update::none();
        };
        let count = view.row_count();
        let sel = self.selected.min(count.saturating_sub(1));
        self.selected = sel;
        let current = view.row(sel).cloned();
        match command {
            Command::Up => self.selected = sel.saturating_sub(1),
            Command::Down => self.selected = (sel + 1).min(count.saturating_sub(1)),
            Command::Back => {
                shared.notice = None;
                return Update::nav(Nav::BACK);
            }
            Command::Add => return self.form(None, "staging"),
            Command::Edit => {
                if let Some(c) = current {
                    return self.form(Some(c.id), "");
                }
            }
            Command::Details => {
                if let Some(c) = current {
                    return Update::nav(Nav::Open(Route::Detail { credential: c.id }));
                }
            }
            Command::UsedBy => {
                if let Some(c) = current {
                    return Update::nav(Nav::Open(Route::UsedBy { credential: c.id }));
                }
            }
            Command::Yank => {
                if let Some(c) = current {
                    return Update::effects(shared.yank("name", c.name));
                }
            }
            Command::YankMore => {
                if let Some(c) = current {
                    shared.offer_yank(&c);
                }
            }
            Command::Verify => {
                if let Some(c) = current {
                    return Update::effects(shared.verify_stored(c));
                }
            }
            Command::Delete => {
                if let Some(c) = current {
                    shared.ask_delete_credential(&c);
                }
            }
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        format!("components › {}", self.component)
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update> {
        match event {
            // Saved with no form left to take the answer (it was closed while saving).
            Stored::CredentialSaved(id) => self.select(shared, id),
            Stored::CredentialDeleted => {
                let count = shared.vault.as_ref().map_or(0, |v| v.row_count());
                self.selected = self.selected.min(count.saturating_sub(1));
            }
            _ => return None,
        }
        Some(Update::none())
    }

    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        let view = shared.vault.as_ref()?;
        let last = view.row_count().checked_sub(1)?;
        view.row(self.selected.min(last)).map(|c| c.id.clone())
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        _changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let count = shared.vault.as_ref().map_or(0, |v| v.row_count());
        let found = cursor.and_then(|id| shared.vault.as_ref()?.rows().position(|c| c.id == id));
        self.selected = found.unwrap_or(self.selected.min(count.saturating_sub(1)));
        Vec::new()
    }

    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        if let Some(Returned::CredentialSaved(id)) = value {
            self.select(shared, &id);
        }
        Update::none()
    }
}
