//! The pure state machine: `update(state, action)` changes the model and returns the effects
//! the edges must run. No I/O, no clock reads, no randomness: every input arrives in an action.
//!
//! This file routes actions and keys; each screen's handling lives beside it (unlock,
//! workspaces, browse, form, detail, wizard, flows, audit, login), and `stored` takes the
//! answers of the store.

use crossterm::event::{Event, KeyEvent};
use secrecy::SecretString;
use tui_input::backend::crossterm::to_input_request;
use tui_input::Input;
use zeroize::Zeroize;

use super::action::{Action, Effect};
use super::keys::{self, Command, Context};
use super::state::*;
use super::{audit, browse, detail, flows, form, login, stored, unlock, wizard, workspaces};

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    match action {
        Action::Clock(clock) => on_clock(state, clock, &mut fx),
        Action::Resize(w, h) => state.size = (w, h),
        Action::Key(key) => on_key(state, key, &mut fx),
        Action::Paste(text) => {
            state.last_input = state.clock.mono;
            on_paste(state, secrecy::ExposeSecret::expose_secret(&text));
        }
        Action::AutoUnlock(passphrase) => {
            state.unlock.busy = true;
            fx.push(if state.unlock.creating {
                Effect::CreateVault { passphrase }
            } else {
                Effect::OpenVault { passphrase }
            });
        }
        Action::Unlocked {
            snapshot,
            remembered,
        } => unlock::on_unlocked(state, snapshot, remembered, &mut fx),
        Action::UnlockFailed(error) => unlock::on_unlock_failed(state, error),
        Action::Stored { snapshot, event } => {
            detail::on_stored(state, &snapshot, &event, &mut fx);
            stored::on_stored(state, snapshot, event);
        }
        Action::HistoryLoaded { credential, result } => {
            detail::on_history_loaded(state, credential, result)
        }
        Action::StoreFailed { event, message } => stored::on_store_failed(state, event, message),
        Action::DraftRefused { request, error } => form::on_draft_refused(state, request, error),
        Action::VerifyFinished {
            request,
            credential,
            outcome,
        } => form::on_verified(state, request, *credential, outcome, &mut fx),
        Action::LoginDevice { request, device } => login::on_device(state, request, device),
        Action::LoginProgress { request, note } => login::on_progress(state, request, note),
        Action::LoginPasteReady { request, url } => login::on_paste_ready(state, request, url),
        Action::LoginFinished { request, result } => login::on_finished(state, request, result),
        Action::Terminate => quit(state, &mut fx),
    }
    fx
}

// ---- time ------------------------------------------------------------------------------------

fn on_clock(state: &mut State, clock: Clock, fx: &mut Vec<Effect>) {
    state.clock = clock;
    if let Some(form) = state.form.as_mut() {
        if form.revealed.is_some_and(|(_, until)| until <= clock.mono) {
            form.revealed = None;
        }
    }
    if let (Some(after), Some(_)) = (state.auto_lock, &state.vault) {
        if clock.mono.saturating_duration_since(state.last_input) >= after {
            let minutes = after.as_secs().div_ceil(60);
            lock(
                state,
                fx,
                format!("Locked after {minutes} minute(s) without input: enter the passphrase"),
            );
        }
    }
}

/// Leaves the UI; a "verify all" still running first records what it has learned.
fn quit(state: &mut State, fx: &mut Vec<Effect>) {
    if let Some(run) = state.audit.run.as_mut() {
        audit::flush(run, fx);
    }
    state.quit = true;
}

/// Forgets everything decrypted and returns to Unlock; the edges drop the store with the keys,
/// once a "verify all" still running has recorded what it learned.
fn lock(state: &mut State, fx: &mut Vec<Effect>, why: String) {
    if let Some(run) = state.audit.run.as_mut() {
        audit::flush(run, fx);
    }
    if let Some(mut form) = state.form.take() {
        wipe_form(&mut form);
    }
    state.vault = None;
    state.modal = None;
    state.wizard = None;
    state.promote = None;
    state.used_by = None;
    state.detail = None;
    state.audit.run = None;
    state.audit.fresh.clear();
    state.verifying.clear();
    state.notice = None;
    state.screen = Screen::Unlock;
    state.unlock = UnlockState {
        message: Some(Notice::info(why)),
        ..UnlockState::default()
    };
    fx.push(Effect::Lock);
}

/// Best effort: the typed secrets are overwritten before their buffers are freed.
pub(super) fn wipe_form(form: &mut FormState) {
    for field in form.fields.iter_mut().filter(|f| f.secret) {
        field.input.value_and_reset().zeroize();
    }
    if let Some(l) = form.login.as_mut() {
        login::wipe(l);
    }
}

pub(super) fn take_secret(input: &mut Input) -> SecretString {
    SecretString::from(input.value_and_reset())
}

// ---- keys ------------------------------------------------------------------------------------

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    state.last_input = state.clock.mono;
    if keys::is_interrupt(&key) {
        quit(state, fx);
        return;
    }
    let context = state.context();
    match keys::command_for(context, &key) {
        Some(command) => on_command(state, context, command, fx),
        None if context.takes_text() => {
            if let Some(request) = to_input_request(&Event::Key(key)) {
                if let Some(input) = focused_input(state) {
                    input.handle(request);
                    after_edit(state);
                }
            }
        }
        None => {}
    }
}

fn focused_input(state: &mut State) -> Option<&mut Input> {
    match state.modal.as_mut() {
        Some(Modal::Prompt(p)) => return Some(&mut p.input),
        Some(_) => return None,
        None => {}
    }
    match state.screen {
        Screen::Unlock if state.unlock.busy => None,
        Screen::Unlock if state.unlock.focus == 1 => Some(&mut state.unlock.confirm),
        Screen::Unlock => Some(&mut state.unlock.passphrase),
        Screen::Grid if state.grid.filtering => Some(&mut state.grid.filter),
        Screen::Wizard => state.wizard.as_mut()?.focused_input(),
        Screen::Promote => state
            .promote
            .as_mut()
            .filter(|p| p.name_focused)
            .map(|p| &mut p.name),
        Screen::Form => {
            let form = state.form.as_mut()?;
            if let Some(login::LoginState {
                phase:
                    login::LoginPhase::Paste {
                        input,
                        exchanging: false,
                        ..
                    },
                ..
            }) = form.login.as_mut()
            {
                return Some(input);
            }
            let focus = form.focus;
            form.fields.get_mut(focus).map(|f| &mut f.input)
        }
        _ => None,
    }
}

/// Follows an edit of the focused input: inline validation, filter reset, stale offers dropped.
fn after_edit(state: &mut State) {
    if let Some(Modal::Prompt(p)) = state.modal.as_mut() {
        p.error = None;
        return;
    }
    match state.screen {
        Screen::Grid => state.grid.selected = 0,
        Screen::Wizard => {
            if let Some(w) = state.wizard.as_mut() {
                w.after_edit();
            }
        }
        Screen::Promote => {
            if let Some(p) = state.promote.as_mut() {
                p.message = None;
            }
        }
        Screen::Form => {
            let Some(form) = state.form.as_mut() else {
                return;
            };
            if form
                .login
                .as_ref()
                .is_some_and(login::LoginState::takes_paste)
            {
                form.message = None; // the edit went to the pasted address, not a field
                return;
            }
            // A prepared credential no longer matches the form once it changes.
            if matches!(form.phase, FormPhase::Unreachable { .. }) {
                form.phase = FormPhase::Editing;
            }
            let focus = form.focus;
            let error = form::validate_field(&state.catalog, state.vault.as_ref(), form, focus);
            if let Some(form) = state.form.as_mut() {
                if let Some(field) = form.fields.get_mut(focus) {
                    field.error = error;
                }
            }
        }
        _ => {}
    }
}

fn on_paste(state: &mut State, text: &str) {
    // Single-line fields: line breaks and other control characters are dropped, so a pasted
    // key with a trailing newline is the key.
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        return;
    }
    let Some(input) = focused_input(state) else {
        return;
    };
    let cursor = input.cursor();
    let mut value: String = input.value().chars().take(cursor).collect();
    value.push_str(&clean);
    value.extend(input.value().chars().skip(cursor));
    let at = cursor + clean.chars().count();
    *input = Input::new(value).with_cursor(at);
    after_edit(state);
}

fn on_command(state: &mut State, context: Context, command: Command, fx: &mut Vec<Effect>) {
    match command {
        Command::Quit => {
            quit(state, fx);
            return;
        }
        Command::Help => {
            state.modal = Some(Modal::Help { context });
            return;
        }
        Command::Lock => {
            lock(state, fx, "Locked: enter the passphrase".into());
            return;
        }
        _ => {}
    }
    match context {
        Context::Unlock => unlock::unlock_command(state, command, fx),
        Context::Workspaces => workspaces::workspaces_command(state, command, fx),
        Context::Grid | Context::GridFilter => browse::grid_command(state, context, command),
        Context::Credentials => browse::credentials_command(state, command, fx),
        Context::Form | Context::OAuthForm => form::form_command(state, command, fx),
        Context::LoginPaste => login::paste_command(state, command, fx),
        Context::Prompt => workspaces::prompt_command(state, command, fx),
        Context::ConfirmDelete => workspaces::confirm_delete_command(state, command, fx),
        Context::ConfirmDiscard => {
            let what = match state.modal.take() {
                Some(Modal::ConfirmDiscard(what)) => what,
                _ => return,
            };
            match (command, what) {
                (Command::Confirm, Discard::Form) => form::close_form(state, fx),
                (Command::Confirm, Discard::Wizard) => wizard::leave(state),
                _ => {}
            }
        }
        Context::Help => state.modal = None,
        Context::Flows => flows::flows_command(state, command, fx),
        Context::WizardName
        | Context::WizardComponents
        | Context::WizardChosen
        | Context::WizardCredentials
        | Context::WizardReview => wizard::command(state, command, fx),
        Context::PromoteSteps | Context::PromoteName => flows::promote_command(state, command, fx),
        Context::UsedBy => flows::used_by_command(state, command, fx),
        Context::Audit => audit::command(state, command, fx),
        Context::Detail => detail::command(state, command, fx),
    }
}
