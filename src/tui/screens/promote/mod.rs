//! Promotion to production: each step gets a production credential of its component —
//! automatically where exactly one exists, the user's choice (←/→) where several do, one added
//! inline with the credential form where none does — then the copy's name, and whether the
//! staging flow is kept or moved.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::core::rules::PromotionChoice;
use crate::core::{Environment, Flow, RecordId, Snapshot};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{InlineAdd, Nav, Returned};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::Notice;
use keys::{Command, PROMOTE_NAME, PROMOTE_STEPS};

pub const PROMOTION_TARGET: Environment = Environment::Production;

/// One step of a promotion: the production credentials offered and the one chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotePick {
    pub component: String,
    pub candidates: Vec<RecordId>,
    /// Exactly one candidate existed, so it was chosen without asking.
    pub automatic: bool,
    pub chosen: Option<RecordId>,
}

#[derive(Debug)]
pub struct PromoteState {
    pub flow: RecordId,
    pub flow_name: String,
    pub picks: Vec<PromotePick>,
    pub cursor: usize,
    pub name: Input,
    pub name_focused: bool,
    /// Replace the staging flow instead of keeping it.
    pub move_flow: bool,
    pub saving: bool,
    pub message: Option<Notice>,
    /// A production credential being added for a step.
    adding: InlineAdd,
}

/// The promotion plan as the screen shows it: automatic picks chosen, the others open.
pub fn plan(snapshot: &Snapshot, flow: &Flow) -> Vec<PromotePick> {
    snapshot
        .plan_promotion(flow, &PROMOTION_TARGET)
        .into_iter()
        .map(|step| match step.choice {
            PromotionChoice::Automatic(id) => PromotePick {
                component: step.component,
                candidates: vec![id.clone()],
                automatic: true,
                chosen: Some(id),
            },
            PromotionChoice::Ask(ids) => PromotePick {
                component: step.component,
                candidates: ids,
                automatic: false,
                chosen: None,
            },
            PromotionChoice::NoCredential => PromotePick {
                component: step.component,
                candidates: Vec::new(),
                automatic: false,
                chosen: None,
            },
        })
        .collect()
}

impl PromoteState {
    /// Promotion of `flow`; None (with a notice saying why) for a flow already in production.
    pub fn open(shared: &mut Shared, flow: &RecordId) -> Option<PromoteState> {
        let flow = shared.vault.as_ref()?.snapshot.flow(flow)?.clone();
        if flow.environment == PROMOTION_TARGET {
            shared.notice = Some(Notice::error(format!(
                "'{}' is already in production",
                flow.name
            )));
            return None;
        }
        let picks = plan(&shared.vault.as_ref()?.snapshot, &flow);
        let cursor = picks.iter().position(|p| p.chosen.is_none()).unwrap_or(0);
        shared.notice = None;
        Some(PromoteState {
            flow: flow.id.clone(),
            flow_name: flow.name.clone(),
            picks,
            cursor,
            // A name no flow has yet, up front: a clash is not found only after Enter.
            name: Input::new(free_name(shared, &flow)),
            name_focused: false,
            move_flow: false,
            saving: false,
            message: None,
            adding: InlineAdd::default(),
        })
    }

    fn cycle(&mut self, command: Command) {
        let Some(pick) = self.picks.get_mut(self.cursor) else {
            return;
        };
        let m = pick.candidates.len();
        if m == 0 {
            self.message = Some(Notice::error(format!(
                "No production {} credential in this workspace: press a to add one",
                pick.component
            )));
            return;
        }
        let at = pick
            .chosen
            .as_ref()
            .and_then(|c| pick.candidates.iter().position(|x| x == c));
        let next = match (at, command) {
            (None, Command::Left) => m - 1,
            (None, _) => 0,
            (Some(i), Command::Left) => (i + m - 1) % m,
            (Some(i), _) => (i + 1) % m,
        };
        pick.chosen = Some(pick.candidates[next].clone());
    }

    fn save(&mut self, shared: &Shared) -> Update {
        let name = self.name.value().to_string();
        let name_check = shared.vault.as_ref().and_then(|v| {
            let w = v.snapshot.workspace(v.workspace.as_ref()?)?;
            // Moving keeps the flow's identity, so its own name is not a clash.
            let editing = self.move_flow.then(|| self.flow.clone());
            v.snapshot.check_flow_name(w, &name, editing.as_ref()).err()
        });
        if let Some(e) = name_check {
            self.name_focused = true;
            self.message = Some(Notice::error(e.to_string()));
            return Update::none();
        }
        let mut bindings = Vec::with_capacity(self.picks.len());
        for (i, pick) in self.picks.iter().enumerate() {
            match &pick.chosen {
                Some(id) => bindings.push(id.clone()),
                None => {
                    let hint = if pick.candidates.is_empty() {
                        "press a to add one"
                    } else {
                        "choose one with ←/→"
                    };
                    self.cursor = i;
                    self.name_focused = false;
                    self.message = Some(Notice::error(format!(
                        "Step {} ({}) has no production credential yet: {hint}",
                        i + 1,
                        pick.component
                    )));
                    return Update::none();
                }
            }
        }
        self.saving = true;
        Update::effect(Effect::PromoteFlow {
            id: self.flow.clone(),
            target: PROMOTION_TARGET,
            bindings,
            new_name: name,
            move_flow: self.move_flow,
        })
    }

    /// A credential saved from the inline form for `step`: offered and chosen for it if it is a
    /// production credential of that component.
    fn credential_added(&mut self, shared: &Shared, step: usize, id: RecordId) {
        let credential = shared
            .vault
            .as_ref()
            .and_then(|v| v.snapshot.credential(&id))
            .map(|c| (c.environment.clone(), c.component.clone(), c.name.clone()));
        let Some(pick) = self.picks.get_mut(step) else {
            return;
        };
        self.cursor = step;
        match credential {
            Some((env, component, _)) if env == PROMOTION_TARGET && component == pick.component => {
                if !pick.candidates.contains(&id) {
                    pick.candidates.push(id.clone());
                }
                pick.chosen = Some(id);
            }
            Some((env, _, name)) => {
                self.message = Some(Notice::error(format!(
                    "'{name}' was saved in {env}, not production: it cannot serve this step"
                )));
            }
            None => {}
        }
    }
}

impl Screen for PromoteState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.name_focused {
            &PROMOTE_NAME
        } else {
            &PROMOTE_STEPS
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if self.saving {
            return Update::none();
        }
        self.message = None;
        let n = self.picks.len();
        match command {
            Command::Up => self.cursor = self.cursor.saturating_sub(1),
            Command::Down => self.cursor = (self.cursor + 1).min(n.saturating_sub(1)),
            Command::Left | Command::Right => self.cycle(command),
            Command::Toggle => self.move_flow = !self.move_flow,
            Command::NextField => self.name_focused = !self.name_focused,
            Command::Add => {
                let step = self.cursor;
                let Some(component) = self.picks.get(step).map(|x| x.component.clone()) else {
                    return Update::none();
                };
                let environment = PROMOTION_TARGET.as_str();
                let form = self
                    .adding
                    .open(step, component, environment, "flows › promote");
                return Update::nav(form);
            }
            Command::Save => return self.save(shared),
            Command::Back => return Update::nav(Nav::BACK),
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "flows › promote".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        self.name_focused.then_some(&mut self.name)
    }

    fn edited(&mut self, _shared: &mut Shared) {
        self.message = None;
    }

    fn on_stored(&mut self, _shared: &mut Shared, event: &Stored) -> Option<Update> {
        match event {
            Stored::FlowPromoted { name } => {
                Some(Update::nav(Nav::Back(Some(Returned::FlowPromoted {
                    name: name.clone(),
                }))))
            }
            _ => None,
        }
    }

    fn on_store_failed(&mut self, _shared: &mut Shared, event: &Stored, message: &str) -> bool {
        if !matches!(event, Stored::FlowPromoted { .. }) || !self.saving {
            return false;
        }
        self.saving = false;
        self.message = Some(Notice::error(format!("Not promoted: {message}")));
        true
    }

    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        if let Some((step, id)) = self.adding.finished(value) {
            self.credential_added(shared, step, id);
        }
        Update::none()
    }
}

/// `NAME-production`, or the first free `NAME-production-2`…, in the flow's workspace.
fn free_name(shared: &Shared, flow: &crate::core::Flow) -> String {
    let base = format!("{}-production", flow.name);
    shared
        .vault
        .as_ref()
        .and_then(|v| {
            let w = v.snapshot.workspace(&flow.workspace)?;
            Some(v.snapshot.free_flow_name(w, &base))
        })
        .unwrap_or(base)
}
