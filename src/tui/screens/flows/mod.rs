//! The workspace's flows: activate, deactivate, delete, and the ways to the wizard (a new flow,
//! or an edit that rebinds its steps) and to promotion. A flow saved or promoted there is
//! selected here when that screen closes.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::core::{Flow, RecordId, Snapshot};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::{DeleteTarget, Modal, Shared};
use crate::tui::widgets::filter::{step, ListFilter};
use crate::tui::widgets::notice::Notice;
use crate::vault::Changes;
use keys::{Command, FLOWS, FLOWS_FILTER};

#[derive(Debug, Default)]
pub struct FlowsState {
    /// An index into `visible_flows`.
    pub selected: usize,
    pub filter: ListFilter,
}

/// The workspace's flows the filter lets through, in display order: matched on the name, the
/// environment, active or not, and each step's component and credential names.
pub fn visible_flows<'a>(
    snapshot: &'a Snapshot,
    workspace: &RecordId,
    filter: &ListFilter,
) -> Vec<&'a Flow> {
    let mut list = sorted_flows(snapshot, workspace);
    if filter.is_set() {
        list.retain(|f| {
            let mut texts: Vec<&str> = vec![&f.name, f.environment.as_str(), activity(f.active)];
            for s in &f.steps {
                texts.push(&s.component);
                if let Some(c) = snapshot.credential(&s.credential) {
                    texts.push(&c.name);
                }
            }
            filter.matches(&texts)
        });
    }
    list
}

/// A workspace's flows in display order (by name).
pub fn sorted_flows<'a>(snapshot: &'a Snapshot, workspace: &RecordId) -> Vec<&'a Flow> {
    let mut list: Vec<&Flow> = snapshot.flows_in(workspace).collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    list
}

/// How notices word a flow's state.
pub fn activity(active: bool) -> &'static str {
    if active {
        "active"
    } else {
        "inactive"
    }
}

impl FlowsState {
    pub fn open(shared: &mut Shared) -> FlowsState {
        shared.notice = None;
        FlowsState::default()
    }

    /// The flows shown, after the filter (empty while locked).
    pub fn visible<'a>(&self, shared: &'a Shared) -> Vec<&'a Flow> {
        let Some(view) = shared.vault.as_ref() else {
            return Vec::new();
        };
        let Some(w) = view.workspace.as_ref() else {
            return Vec::new();
        };
        visible_flows(&view.snapshot, w, &self.filter)
    }

    fn selected_flow(&self, shared: &Shared) -> Option<Flow> {
        let list = self.visible(shared);
        let i = self.selected.min(list.len().checked_sub(1)?);
        list.get(i).map(|f| (*f).clone())
    }

    /// Selects the flow `name` (just saved or promoted); a filter that would hide it goes.
    fn land_on(&mut self, shared: &Shared, name: &str) {
        if !self.visible(shared).iter().any(|f| f.name == name) {
            self.filter.clear();
        }
        if let Some(i) = self.visible(shared).iter().position(|f| f.name == name) {
            self.selected = i;
        }
    }

    fn set_active(&self, shared: &mut Shared, flow: Flow, active: bool) -> Update {
        if flow.active == active {
            shared.notice = Some(Notice::info(format!(
                "'{}' is already {}",
                flow.name,
                activity(active)
            )));
            return Update::none();
        }
        // The store refuses an activation on a missing or failing credential; checking here
        // too shows the same words without a round trip.
        if active {
            let ready = shared
                .vault
                .as_ref()
                .map(|v| v.snapshot.check_flow_ready(&flow));
            if let Some(Err(e)) = ready {
                shared.notice = Some(Notice::error(format!("Not activated: {e}")));
                return Update::none();
            }
        }
        Update::effect(Effect::SetFlowActive {
            id: flow.id,
            active,
        })
    }
}

impl Screen for FlowsState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.filter.typing {
            &FLOWS_FILTER
        } else {
            &FLOWS
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
        let count = self.visible(shared).len();
        let sel = self.selected.min(count.saturating_sub(1));
        self.selected = sel;
        let current = self.selected_flow(shared);
        match (command, current) {
            (Command::Up, _) => self.selected = sel.saturating_sub(1),
            (Command::Down, _) => self.selected = (sel + 1).min(count.saturating_sub(1)),
            (Command::Filter, _) => self.filter.start(),
            (Command::NextMatch, _) => self.selected = step(sel, count, true),
            (Command::PrevMatch, _) => self.selected = step(sel, count, false),
            (Command::KeepFilter, _) => {}
            (Command::ClearFilter | Command::Back, current) if self.filter.is_set() => {
                self.filter.clear();
                self.selected = current
                    .and_then(|c| self.visible(shared).iter().position(|f| f.id == c.id))
                    .unwrap_or(0);
            }
            (Command::ClearFilter, _) => {}
            (Command::Yank, Some(f)) => return Update::effects(shared.yank("name", f.name)),
            (Command::Back, _) => {
                shared.notice = None;
                return Update::nav(Nav::BACK);
            }
            (Command::Add, _) => return Update::nav(Nav::Open(Route::Wizard { editing: None })),
            (Command::Edit, Some(f)) => {
                return Update::nav(Nav::Open(Route::Wizard {
                    editing: Some(f.id),
                }))
            }
            (Command::Activate, Some(f)) => return self.set_active(shared, f, true),
            (Command::Deactivate, Some(f)) => return self.set_active(shared, f, false),
            (Command::Delete, Some(f)) => {
                shared.modal = Some(Modal::ConfirmDelete {
                    target: DeleteTarget::Flow {
                        id: f.id,
                        name: f.name,
                    },
                    refusal: None,
                });
            }
            (Command::Promote, Some(f)) => {
                return Update::nav(Nav::Open(Route::Promote { flow: f.id }))
            }
            (_, None) => {}
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "flows".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        self.selected_flow(shared).map(|f| f.id)
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        _changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let list = self.visible(shared);
        let found = cursor.and_then(|id| list.iter().position(|f| f.id == id));
        self.selected = found.unwrap_or(self.selected.min(list.len().saturating_sub(1)));
        Vec::new()
    }

    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update> {
        match event {
            Stored::FlowDeleted => self.selected = self.selected.saturating_sub(1),

            // Saved or promoted with the wizard or promotion gone (they take their own).
            Stored::FlowSaved { name } | Stored::FlowPromoted { name } => {
                self.land_on(shared, name)
            }
            Stored::FlowActivated { .. } => {}
            _ => return None,
        }
        Some(Update::none())
    }

    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        if let Some(Returned::FlowSaved { name } | Returned::FlowPromoted { name }) = value {
            self.land_on(shared, &name);
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
