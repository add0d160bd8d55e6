//! A component's credentials in the open workspace: add, edit, verify, delete (guarded), and the
//! way to a credential's details and to the flows using it.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::core::{Credential, RecordId};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::app::vault_view::VaultView;
use crate::tui::widgets::filter::{step, ListFilter};
use crate::vault::Changes;
use keys::{Command, CREDENTIALS, CREDENTIALS_FILTER};

#[derive(Debug, Default)]
pub struct CredentialsState {
    pub component: String,
    /// An index into `visible`.
    pub selected: usize,
    pub filter: ListFilter,
}

/// What a credential's row is matched on: its name, environment, status and last reason.
pub fn matches(filter: &ListFilter, c: &Credential) -> bool {
    let reason = c
        .last_verification
        .as_ref()
        .map_or("", |v| v.reason.as_str());
    filter.matches(&[&c.name, c.environment.as_str(), c.status_word(), reason])
}

/// The open component's credentials the filter lets through, in display order. With no filter
/// nothing is collected: a list of 10,000 still costs what a screenful costs.
pub struct Visible<'a> {
    view: &'a VaultView,
    /// Row numbers of the matches; None: every row.
    matches: Option<Vec<usize>>,
}

impl<'a> Visible<'a> {
    pub fn of(view: &'a VaultView, filter: &ListFilter) -> Visible<'a> {
        let matches = filter.is_set().then(|| {
            view.rows()
                .enumerate()
                .filter(|(_, c)| matches(filter, c))
                .map(|(i, _)| i)
                .collect()
        });
        Visible { view, matches }
    }

    pub fn len(&self) -> usize {
        self.matches
            .as_ref()
            .map_or(self.view.row_count(), Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<&'a Credential> {
        match &self.matches {
            None => self.view.row(index),
            Some(m) => self.view.row(*m.get(index)?),
        }
    }

    /// Rows from `offset` on, with their index in the filtered list.
    pub fn from(&self, offset: usize) -> impl Iterator<Item = (usize, &'a Credential)> + '_ {
        (offset..self.len()).map_while(move |i| self.get(i).map(|c| (i, c)))
    }

    pub fn position(&self, id: &RecordId) -> Option<usize> {
        (0..self.len()).find(|i| self.get(*i).is_some_and(|c| &c.id == id))
    }
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
            filter: ListFilter::default(),
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

    /// The rows the filter lets through (None while locked).
    pub fn visible<'a>(&self, shared: &'a Shared) -> Option<Visible<'a>> {
        Some(Visible::of(shared.vault.as_ref()?, &self.filter))
    }

    /// Selects the credential `id` (just saved) in the list; a filter that would hide it goes.
    fn select(&mut self, shared: &Shared, id: &RecordId) {
        if self.visible(shared).and_then(|v| v.position(id)).is_none() {
            self.filter.clear();
        }
        self.selected = self
            .visible(shared)
            .and_then(|v| v.position(id))
            .unwrap_or(0);
    }
}

impl Screen for CredentialsState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.filter.typing {
            &CREDENTIALS_FILTER
        } else {
            &CREDENTIALS
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if self.filter.typing {
            match command {
                Command::KeepFilter => {
                    self.filter.stop();
                    return Update::none();
                }
                Command::ClearFilter => {
                    self.filter.clear();
                    self.selected = 0;
                    return Update::none();
                }
                _ => self.filter.stop(),
            }
        }
        let Some(visible) = self.visible(shared) else {
            return Update::none();
        };
        let count = visible.len();
        let sel = self.selected.min(count.saturating_sub(1));
        self.selected = sel;
        let current = visible.get(sel).cloned();
        match command {
            Command::Up => self.selected = sel.saturating_sub(1),
            Command::Down => self.selected = (sel + 1).min(count.saturating_sub(1)),
            Command::Filter => self.filter.start(),
            Command::NextMatch => self.selected = step(sel, count, true),
            Command::PrevMatch => self.selected = step(sel, count, false),
            Command::KeepFilter => {}
            Command::ClearFilter | Command::Back if self.filter.is_set() => {
                self.filter.clear();
                self.selected = current
                    .and_then(|c| self.visible(shared)?.position(&c.id))
                    .unwrap_or(0);
            }
            Command::ClearFilter => {}
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
                let count = self.visible(shared).map_or(0, |v| v.len());
                self.selected = self.selected.min(count.saturating_sub(1));
            }
            _ => return None,
        }
        Some(Update::none())
    }

    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        let visible = self.visible(shared)?;
        let last = visible.len().checked_sub(1)?;
        visible.get(self.selected.min(last)).map(|c| c.id.clone())
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        _changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let Some(visible) = self.visible(shared) else {
            return Vec::new();
        };
        let found = cursor.and_then(|id| visible.position(&id));
        self.selected = found.unwrap_or(self.selected.min(visible.len().saturating_sub(1)));
        Vec::new()
    }

    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        if let Some(Returned::CredentialSaved(id)) = value {
            self.select(shared, &id);
        }
        Update::none()
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        self.filter.typing.then_some(&mut self.filter.input)
    }

    fn edited(&mut self, _shared: &mut Shared) {
        self.selected = 0;
    }
}
