//! The flow-builder wizard: (1) name and environment, (2) two or more components in order, (3)
//! one credential per component — only this workspace's, only that component's, the flow's
//! environment first — or a new one added inline with the credentials page's own form, (4)
//! review, then save active or inactive. Editing a flow opens the same wizard at step 3 with its
//! bindings.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::catalog::Catalog;
use crate::core::names::check_name;
use crate::core::schema::Component;
use crate::core::{Credential, Environment, Flow, FlowStep, RecordId};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{InlineAdd, Nav, Returned};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::{Modal, Shared};
use crate::tui::app::vault_view::step_candidates;
use crate::tui::widgets::notice::Notice;
use keys::{
    Command, WIZARD_CATALOGUE, WIZARD_CHOSEN, WIZARD_COMPONENTS, WIZARD_CREDENTIALS, WIZARD_NAME,
    WIZARD_REVIEW,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    Name,
    Components,
    Credentials,
    Review,
}

impl WizardStep {
    pub fn number(self) -> usize {
        match self {
            WizardStep::Name => 1,
            WizardStep::Components => 2,
            WizardStep::Credentials => 3,
            WizardStep::Review => 4,
        }
    }
}

/// One chosen component and the credential bound to it (None until picked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardPick {
    pub component: String,
    pub credential: Option<RecordId>,
}

#[derive(Debug)]
pub struct WizardState {
    /// The flow being edited; None for a new one.
    pub editing: Option<RecordId>,
    pub step: WizardStep,
    pub name: Input,
    pub environment: Input,
    /// Step 1: 0 name, 1 environment.
    pub name_focus: usize,
    /// Step 2: the catalogue filter, the highlighted catalogue row, and whether the focus is
    /// on the chosen list instead.
    pub filter: Input,
    /// The filter has the keyboard (after `/` or a typed letter): only then is `?` text.
    pub filter_focused: bool,
    pub catalogue_cursor: usize,
    pub in_chosen: bool,
    pub chosen_cursor: usize,
    pub picks: Vec<WizardPick>,
    /// Step 3: which flow step, and which row of its credential list.
    pub step_cursor: usize,
    pub credential_cursor: usize,
    pub active: bool,
    pub saving: bool,
    pub message: Option<Notice>,
    /// A credential being added for a flow step.
    adding: InlineAdd,
}

impl WizardState {
    pub fn new_flow() -> WizardState {
        WizardState {
            editing: None,
            step: WizardStep::Name,
            name: Input::default(),
            environment: Input::new("staging".into()),
            name_focus: 0,
            filter: Input::default(),
            filter_focused: false,
            catalogue_cursor: 0,
            in_chosen: false,
            chosen_cursor: 0,
            picks: Vec::new(),
            step_cursor: 0,
            credential_cursor: 0,
            active: true,
            saving: false,
            message: None,
            adding: InlineAdd::default(),
        }
    }

    /// Editing starts where rebinding happens: the credentials step.
    pub fn edit_flow(flow: &Flow) -> WizardState {
        WizardState {
            editing: Some(flow.id.clone()),
            step: WizardStep::Credentials,
            name: Input::new(flow.name.clone()),
            environment: Input::new(flow.environment.as_str().to_string()),
            picks: flow
                .steps
                .iter()
                .map(|s| WizardPick {
                    component: s.component.clone(),
                    credential: Some(s.credential.clone()),
                })
                .collect(),
            active: flow.active,
            ..WizardState::new_flow()
        }
    }

    /// A new flow's wizard, or an edit of `editing` (None if that flow is gone).
    pub fn open(shared: &mut Shared, editing: Option<&RecordId>) -> Option<WizardState> {
        let wizard = match editing {
            None => WizardState::new_flow(),
            Some(id) => {
                let flow = shared.vault.as_ref()?.snapshot.flow(id)?;
                let mut wizard = WizardState::edit_flow(flow);
                wizard.credential_cursor = wizard.cursor_of_binding(shared);
                wizard
            }
        };
        shared.notice = None;
        Some(wizard)
    }

    /// The flow's environment; staging while the field does not parse.
    pub fn environment(&self) -> Environment {
        Environment::parse(self.environment.value()).unwrap_or_default()
    }

    /// Catalogue components matching the filter.
    pub fn visible_components<'a>(&self, catalog: &'a Catalog) -> Vec<&'a Component> {
        catalog.matching(self.filter.value())
    }

    /// The candidates of the current flow step (see `step_candidates`).
    pub fn current_candidates<'a>(&self, shared: &'a Shared) -> Vec<&'a Credential> {
        let (Some(view), Some(pick)) = (shared.vault.as_ref(), self.picks.get(self.step_cursor))
        else {
            return Vec::new();
        };
        let Some(workspace) = view.workspace.as_ref() else {
            return Vec::new();
        };
        step_candidates(
            &view.snapshot,
            workspace,
            &pick.component,
            &self.environment(),
        )
    }

    /// Where the credential list's highlight starts for the current step: on its binding.
    fn cursor_of_binding(&self, shared: &Shared) -> usize {
        let bound = self
            .picks
            .get(self.step_cursor)
            .and_then(|p| p.credential.as_ref());
        self.current_candidates(shared)
            .iter()
            .position(|c| Some(&c.id) == bound)
            .unwrap_or(0)
    }

    /// Puts the credential cursor on the current step's bound credential (or the top).
    fn sync_credential_cursor(&mut self, shared: &Shared) {
        self.credential_cursor = self.cursor_of_binding(shared);
    }

    /// Whether leaving would lose work: anything typed or picked in a new flow, or any
    /// difference from the flow being edited.
    fn changed(&self, shared: &Shared) -> bool {
        let original = self
            .editing
            .as_ref()
            .and_then(|id| shared.vault.as_ref().and_then(|v| v.snapshot.flow(id)));
        match original {
            None => !self.name.value().trim().is_empty() || !self.picks.is_empty(),
            Some(f) => {
                self.name.value() != f.name
                    || self.environment() != f.environment
                    || self.active != f.active
                    || self.picks.len() != f.steps.len()
                    || self.picks.iter().zip(&f.steps).any(|(p, s)| {
                        p.component != s.component || p.credential.as_ref() != Some(&s.credential)
                    })
            }
        }
    }

    /// Step 1's gate: a valid name unused in the workspace, and an environment that parses.
    fn check_name_step(&self, shared: &Shared) -> Result<(), String> {
        let name = self.name.value();
        check_name("flow", name)?;
        Environment::parse(self.environment.value())?;
        let view = shared.vault.as_ref().ok_or("the vault is locked")?;
        let workspace = view
            .workspace
            .as_ref()
            .and_then(|w| view.snapshot.workspace(w))
            .ok_or("no workspace is open")?;
        view.snapshot
            .check_flow_name(workspace, name, self.editing.as_ref())
            .map_err(|e| e.to_string())
    }

    fn name_step(&mut self, shared: &mut Shared, command: Command) -> Update {
        match command {
            Command::NextField => self.name_focus = 1 - self.name_focus.min(1),
            Command::Submit if self.name_focus == 0 => self.name_focus = 1,
            Command::Submit | Command::NextStep => match self.check_name_step(shared) {
                Err(e) => self.message = Some(Notice::error(e)),
                Ok(()) => {
                    self.step = WizardStep::Components;
                    self.in_chosen = false;
                }
            },
            Command::Back if self.changed(shared) => {
                shared.modal = Some(Modal::ConfirmDiscard("The flow has not been saved."));
            }
            Command::Back => return Update::nav(Nav::BACK),
            _ => {}
        }
        Update::none()
    }

    fn components_step(&mut self, shared: &Shared, command: Command) {
        let visible: Vec<String> = self
            .visible_components(&shared.catalog)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        let n = self.picks.len();
        match command {
            Command::Up if self.in_chosen => {
                self.chosen_cursor = self.chosen_cursor.saturating_sub(1)
            }
            Command::Down if self.in_chosen => {
                self.chosen_cursor = (self.chosen_cursor + 1).min(n.saturating_sub(1))
            }
            Command::FocusFilter => self.filter_focused = true,
            // Esc in the filter: it empties and lets go of the keyboard (a second Esc goes back).
            Command::Back if self.filter_focused && !self.in_chosen => {
                self.filter = Input::default();
                self.filter_focused = false;
                self.catalogue_cursor = 0;
            }
            Command::Up => self.catalogue_cursor = self.catalogue_cursor.saturating_sub(1),
            Command::Down => {
                self.catalogue_cursor =
                    (self.catalogue_cursor + 1).min(visible.len().saturating_sub(1))
            }
            Command::Add => {
                let Some(id) =
                    visible.get(self.catalogue_cursor.min(visible.len().saturating_sub(1)))
                else {
                    self.message = Some(Notice::error("No component matches the filter"));
                    return;
                };
                self.picks.push(WizardPick {
                    component: id.clone(),
                    credential: None,
                });
                self.chosen_cursor = self.picks.len() - 1;
                // A fresh filter for the next pick: typing "stripe", Enter, "postgres", Enter.
                self.filter = Input::default();
                self.filter_focused = false;
                self.catalogue_cursor = 0;
            }
            Command::MoveUp if self.chosen_cursor > 0 && self.chosen_cursor < n => {
                self.picks.swap(self.chosen_cursor, self.chosen_cursor - 1);
                self.chosen_cursor -= 1;
            }
            Command::MoveDown if self.chosen_cursor + 1 < n => {
                self.picks.swap(self.chosen_cursor, self.chosen_cursor + 1);
                self.chosen_cursor += 1;
            }
            Command::Remove if self.chosen_cursor < n => {
                self.picks.remove(self.chosen_cursor);
                self.chosen_cursor = self.chosen_cursor.min(n.saturating_sub(2));
            }
            Command::NextField => self.in_chosen = !self.in_chosen && n > 0,
            Command::NextStep => {
                if n < 2 {
                    self.message = Some(Notice::error(format!(
                        "Pick two or more components ({n} chosen): type to filter, Enter adds"
                    )));
                    return;
                }
                self.step = WizardStep::Credentials;
                self.step_cursor = self
                    .picks
                    .iter()
                    .position(|p| p.credential.is_none())
                    .unwrap_or(0);
                self.sync_credential_cursor(shared);
            }
            Command::Back => {
                self.step = WizardStep::Name;
                self.in_chosen = false;
            }
            _ => {}
        }
    }

    fn credentials_step(&mut self, shared: &Shared, command: Command) -> Update {
        let offered: Vec<RecordId> = self
            .current_candidates(shared)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        let steps = self.picks.len();
        // The last row of the list is "add a new credential".
        let rows = offered.len() + 1;
        let cursor = self.credential_cursor.min(rows - 1);
        match command {
            Command::Up => self.credential_cursor = cursor.saturating_sub(1),
            Command::Down => self.credential_cursor = (cursor + 1).min(rows - 1),
            Command::NextField | Command::PrevField => {
                self.step_cursor = if command == Command::NextField {
                    (self.step_cursor + 1) % steps.max(1)
                } else {
                    (self.step_cursor + steps.max(1) - 1) % steps.max(1)
                };
                self.sync_credential_cursor(shared);
            }
            Command::Open if cursor < offered.len() => {
                if let Some(pick) = self.picks.get_mut(self.step_cursor) {
                    pick.credential = Some(offered[cursor].clone());
                }
                self.advance_to_unbound(shared);
            }
            Command::Open | Command::Add => return self.add_inline(),
            Command::NextStep => {
                if let Some(i) = self.picks.iter().position(|p| p.credential.is_none()) {
                    self.step_cursor = i;
                    self.message = Some(Notice::error(format!(
                        "Step {} ({}) has no credential: pick one or press a to add one",
                        i + 1,
                        self.picks[i].component
                    )));
                    return Update::none();
                }
                self.step = WizardStep::Review;
            }
            Command::Back => self.step = WizardStep::Components,
            _ => {}
        }
        Update::none()
    }

    /// After a pick, move to the next step still without a credential (if any).
    fn advance_to_unbound(&mut self, shared: &Shared) {
        let n = self.picks.len();
        let next = (1..n)
            .map(|d| (self.step_cursor + d) % n)
            .find(|i| self.picks[*i].credential.is_none());
        if let Some(i) = next {
            self.step_cursor = i;
            self.sync_credential_cursor(shared);
        }
    }

    /// Opens the credentials page's own form for this step's component; the wizard stays as
    /// it is underneath, and the form comes back here on save or cancel.
    fn add_inline(&mut self) -> Update {
        let step = self.step_cursor;
        let Some(component) = self.picks.get(step).map(|p| p.component.clone()) else {
            return Update::none();
        };
        let environment = self.environment();
        let form = self
            .adding
            .open(step, component, environment.as_str(), "flows › wizard");
        Update::nav(form)
    }

    /// A credential saved from the inline form: bind it to the step it was added for.
    fn credential_added(&mut self, shared: &Shared, step: usize, id: RecordId) {
        if let Some(pick) = self.picks.get_mut(step) {
            pick.credential = Some(id);
        }
        self.step_cursor = step;
        self.sync_credential_cursor(shared);
        self.advance_to_unbound(shared);
    }

    /// The flow the wizard describes, for the rule checks and the save.
    pub fn flow_of(&self, shared: &Shared) -> Option<Flow> {
        let workspace = shared.workspace_id()?.clone();
        let now = shared.clock.wall;
        let original = self
            .editing
            .as_ref()
            .and_then(|id| shared.vault.as_ref().and_then(|v| v.snapshot.flow(id)));
        let steps = self
            .picks
            .iter()
            .map(|p| {
                Some(FlowStep {
                    component: p.component.clone(),
                    credential: p.credential.clone()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Flow {
            // A new flow's id is drawn by the store (the update has no randomness).
            id: self
                .editing
                .clone()
                .unwrap_or_else(|| RecordId(String::new())),
            workspace,
            name: self.name.value().to_string(),
            environment: self.environment(),
            steps,
            active: self.active,
            created_at: original.map_or(now, |f| f.created_at),
            updated_at: now,
            // An edit is based on the revision the wizard read; the store refuses it if the
            // flow moved on since.
            revision: original.map(|f| f.revision.clone()).unwrap_or_default(),
        })
    }

    fn review_step(&mut self, shared: &Shared, command: Command) -> Update {
        match command {
            Command::Toggle => self.active = !self.active,
            Command::Back => self.step = WizardStep::Credentials,
            Command::Save => return self.save(shared),
            _ => {}
        }
        Update::none()
    }

    /// Checks the flow with the same rules the store applies (so a refusal shows at once, in
    /// the store's words), then asks the edges to write it; the store checks again on commit.
    fn save(&mut self, shared: &Shared) -> Update {
        let Some(flow) = self.flow_of(shared) else {
            self.message = Some(Notice::error("Every step needs a credential"));
            return Update::none();
        };
        let checked = shared.vault.as_ref().map(|v| {
            let snapshot = &v.snapshot;
            let workspace = snapshot.workspace(&flow.workspace);
            workspace
                .map_or(Ok(()), |w| {
                    snapshot.check_flow_name(w, &flow.name, self.editing.as_ref())
                })
                .and_then(|()| snapshot.check_flow_steps(&flow))
                .and_then(|()| {
                    if flow.active {
                        snapshot.check_flow_ready(&flow)
                    } else {
                        Ok(())
                    }
                })
        });
        if let Some(Err(e)) = checked {
            self.message = Some(Notice::error(format!("Not saved: {e}")));
            return Update::none();
        }
        self.saving = true;
        Update::effect(if self.editing.is_some() {
            Effect::UpdateFlow {
                flow: Box::new(flow),
            }
        } else {
            Effect::AddFlow {
                workspace: flow.workspace,
                name: flow.name,
                environment: flow.environment,
                steps: flow.steps,
                active: flow.active,
            }
        })
    }
}

impl Screen for WizardState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        match (self.step, self.in_chosen) {
            (WizardStep::Name, _) => &WIZARD_NAME,
            (WizardStep::Components, false) if self.filter_focused => &WIZARD_COMPONENTS,
            (WizardStep::Components, false) => &WIZARD_CATALOGUE,
            (WizardStep::Components, true) => &WIZARD_CHOSEN,
            (WizardStep::Credentials, _) => &WIZARD_CREDENTIALS,
            (WizardStep::Review, _) => &WIZARD_REVIEW,
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if self.saving {
            return Update::none();
        }
        self.message = None;
        match self.step {
            WizardStep::Name => self.name_step(shared, command),
            WizardStep::Components => {
                self.components_step(shared, command);
                Update::none()
            }
            WizardStep::Credentials => self.credentials_step(shared, command),
            WizardStep::Review => self.review_step(shared, command),
        }
    }

    fn title(&self, _shared: &Shared) -> String {
        format!("flows › wizard › step {} of 4", self.step.number())
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    /// The text field that has the keyboard, if the current step has one.
    fn focused_input(&mut self) -> Option<&mut Input> {
        match self.step {
            WizardStep::Name if self.name_focus == 1 => Some(&mut self.environment),
            WizardStep::Name => Some(&mut self.name),
            WizardStep::Components if !self.in_chosen => Some(&mut self.filter),
            _ => None,
        }
    }

    /// A letter on the catalogue pane starts the filter with it (typing "stripe" there
    /// filters, as before), but `?` is help until the filter has the keyboard.
    fn start_typing(&mut self) -> bool {
        let catalogue = self.step == WizardStep::Components && !self.in_chosen;
        if catalogue {
            self.filter_focused = true;
        }
        catalogue
    }

    fn edited(&mut self, _shared: &mut Shared) {
        self.message = None;
        if self.step == WizardStep::Components {
            self.catalogue_cursor = 0;
        }
    }

    fn discard_confirmed(&mut self, _shared: &mut Shared) -> Update {
        Update::nav(Nav::BACK)
    }

    fn on_stored(&mut self, _shared: &mut Shared, event: &Stored) -> Option<Update> {
        match event {
            Stored::FlowSaved { name } => Some(Update::nav(Nav::Back(Some(Returned::FlowSaved {
                name: name.clone(),
            })))),
            _ => None,
        }
    }

    /// The store refused the flow: the wizard stays open with the reason.
    fn on_store_failed(&mut self, _shared: &mut Shared, event: &Stored, message: &str) -> bool {
        if !matches!(event, Stored::FlowSaved { .. }) || !self.saving {
            return false;
        }
        self.saving = false;
        self.message = Some(Notice::error(format!("Not saved: {message}")));
        true
    }

    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        if let Some((step, id)) = self.adding.finished(value) {
            self.credential_added(shared, step, id);
        }
        Update::none()
    }
}
