//! The flow-builder wizard's model and its part of `update`: (1) name and environment, (2) two
//! or more components in order, (3) one credential per component — only this workspace's, only
//! that component's, the flow's environment first — or a new one added inline with the
//! credentials page's own form, (4) review, then save active or inactive. Editing a flow opens
//! the same wizard at step 3 with its bindings.

use tui_input::Input;

use crate::catalog::Catalog;
use crate::core::names::check_name;
use crate::core::schema::Component;
use crate::core::Snapshot;
use crate::core::{Credential, Environment, Flow, FlowStep, RecordId};

use super::action::Effect;
use super::keys::Command;
use super::state::{Discard, FormOrigin, Modal, Notice, Screen, State};

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
            catalogue_cursor: 0,
            in_chosen: false,
            chosen_cursor: 0,
            picks: Vec::new(),
            step_cursor: 0,
            credential_cursor: 0,
            active: true,
            saving: false,
            message: None,
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

    /// The flow's environment; staging while the field does not parse.
    pub fn environment(&self) -> Environment {
        Environment::parse(self.environment.value()).unwrap_or_default()
    }

    /// Catalogue components matching the filter.
    pub fn visible_components<'a>(&self, catalog: &'a Catalog) -> Vec<&'a Component> {
        catalog.matching(self.filter.value())
    }

    /// The text field that has the keyboard, if the current step has one.
    pub fn focused_input(&mut self) -> Option<&mut Input> {
        match self.step {
            WizardStep::Name if self.name_focus == 1 => Some(&mut self.environment),
            WizardStep::Name => Some(&mut self.name),
            WizardStep::Components if !self.in_chosen => Some(&mut self.filter),
            _ => None,
        }
    }

    pub fn after_edit(&mut self) {
        self.message = None;
        if self.step == WizardStep::Components {
            self.catalogue_cursor = 0;
        }
    }
}

/// The credentials offered for one step: only `workspace`'s, only `component`'s; those of
/// the flow's environment first, then by name.
pub fn candidates<'a>(
    snapshot: &'a Snapshot,
    workspace: &RecordId,
    component: &str,
    environment: &Environment,
) -> Vec<&'a Credential> {
    let mut list: Vec<&Credential> = snapshot
        .credentials_in(workspace)
        .filter(|c| c.component == component)
        .collect();
    list.sort_by(|a, b| {
        (&a.environment != environment)
            .cmp(&(&b.environment != environment))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    list
}

/// The candidates of the wizard's current flow step.
pub fn current_candidates<'a>(state: &'a State, wizard: &WizardState) -> Vec<&'a Credential> {
    let (Some(view), Some(pick)) = (state.vault.as_ref(), wizard.picks.get(wizard.step_cursor))
    else {
        return Vec::new();
    };
    let Some(workspace) = view.workspace.as_ref() else {
        return Vec::new();
    };
    candidates(
        &view.snapshot,
        workspace,
        &pick.component,
        &wizard.environment(),
    )
}

pub fn open_new(state: &mut State) {
    state.wizard = Some(WizardState::new_flow());
    state.notice = None;
    state.screen = Screen::Wizard;
}

pub fn open_edit(state: &mut State, flow: &Flow) {
    let mut wizard = WizardState::edit_flow(flow);
    wizard.credential_cursor = cursor_of_binding(state, &wizard);
    state.wizard = Some(wizard);
    state.notice = None;
    state.screen = Screen::Wizard;
}

/// Where the credential list's highlight starts for the current step: on its binding.
fn cursor_of_binding(state: &State, wizard: &WizardState) -> usize {
    let bound = wizard
        .picks
        .get(wizard.step_cursor)
        .and_then(|p| p.credential.as_ref());
    current_candidates(state, wizard)
        .iter()
        .position(|c| Some(&c.id) == bound)
        .unwrap_or(0)
}

pub fn command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    if wizard.saving {
        return;
    }
    wizard.message = None;
    match wizard.step {
        WizardStep::Name => name_step(state, command),
        WizardStep::Components => components_step(state, command),
        WizardStep::Credentials => credentials_step(state, command),
        WizardStep::Review => review_step(state, command, fx),
    }
}

fn name_step(state: &mut State, command: Command) {
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    match command {
        Command::NextField => wizard.name_focus = 1 - wizard.name_focus.min(1),
        Command::Submit if wizard.name_focus == 0 => wizard.name_focus = 1,
        Command::Submit | Command::NextStep => {
            if let Err(e) = check_name_step(state) {
                if let Some(w) = state.wizard.as_mut() {
                    w.message = Some(Notice::error(e));
                }
                return;
            }
            if let Some(w) = state.wizard.as_mut() {
                w.step = WizardStep::Components;
                w.in_chosen = false;
            }
        }
        Command::Back if changed(state) => {
            state.modal = Some(Modal::ConfirmDiscard(Discard::Wizard));
        }
        Command::Back => leave(state),
        _ => {}
    }
}

/// Closes the wizard, dropping whatever it held, back to the flows list.
pub fn leave(state: &mut State) {
    state.wizard = None;
    state.screen = Screen::Flows;
}

/// Whether leaving would lose work: anything typed or picked in a new flow, or any difference
/// from the flow being edited.
fn changed(state: &State) -> bool {
    let Some(w) = state.wizard.as_ref() else {
        return false;
    };
    let original = w
        .editing
        .as_ref()
        .and_then(|id| state.vault.as_ref().and_then(|v| v.snapshot.flow(id)));
    match original {
        None => !w.name.value().trim().is_empty() || !w.picks.is_empty(),
        Some(f) => {
            w.name.value() != f.name
                || w.environment() != f.environment
                || w.active != f.active
                || w.picks.len() != f.steps.len()
                || w.picks.iter().zip(&f.steps).any(|(p, s)| {
                    p.component != s.component || p.credential.as_ref() != Some(&s.credential)
                })
        }
    }
}

/// Step 1's gate: a valid name unused in the workspace, and an environment that parses.
fn check_name_step(state: &State) -> Result<(), String> {
    let wizard = state.wizard.as_ref().ok_or("no wizard")?;
    let name = wizard.name.value();
    check_name("flow", name)?;
    Environment::parse(wizard.environment.value())?;
    let view = state.vault.as_ref().ok_or("the vault is locked")?;
    let workspace = view
        .workspace
        .as_ref()
        .and_then(|w| view.snapshot.workspace(w))
        .ok_or("no workspace is open")?;
    view.snapshot
        .check_flow_name(workspace, name, wizard.editing.as_ref())
        .map_err(|e| e.to_string())
}

fn components_step(state: &mut State, command: Command) {
    let visible: Vec<String> = match state.wizard.as_ref() {
        Some(w) => w
            .visible_components(&state.catalog)
            .iter()
            .map(|c| c.id.clone())
            .collect(),
        None => return,
    };
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    let n = wizard.picks.len();
    match command {
        Command::Up if wizard.in_chosen => {
            wizard.chosen_cursor = wizard.chosen_cursor.saturating_sub(1)
        }
        Command::Down if wizard.in_chosen => {
            wizard.chosen_cursor = (wizard.chosen_cursor + 1).min(n.saturating_sub(1))
        }
        Command::Up => wizard.catalogue_cursor = wizard.catalogue_cursor.saturating_sub(1),
        Command::Down => {
            wizard.catalogue_cursor =
                (wizard.catalogue_cursor + 1).min(visible.len().saturating_sub(1))
        }
        Command::Add => {
            let Some(id) =
                visible.get(wizard.catalogue_cursor.min(visible.len().saturating_sub(1)))
            else {
                wizard.message = Some(Notice::error("No component matches the filter"));
                return;
            };
            wizard.picks.push(WizardPick {
                component: id.clone(),
                credential: None,
            });
            wizard.chosen_cursor = wizard.picks.len() - 1;
            // A fresh filter for the next pick: typing "stripe", Enter, "postgres", Enter.
            wizard.filter = Input::default();
            wizard.catalogue_cursor = 0;
        }
        Command::MoveUp if wizard.chosen_cursor > 0 && wizard.chosen_cursor < n => {
            wizard
                .picks
                .swap(wizard.chosen_cursor, wizard.chosen_cursor - 1);
            wizard.chosen_cursor -= 1;
        }
        Command::MoveDown if wizard.chosen_cursor + 1 < n => {
            wizard
                .picks
                .swap(wizard.chosen_cursor, wizard.chosen_cursor + 1);
            wizard.chosen_cursor += 1;
        }
        Command::Remove if wizard.chosen_cursor < n => {
            wizard.picks.remove(wizard.chosen_cursor);
            wizard.chosen_cursor = wizard.chosen_cursor.min(n.saturating_sub(2));
        }
        Command::NextField => wizard.in_chosen = !wizard.in_chosen && n > 0,
        Command::NextStep => {
            if n < 2 {
                wizard.message = Some(Notice::error(format!(
                    "Pick two or more components ({n} chosen): type to filter, Enter adds"
                )));
                return;
            }
            wizard.step = WizardStep::Credentials;
            wizard.step_cursor = wizard
                .picks
                .iter()
                .position(|p| p.credential.is_none())
                .unwrap_or(0);
            sync_credential_cursor(state);
        }
        Command::Back => {
            wizard.step = WizardStep::Name;
            wizard.in_chosen = false;
        }
        _ => {}
    }
}

fn credentials_step(state: &mut State, command: Command) {
    let Some(wizard) = state.wizard.as_ref() else {
        return;
    };
    let offered: Vec<RecordId> = current_candidates(state, wizard)
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let steps = wizard.picks.len();
    // The last row of the list is "add a new credential".
    let rows = offered.len() + 1;
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    let cursor = wizard.credential_cursor.min(rows - 1);
    match command {
        Command::Up => wizard.credential_cursor = cursor.saturating_sub(1),
        Command::Down => wizard.credential_cursor = (cursor + 1).min(rows - 1),
        Command::NextField | Command::PrevField => {
            wizard.step_cursor = if command == Command::NextField {
                (wizard.step_cursor + 1) % steps.max(1)
            } else {
                (wizard.step_cursor + steps.max(1) - 1) % steps.max(1)
            };
            sync_credential_cursor(state);
        }
        Command::Open if cursor < offered.len() => {
            let step = wizard.step_cursor;
            if let Some(pick) = wizard.picks.get_mut(step) {
                pick.credential = Some(offered[cursor].clone());
            }
            advance_to_unbound(state);
        }
        Command::Open | Command::Add => add_inline(state),
        Command::NextStep => {
            if let Some(i) = wizard.picks.iter().position(|p| p.credential.is_none()) {
                wizard.step_cursor = i;
                wizard.message = Some(Notice::error(format!(
                    "Step {} ({}) has no credential: pick one or press a to add one",
                    i + 1,
                    wizard.picks[i].component
                )));
                return;
            }
            wizard.step = WizardStep::Review;
        }
        Command::Back => wizard.step = WizardStep::Components,
        _ => {}
    }
}

/// After a pick, move to the next step still without a credential (if any).
fn advance_to_unbound(state: &mut State) {
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    let n = wizard.picks.len();
    let next = (1..n)
        .map(|d| (wizard.step_cursor + d) % n)
        .find(|i| wizard.picks[*i].credential.is_none());
    if let Some(i) = next {
        wizard.step_cursor = i;
        sync_credential_cursor(state);
    }
}

/// Puts the credential cursor on the current step's bound credential (or the top).
fn sync_credential_cursor(state: &mut State) {
    let cursor = state
        .wizard
        .as_ref()
        .map_or(0, |w| cursor_of_binding(state, w));
    if let Some(w) = state.wizard.as_mut() {
        w.credential_cursor = cursor;
    }
}

/// Opens the credentials page's own form for this step's component; the wizard stays as it
/// is underneath, and the form comes back here on save or cancel.
fn add_inline(state: &mut State) {
    let Some(wizard) = state.wizard.as_ref() else {
        return;
    };
    let step = wizard.step_cursor;
    let Some(component) = wizard.picks.get(step).map(|p| p.component.clone()) else {
        return;
    };
    let environment = wizard.environment().as_str().to_string();
    super::form::open_form(
        state,
        &component,
        None,
        &environment,
        FormOrigin::Wizard { step },
    );
}

/// A credential saved from the inline form: bind it to the step it was added for.
pub fn credential_added(state: &mut State, step: usize, id: RecordId) {
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    if let Some(pick) = wizard.picks.get_mut(step) {
        pick.credential = Some(id);
    }
    wizard.step_cursor = step;
    sync_credential_cursor(state);
    advance_to_unbound(state);
    state.screen = Screen::Wizard;
}

/// The flow the wizard describes, for the rule checks and the save.
pub fn flow_of(state: &State, wizard: &WizardState) -> Option<Flow> {
    let workspace = state.workspace_id()?.clone();
    let now = state.clock.wall;
    let original = wizard
        .editing
        .as_ref()
        .and_then(|id| state.vault.as_ref().and_then(|v| v.snapshot.flow(id)));
    let steps = wizard
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
        id: wizard
            .editing
            .clone()
            .unwrap_or_else(|| RecordId(String::new())),
        workspace,
        name: wizard.name.value().to_string(),
        environment: wizard.environment(),
        steps,
        active: wizard.active,
        created_at: original.map_or(now, |f| f.created_at),
        updated_at: now,
    })
}

fn review_step(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    match command {
        Command::Toggle => wizard.active = !wizard.active,
        Command::Back => wizard.step = WizardStep::Credentials,
        Command::Save => save(state, fx),
        _ => {}
    }
}

/// Checks the flow with the same rules the store applies (so a refusal shows at once, in the
/// store's words), then asks the edges to write it; the store checks again on commit.
fn save(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(wizard) = state.wizard.as_ref() else {
        return;
    };
    let Some(flow) = flow_of(state, wizard) else {
        if let Some(w) = state.wizard.as_mut() {
            w.message = Some(Notice::error("Every step needs a credential"));
        }
        return;
    };
    let checked = state.vault.as_ref().map(|v| {
        let snapshot = &v.snapshot;
        let workspace = snapshot.workspace(&flow.workspace);
        workspace
            .map_or(Ok(()), |w| {
                snapshot.check_flow_name(w, &flow.name, wizard.editing.as_ref())
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
    let editing = wizard.editing.is_some();
    let Some(wizard) = state.wizard.as_mut() else {
        return;
    };
    if let Some(Err(e)) = checked {
        wizard.message = Some(Notice::error(format!("Not saved: {e}")));
        return;
    }
    wizard.saving = true;
    fx.push(if editing {
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
    });
}

/// The store refused the flow: the wizard stays open with the reason.
pub fn save_failed(state: &mut State, message: &str) -> bool {
    let Some(wizard) = state.wizard.as_mut().filter(|w| w.saving) else {
        return false;
    };
    wizard.saving = false;
    wizard.message = Some(Notice::error(format!("Not saved: {message}")));
    true
}
