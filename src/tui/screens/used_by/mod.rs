//! "Used by": the flows that use a credential, and rebinding all of them at once to another
//! credential of the same workspace and component.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::core::{Credential, RecordId, Snapshot};
use crate::tui::app::action::Effect;
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::Nav;
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::app::vault_view::step_candidates;
use crate::tui::widgets::notice::Notice;
use keys::{Command, USED_BY};

#[derive(Debug)]
pub struct UsedByState {
    pub credential: RecordId,
    /// The highlighted replacement.
    pub cursor: usize,
}

impl UsedByState {
    pub fn open(shared: &mut Shared, credential: RecordId) -> UsedByState {
        shared.notice = None;
        UsedByState {
            credential,
            cursor: 0,
        }
    }
}

/// Credentials that can take over from `old` in its flows: same workspace, same component,
/// its environment first.
pub fn replacements<'a>(snapshot: &'a Snapshot, old: &Credential) -> Vec<&'a Credential> {
    step_candidates(snapshot, &old.workspace, &old.component, &old.environment)
        .into_iter()
        .filter(|c| c.id != old.id)
        .collect()
}

impl Screen for UsedByState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        &USED_BY
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        let Some(view) = shared.vault.as_ref() else {
            return Update::none();
        };
        let Some(old) = view.snapshot.credential(&self.credential) else {
            // Deleted meanwhile: nothing left to show.
            return Update::nav(Nav::BACK);
        };
        let options: Vec<(RecordId, String)> = replacements(&view.snapshot, old)
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect();
        let used = view.snapshot.flows_using(&old.id).count();
        let old_id = old.id.clone();
        let cursor = self.cursor.min(options.len().saturating_sub(1));
        match command {
            Command::Up => self.cursor = cursor.saturating_sub(1),
            Command::Down => self.cursor = (cursor + 1).min(options.len().saturating_sub(1)),
            Command::Back => {
                shared.notice = None;
                return Update::nav(Nav::BACK);
            }
            Command::Confirm => {
                if used == 0 {
                    shared.notice = Some(Notice::info("No flow uses this credential"));
                    return Update::none();
                }
                let Some((new, name)) = options.get(cursor).cloned() else {
                    shared.notice = Some(Notice::error(
                        "No other credential of this component in the workspace: add one first",
                    ));
                    return Update::none();
                };
                shared.notice = None;
                return Update::effect(Effect::RebindEverywhere {
                    old: old_id,
                    new,
                    new_name: name,
                });
            }
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "credential › used by".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }
}
