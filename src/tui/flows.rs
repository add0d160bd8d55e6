//! The flows list and what it leads to: activate, deactivate, edit (the wizard at its
//! credentials step), delete, promote to production, and a credential's "used by" with
//! "rebind to another credential". Models and their part of `update`; drawing is in screens/.

use tui_input::Input;

use crate::core::rules::PromotionChoice;
use crate::core::Snapshot;
use crate::core::{Credential, Environment, Flow, RecordId};

use super::action::Effect;
use super::keys::Command;
use super::state::{DeleteTarget, FormOrigin, Modal, Notice, Screen, State};

#[derive(Debug, Default)]
pub struct FlowsState {
    pub selected: usize,
}

/// A flow's workspace's flows in display order (by name).
pub fn sorted_flows<'a>(snapshot: &'a Snapshot, workspace: &RecordId) -> Vec<&'a Flow> {
    let mut list: Vec<&Flow> = snapshot.flows_in(workspace).collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    list
}

fn selected_flow(state: &State) -> Option<Flow> {
    let view = state.vault.as_ref()?;
    let list = sorted_flows(&view.snapshot, view.workspace.as_ref()?);
    let i = state.flows.selected.min(list.len().checked_sub(1)?);
    list.get(i).map(|f| (*f).clone())
}

pub fn open_list(state: &mut State) {
    state.flows.selected = 0;
    state.notice = None;
    state.screen = Screen::Flows;
}

pub fn flows_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let count = state
        .vault
        .as_ref()
        .and_then(|v| v.workspace.as_ref().map(|w| v.snapshot.flows_in(w).count()))
        .unwrap_or(0);
    let sel = state.flows.selected.min(count.saturating_sub(1));
    state.flows.selected = sel;
    let current = selected_flow(state);
    match command {
        Command::Up => state.flows.selected = sel.saturating_sub(1),
        Command::Down => state.flows.selected = (sel + 1).min(count.saturating_sub(1)),
        Command::Back => {
            state.notice = None;
            state.screen = Screen::Grid;
        }
        Command::Add => super::wizard::open_new(state),
        Command::Edit => {
            if let Some(f) = current {
                super::wizard::open_edit(state, &f);
            }
        }
        Command::Activate | Command::Deactivate => {
            let Some(f) = current else { return };
            let active = command == Command::Activate;
            if f.active == active {
                state.notice = Some(Notice::info(format!(
                    "'{}' is already {}",
                    f.name,
                    activity(active)
                )));
                return;
            }
            // The store refuses an activation on a missing or failing credential; checking
            // here too shows the same words without a round trip.
            if active {
                let ready = state
                    .vault
                    .as_ref()
                    .map(|v| v.snapshot.check_flow_ready(&f));
                if let Some(Err(e)) = ready {
                    state.notice = Some(Notice::error(format!("Not activated: {e}")));
                    return;
                }
            }
            fx.push(Effect::SetFlowActive { id: f.id, active });
        }
        Command::Delete => {
            if let Some(f) = current {
                state.modal = Some(Modal::ConfirmDelete {
                    target: DeleteTarget::Flow {
                        id: f.id,
                        name: f.name,
                    },
                    refusal: None,
                });
            }
        }
        Command::Promote => {
            if let Some(f) = current {
                open_promote(state, &f);
            }
        }
        _ => {}
    }
}

// ---- promote ---------------------------------------------------------------------------------

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
}

pub const PROMOTION_TARGET: Environment = Environment::Production;

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

fn open_promote(state: &mut State, flow: &Flow) {
    if flow.environment == PROMOTION_TARGET {
        state.notice = Some(Notice::error(format!(
            "'{}' is already in production",
            flow.name
        )));
        return;
    }
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let picks = plan(&view.snapshot, flow);
    let cursor = picks.iter().position(|p| p.chosen.is_none()).unwrap_or(0);
    state.promote = Some(PromoteState {
        flow: flow.id.clone(),
        flow_name: flow.name.clone(),
        picks,
        cursor,
        name: Input::new(format!("{}-production", flow.name)),
        name_focused: false,
        move_flow: false,
        saving: false,
        message: None,
    });
    state.notice = None;
    state.screen = Screen::Promote;
}

pub fn promote_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(p) = state.promote.as_mut() else {
        return;
    };
    if p.saving {
        return;
    }
    p.message = None;
    let n = p.picks.len();
    match command {
        Command::Up => p.cursor = p.cursor.saturating_sub(1),
        Command::Down => p.cursor = (p.cursor + 1).min(n.saturating_sub(1)),
        Command::Left | Command::Right => {
            let Some(pick) = p.picks.get_mut(p.cursor) else {
                return;
            };
            let m = pick.candidates.len();
            if m == 0 {
                p.message = Some(Notice::error(format!(
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
        Command::Toggle => p.move_flow = !p.move_flow,
        Command::NextField => p.name_focused = !p.name_focused,
        Command::Add => {
            let step = p.cursor;
            let Some(component) = p.picks.get(step).map(|x| x.component.clone()) else {
                return;
            };
            super::form::open_form(
                state,
                &component,
                None,
                PROMOTION_TARGET.as_str(),
                FormOrigin::Promote { step },
            );
        }
        Command::Save => save_promotion(state, fx),
        Command::Back => {
            state.promote = None;
            state.screen = Screen::Flows;
        }
        _ => {}
    }
}

fn save_promotion(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = state.promote.as_ref() else {
        return;
    };
    let name = p.name.value().to_string();
    let name_check = state.vault.as_ref().and_then(|v| {
        let w = v.snapshot.workspace(v.workspace.as_ref()?)?;
        // Moving keeps the flow's identity, so its own name is not a clash.
        let editing = p.move_flow.then(|| p.flow.clone());
        v.snapshot.check_flow_name(w, &name, editing.as_ref()).err()
    });
    let Some(p) = state.promote.as_mut() else {
        return;
    };
    if let Some(e) = name_check {
        p.name_focused = true;
        p.message = Some(Notice::error(e.to_string()));
        return;
    }
    let mut bindings = Vec::with_capacity(p.picks.len());
    for (i, pick) in p.picks.iter().enumerate() {
        match &pick.chosen {
            Some(id) => bindings.push(id.clone()),
            None => {
                let hint = if pick.candidates.is_empty() {
                    "press a to add one"
                } else {
                    "choose one with ←/→"
                };
                p.cursor = i;
                p.name_focused = false;
                p.message = Some(Notice::error(format!(
                    "Step {} ({}) has no production credential yet: {hint}",
                    i + 1,
                    pick.component
                )));
                return;
            }
        }
    }
    p.saving = true;
    fx.push(Effect::PromoteFlow {
        id: p.flow.clone(),
        bindings,
        new_name: name,
        move_flow: p.move_flow,
    });
}

/// A credential saved from the inline form over the promotion screen: offered and chosen for
/// its step if it is a production credential of that component.
pub fn promote_credential_added(state: &mut State, step: usize, id: RecordId) {
    let credential = state
        .vault
        .as_ref()
        .and_then(|v| v.snapshot.credential(&id))
        .map(|c| (c.environment.clone(), c.component.clone(), c.name.clone()));
    state.screen = Screen::Promote;
    let Some(p) = state.promote.as_mut() else {
        return;
    };
    let Some(pick) = p.picks.get_mut(step) else {
        return;
    };
    p.cursor = step;
    match credential {
        Some((env, component, _)) if env == PROMOTION_TARGET && component == pick.component => {
            if !pick.candidates.contains(&id) {
                pick.candidates.push(id.clone());
            }
            pick.chosen = Some(id);
        }
        Some((env, _, name)) => {
            p.message = Some(Notice::error(format!(
                "'{name}' was saved in {env}, not production: it cannot serve this step"
            )));
        }
        None => {}
    }
}

pub fn promote_failed(state: &mut State, message: &str) -> bool {
    let Some(p) = state.promote.as_mut().filter(|p| p.saving) else {
        return false;
    };
    p.saving = false;
    p.message = Some(Notice::error(format!("Not promoted: {message}")));
    true
}

// ---- used by ---------------------------------------------------------------------------------

#[derive(Debug)]
pub struct UsedByState {
    pub credential: RecordId,
    /// The highlighted replacement.
    pub cursor: usize,
    pub back: Screen,
}

pub fn open_used_by(state: &mut State, credential: RecordId, back: Screen) {
    state.used_by = Some(UsedByState {
        credential,
        cursor: 0,
        back,
    });
    state.notice = None;
    state.screen = Screen::UsedBy;
}

/// Credentials that can take over from `old` in its flows: same workspace, same component,
/// its environment first.
pub fn replacements<'a>(snapshot: &'a Snapshot, old: &Credential) -> Vec<&'a Credential> {
    super::wizard::candidates(snapshot, &old.workspace, &old.component, &old.environment)
        .into_iter()
        .filter(|c| c.id != old.id)
        .collect()
}

pub fn used_by_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(u) = state.used_by.as_ref() else {
        return;
    };
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let Some(old) = view.snapshot.credential(&u.credential) else {
        state.used_by = None;
        state.screen = Screen::Credentials;
        return;
    };
    let options: Vec<(RecordId, String)> = replacements(&view.snapshot, old)
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let used = view.snapshot.flows_using(&old.id).count();
    let old_id = old.id.clone();
    let Some(u) = state.used_by.as_mut() else {
        return;
    };
    let cursor = u.cursor.min(options.len().saturating_sub(1));
    match command {
        Command::Up => u.cursor = cursor.saturating_sub(1),
        Command::Down => u.cursor = (cursor + 1).min(options.len().saturating_sub(1)),
        Command::Back => {
            state.screen = u.back;
            state.used_by = None;
            state.notice = None;
        }
        Command::Confirm => {
            if used == 0 {
                state.notice = Some(Notice::info("No flow uses this credential"));
                return;
            }
            let Some((new, name)) = options.get(cursor).cloned() else {
                state.notice = Some(Notice::error(
                    "No other credential of this component in the workspace: add one first",
                ));
                return;
            };
            state.notice = None;
            fx.push(Effect::RebindEverywhere {
                old: old_id,
                new,
                new_name: name,
            });
        }
        _ => {}
    }
}

/// How notices word a flow's state.
pub(super) fn activity(active: bool) -> &'static str {
    if active {
        "active"
    } else {
        "inactive"
    }
}
