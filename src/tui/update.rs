//! The pure state machine: `update(state, action)` changes the model and returns the effects
//! the edges must run. No I/O, no clock reads, no randomness: every input arrives in an action.

use crossterm::event::{Event, KeyEvent};
use secrecy::SecretString;
use tui_input::backend::crossterm::to_input_request;
use tui_input::Input;
use zeroize::Zeroize;

use crate::core::input::{check_field, FieldValue};
use crate::core::rules::{check_name, Snapshot};
use crate::core::{Credential, Environment, RecordId, RuleError, Status, Verification, Workspace};
use crate::store::{apply_tokens, CredentialDraft, StoreError};
use crate::vault::VaultError;
use crate::verify::Outcome;

use super::action::{Action, Effect, RequestId, Stored};
use super::keys::{self, Command, Context};
use super::layout;
use super::state::*;
use super::{audit, detail, flows, login, wizard};

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    match action {
        Action::Clock(clock) => on_clock(state, clock, &mut fx),
        Action::Resize(w, h) => state.size = (w, h),
        Action::Key(key) => on_key(state, key, &mut fx),
        Action::Paste(text) => {
            state.last_input = state.clock.mono;
            on_paste(state, &text);
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
        } => on_unlocked(state, snapshot, remembered, &mut fx),
        Action::UnlockFailed(error) => on_unlock_failed(state, error),
        Action::Stored { snapshot, event } => {
            detail::on_stored(state, &event, &mut fx);
            on_stored(state, snapshot, event);
        }
        Action::HistoryLoaded { credential, result } => {
            detail::on_history_loaded(state, credential, result)
        }
        Action::StoreFailed { event, message } => on_store_failed(state, event, message),
        Action::DraftRefused { request, error } => on_draft_refused(state, request, error),
        Action::VerifyFinished {
            request,
            credential,
            outcome,
        } => on_verified(state, request, *credential, outcome, &mut fx),
        Action::LoginDevice { request, device } => login::on_device(state, request, device),
        Action::LoginProgress { request, note } => login::on_progress(state, request, note),
        Action::LoginPasteReady { request, url } => login::on_paste_ready(state, request, url),
        Action::LoginFinished { request, result } => login::on_finished(state, request, result),
        Action::Terminate => state.quit = true,
    }
    fx
}

fn on_store_failed(state: &mut State, event: Stored, message: String) {
    if let (Stored::CredentialSaved(_), Some(form)) = (&event, state.form.as_mut()) {
        form.phase = FormPhase::Editing;
        form.message = Some(Notice::error(format!("Not saved: {message}")));
        return;
    }
    let handled = match &event {
        Stored::FlowSaved { .. } => wizard::save_failed(state, &message),
        Stored::FlowPromoted { .. } => flows::promote_failed(state, &message),
        _ => false,
    };
    if handled {
        return;
    }
    let text = match event {
        Stored::FlowActivated { active: true, .. } => format!("Not activated: {message}"),
        Stored::Rebound { to, .. } => format!("Not rebound to '{to}': {message}"),
        Stored::VerificationsRecorded => format!("Audit results not recorded: {message}"),
        _ => message,
    };
    state.notice = Some(Notice::error(text));
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

/// Forgets everything decrypted and returns to Unlock; the edges drop the store with the keys.
fn lock(state: &mut State, fx: &mut Vec<Effect>, why: String) {
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
fn wipe_form(form: &mut FormState) {
    for field in form.fields.iter_mut().filter(|f| f.secret) {
        field.input.value_and_reset().zeroize();
    }
    if let Some(l) = form.login.as_mut() {
        login::wipe(l);
    }
}

fn take_secret(input: &mut Input) -> SecretString {
    SecretString::from(input.value_and_reset())
}

// ---- keys ------------------------------------------------------------------------------------

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    state.last_input = state.clock.mono;
    if keys::is_interrupt(&key) {
        state.quit = true;
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
            let error = validate_field(&state.catalog, state.vault.as_ref(), form, focus);
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
            state.quit = true;
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
        Context::Unlock => unlock_command(state, command, fx),
        Context::Workspaces => workspaces_command(state, command, fx),
        Context::Grid | Context::GridFilter => grid_command(state, context, command),
        Context::Credentials => credentials_command(state, command, fx),
        Context::Form | Context::OAuthForm => form_command(state, command, fx),
        Context::LoginPaste => login::paste_command(state, command, fx),
        Context::Prompt => prompt_command(state, command, fx),
        Context::ConfirmDelete => confirm_delete_command(state, command, fx),
        Context::ConfirmDiscard => {
            let what = match state.modal.take() {
                Some(Modal::ConfirmDiscard(what)) => what,
                _ => return,
            };
            match (command, what) {
                (Command::Confirm, Discard::Form) => close_form(state, fx),
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
        Context::Detail => detail::command(state, command),
    }
}

// ---- unlock ----------------------------------------------------------------------------------

fn unlock_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let u = &mut state.unlock;
    if u.busy {
        return;
    }
    match command {
        Command::NextField if u.creating => u.focus = 1 - u.focus.min(1),
        Command::Submit => {
            if u.passphrase.value().is_empty() {
                u.focus = 0;
                u.message = Some(Notice::error("Type the passphrase first"));
                return;
            }
            if !u.creating {
                u.busy = true;
                u.message = None;
                fx.push(Effect::OpenVault {
                    passphrase: take_secret(&mut u.passphrase),
                });
                return;
            }
            if u.focus == 0 && u.confirm.value().is_empty() {
                u.focus = 1;
                return;
            }
            if u.passphrase.value() != u.confirm.value() {
                u.confirm.value_and_reset().zeroize();
                u.focus = 1;
                u.message = Some(Notice::error("The two passphrases differ: type it again"));
                return;
            }
            u.confirm.value_and_reset().zeroize();
            u.busy = true;
            u.focus = 0;
            u.message = None;
            fx.push(Effect::CreateVault {
                passphrase: take_secret(&mut u.passphrase),
            });
        }
        _ => {}
    }
}

fn on_unlock_failed(state: &mut State, error: VaultError) {
    let u = &mut state.unlock;
    u.busy = false;
    u.focus = 0;
    match error {
        VaultError::WrongPassphrase(_) => {
            u.message = Some(Notice::error("Wrong passphrase: try again"));
        }
        VaultError::Missing(_) => {
            u.creating = true;
            u.message = Some(Notice::info(
                "No vault here yet: choose a passphrase (twice) to create one",
            ));
        }
        fatal => {
            state.fatal = Some(fatal);
            state.quit = true;
        }
    }
}

fn on_unlocked(
    state: &mut State,
    snapshot: Snapshot,
    remembered: Option<RecordId>,
    fx: &mut Vec<Effect>,
) {
    state.unlock = UnlockState::default();
    state.last_input = state.clock.mono;
    let workspaces = sorted_workspaces(&snapshot);
    let pick = remembered
        .filter(|id| snapshot.workspace(id).is_some())
        .or_else(|| match workspaces.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        });
    drop(workspaces);
    let mut view = VaultView::new(snapshot);
    match pick {
        Some(id) => {
            view.select_workspace(Some(id.clone()));
            fx.push(Effect::RememberWorkspace { id });
            state.screen = Screen::Grid;
        }
        None => {
            view.select_workspace(None);
            state.screen = Screen::Workspaces;
        }
    }
    state.vault = Some(view);
    state.grid = GridState::default();
    state.workspaces.selected = 0;
}

// ---- workspaces ------------------------------------------------------------------------------

/// Workspaces in display order (by name, case-insensitively).
pub fn sorted_workspaces(snapshot: &Snapshot) -> Vec<&Workspace> {
    let mut list: Vec<&Workspace> = snapshot.workspaces.iter().collect();
    list.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.name.cmp(&b.name))
    });
    list
}

fn workspaces_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(view) = state.vault.as_mut() else {
        return;
    };
    let list: Vec<Workspace> = sorted_workspaces(&view.snapshot)
        .into_iter()
        .cloned()
        .collect();
    let sel = &mut state.workspaces.selected;
    *sel = (*sel).min(list.len().saturating_sub(1));
    let current = list.get(*sel);
    match command {
        Command::Up => *sel = sel.saturating_sub(1),
        Command::Down => *sel = (*sel + 1).min(list.len().saturating_sub(1)),
        Command::Open => {
            if let Some(w) = current {
                view.select_workspace(Some(w.id.clone()));
                fx.push(Effect::RememberWorkspace { id: w.id.clone() });
                state.grid = GridState::default();
                state.notice = None;
                state.screen = Screen::Grid;
            }
        }
        Command::Add => {
            state.modal = Some(Modal::Prompt(Prompt {
                kind: PromptKind::NewWorkspace,
                input: Input::default(),
                error: None,
            }))
        }
        Command::Rename => {
            if let Some(w) = current {
                state.modal = Some(Modal::Prompt(Prompt {
                    kind: PromptKind::RenameWorkspace(w.id.clone()),
                    input: Input::new(w.name.clone()),
                    error: None,
                }))
            }
        }
        Command::Delete => {
            if let Some(w) = current {
                let held = view.snapshot.credentials_in(&w.id).count()
                    + view.snapshot.flows_in(&w.id).count();
                state.modal = Some(if held == 0 {
                    Modal::ConfirmDelete {
                        target: DeleteTarget::EmptyWorkspace {
                            name: w.name.clone(),
                        },
                        refusal: None,
                    }
                } else {
                    Modal::Prompt(Prompt {
                        kind: PromptKind::DeleteWorkspace {
                            name: w.name.clone(),
                        },
                        input: Input::default(),
                        error: None,
                    })
                });
            }
        }
        Command::Back if view.workspace.is_some() => state.screen = Screen::Grid,
        _ => {}
    }
}

fn prompt_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(Modal::Prompt(prompt)) = state.modal.as_mut() else {
        return;
    };
    if command != Command::Confirm {
        state.modal = None;
        return;
    }
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let value = prompt.input.value().to_string();
    let effect = match &prompt.kind {
        PromptKind::NewWorkspace => view
            .snapshot
            .check_new_workspace(&value, None)
            .map(|()| Effect::AddWorkspace { name: value }),
        PromptKind::RenameWorkspace(id) => {
            view.snapshot
                .check_new_workspace(&value, Some(id))
                .map(|()| Effect::RenameWorkspace {
                    id: id.clone(),
                    name: value,
                })
        }
        PromptKind::DeleteWorkspace { name } => {
            if &value == name {
                Ok(Effect::DeleteWorkspace {
                    name: name.clone(),
                    force: true,
                })
            } else {
                Err(RuleError::BadName(format!(
                    "type '{name}' exactly to delete it with everything in it"
                )))
            }
        }
    };
    match effect {
        Ok(e) => {
            fx.push(e);
            state.modal = None;
        }
        Err(e) => prompt.error = Some(e.to_string()),
    }
}

fn confirm_delete_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(Modal::ConfirmDelete { target, refusal }) = state.modal.take() else {
        return;
    };
    if command != Command::Confirm || refusal.is_some() {
        return;
    }
    fx.push(match target {
        DeleteTarget::Credential { id, .. } => Effect::DeleteCredential { id },
        DeleteTarget::EmptyWorkspace { name } => Effect::DeleteWorkspace { name, force: false },
        DeleteTarget::Flow { id, .. } => Effect::DeleteFlow { id },
    });
}

// ---- grid ------------------------------------------------------------------------------------

fn grid_command(state: &mut State, context: Context, command: Command) {
    let count = state.visible_components().len();
    let columns = layout::grid_columns(state.size.0);
    let grid = &mut state.grid;
    if context == Context::GridFilter {
        match command {
            Command::Confirm => {
                grid.filtering = false;
                return;
            }
            Command::Cancel => {
                grid.filtering = false;
                grid.filter = Input::default();
                grid.selected = 0;
                return;
            }
            _ => grid.filtering = false,
        }
    }
    let last = count.saturating_sub(1);
    let sel = grid.selected.min(last);
    grid.selected = match command {
        Command::Left => sel.saturating_sub(1),
        Command::Right => (sel + 1).min(last),
        Command::Up => sel.checked_sub(columns).unwrap_or(sel),
        Command::Down if sel + columns <= last => sel + columns,
        // The last row may be short: moving down from above it lands on its last card.
        Command::Down if sel / columns < last / columns => last,
        _ => sel,
    };
    match command {
        Command::Filter => grid.filtering = true,
        Command::Back => {
            grid.filter = Input::default();
            grid.selected = 0;
        }
        Command::Flows => flows::open_list(state),
        Command::Audit => audit::open(state),
        Command::Workspaces => {
            let index = state.vault.as_ref().and_then(|v| {
                sorted_workspaces(&v.snapshot)
                    .iter()
                    .position(|w| Some(&w.id) == v.workspace.as_ref())
            });
            state.workspaces.selected = index.unwrap_or(0);
            state.screen = Screen::Workspaces;
        }
        Command::Open => {
            let Some(id) = state.visible_components().get(sel).map(|c| c.id.clone()) else {
                return;
            };
            if let Some(view) = state.vault.as_mut() {
                view.show_component(&id);
            }
            state.credentials = CredentialsState {
                component: id,
                selected: 0,
            };
            state.notice = None;
            state.screen = Screen::Credentials;
        }
        _ => {}
    }
}

// ---- credentials -----------------------------------------------------------------------------

fn credentials_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let count = view.row_count();
    let sel = state.credentials.selected.min(count.saturating_sub(1));
    state.credentials.selected = sel;
    let current = view.row(sel).cloned();
    match command {
        Command::Up => state.credentials.selected = sel.saturating_sub(1),
        Command::Down => state.credentials.selected = (sel + 1).min(count.saturating_sub(1)),
        Command::Back => {
            state.notice = None;
            state.screen = Screen::Grid;
        }
        Command::Add => {
            let component = state.credentials.component.clone();
            open_form(state, &component, None, "staging", FormOrigin::Credentials);
        }
        Command::Edit => {
            if let Some(c) = current {
                let component = c.component.clone();
                open_form(state, &component, Some(&c), "", FormOrigin::Credentials);
            }
        }
        Command::Details => {
            if let Some(c) = current {
                detail::open(state, c.id, Screen::Credentials, fx);
            }
        }
        Command::UsedBy => {
            if let Some(c) = current {
                flows::open_used_by(state, c.id, Screen::Credentials);
            }
        }
        Command::Verify => {
            let Some(c) = current else { return };
            let Some(component) = state.catalog.get(&c.component).cloned() else {
                state.notice = Some(Notice::error(format!(
                    "Component '{}' is not in the catalogue",
                    c.component
                )));
                return;
            };
            if state
                .verifying
                .values()
                .any(|f| f.credential.as_ref() == Some(&c.id))
            {
                return; // one run per credential at a time
            }
            let request = state.allocate_request();
            state.verifying.insert(
                request,
                InFlight {
                    credential: Some(c.id.clone()),
                    label: c.name.clone(),
                },
            );
            state.notice = Some(Notice::info(format!("Verifying '{}'…", c.name)));
            fx.push(Effect::Verify {
                request,
                component: Box::new(component),
                credential: Box::new(c),
            });
        }
        Command::Delete => {
            let Some(c) = current else { return };
            let refusal = view
                .snapshot
                .check_credential_delete(&c)
                .err()
                .map(|e| e.to_string());
            state.modal = Some(Modal::ConfirmDelete {
                target: DeleteTarget::Credential {
                    id: c.id.clone(),
                    name: c.name.clone(),
                },
                refusal,
            });
        }
        _ => {}
    }
}

// ---- form ------------------------------------------------------------------------------------

/// Opens the credential form for `component` (editing a credential, or new with
/// `default_env`); `origin` is where it returns. The credentials page, the flow wizard and the
/// promotion screen all use this one form, so an inline add verifies exactly like the page.
pub(crate) fn open_form(
    state: &mut State,
    component: &str,
    editing: Option<&Credential>,
    default_env: &str,
    origin: FormOrigin,
) {
    let Some(component) = state.catalog.get(component) else {
        return;
    };
    let mut fields = Vec::with_capacity(component.fields.len() + 2);
    let (name, env) = editing.map_or((String::new(), default_env.to_string()), |c| {
        (c.name.clone(), c.environment.as_str().to_string())
    });
    fields.push(plain_field(FieldKey::Name, "Name", true, name, None));
    fields.push(plain_field(
        FieldKey::Environment,
        "Environment",
        true,
        env,
        Some("staging, production, or a name of your own".into()),
    ));
    for spec in &component.fields {
        let mut help = spec.help.clone();
        if !spec.choices.is_empty() {
            let choices = format!("one of: {}", spec.choices.join(", "));
            help = Some(help.map_or(choices.clone(), |h| format!("{h}; {choices}")));
        }
        let has_stored_secret =
            spec.secret && editing.is_some_and(|c| c.secrets.contains(&spec.name));
        let value = if spec.secret {
            String::new()
        } else {
            match editing {
                Some(c) => c.public.get(&spec.name).cloned().unwrap_or_default(),
                None => spec.default.clone().unwrap_or_default(),
            }
        };
        fields.push(FormField {
            key: FieldKey::Field(spec.name.clone()),
            label: spec.label.clone(),
            secret: spec.secret,
            required: spec.required,
            help,
            input: Input::new(value.clone()),
            original: value,
            has_stored_secret,
            error: None,
        });
    }
    state.form = Some(FormState {
        origin,
        component: component.id.clone(),
        editing: editing.map(|c| c.id.clone()),
        fields,
        focus: 0,
        revealed: None,
        phase: FormPhase::Editing,
        message: None,
        login: None,
    });
    state.notice = None;
    state.screen = Screen::Form;
}

fn plain_field(
    key: FieldKey,
    label: &str,
    required: bool,
    value: String,
    help: Option<String>,
) -> FormField {
    FormField {
        key,
        label: label.into(),
        secret: false,
        required,
        help,
        input: Input::new(value.clone()),
        original: value,
        has_stored_secret: false,
        error: None,
    }
}

/// The inline check of one field, as the user types or saves.
pub fn validate_field(
    catalog: &crate::catalog::Catalog,
    view: Option<&VaultView>,
    form: &FormState,
    index: usize,
) -> Option<String> {
    let field = form.fields.get(index)?;
    let value = field.input.value();
    match &field.key {
        FieldKey::Name => {
            if let Err(e) = check_name("credential", value) {
                return Some(e);
            }
            let view = view?;
            let workspace = view.snapshot.workspace(view.workspace.as_ref()?)?;
            view.snapshot
                .check_credential_name(workspace, &form.component, value, form.editing.as_ref())
                .err()
                .map(|e| e.to_string())
        }
        FieldKey::Environment => Environment::parse(value).err(),
        FieldKey::Field(name) => {
            let component = catalog.get(&form.component)?;
            if value.is_empty() {
                let has_default = component.field(name).is_some_and(|s| s.default.is_some());
                let needed = field.required && !has_default && !field.has_stored_secret;
                return needed.then(|| "is required".to_string());
            }
            check_field(component, name, value).err().map(|e| e.message)
        }
    }
}

fn form_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(form) = state.form.as_mut() else {
        return;
    };
    let n = form.fields.len();
    match command {
        Command::NextField => form.focus = (form.focus + 1) % n.max(1),
        Command::PrevField => form.focus = (form.focus + n.max(1) - 1) % n.max(1),
        Command::Submit if form.focus + 1 < n => form.focus += 1,
        Command::Submit | Command::Save => save_form(state, fx),
        Command::SaveUnverified => {
            if !matches!(form.phase, FormPhase::Unreachable { .. }) {
                form.message = Some(Notice::info(
                    "Save as unverified is offered only when the service is unreachable",
                ));
                return;
            }
            let FormPhase::Unreachable {
                reason,
                mut credential,
            } = std::mem::replace(&mut form.phase, FormPhase::Saving)
            else {
                return;
            };
            credential.record_verification(Verification {
                status: Status::Unverified,
                reason,
                detail: None,
                latency_ms: None,
                at: state.clock.wall,
            });
            fx.push(Effect::SaveCredential { credential });
        }
        Command::Reveal => {
            let focus = form.focus;
            if form.fields.get(focus).is_some_and(|f| f.secret) {
                form.revealed = if form.is_revealed(focus) {
                    None
                } else {
                    Some((focus, state.clock.mono + REVEAL_FOR))
                };
            }
        }
        // Bound only in the OAuth2 form's key list.
        Command::Login => login::start(state, false, fx),
        Command::LoginPaste => login::start(state, true, fx),
        Command::Back if form.login.is_some() => {
            login::cancel(form, fx);
            form.message = Some(Notice::info("Login cancelled"));
        }
        Command::Back => {
            if form.changed() && !matches!(form.phase, FormPhase::Saving) {
                state.modal = Some(Modal::ConfirmDiscard(Discard::Form));
            } else {
                close_form(state, fx);
            }
        }
        _ => {}
    }
}

fn close_form(state: &mut State, fx: &mut Vec<Effect>) {
    state.modal = None;
    if let Some(mut form) = state.form.take() {
        if let FormPhase::Verifying { request } = form.phase {
            state.verifying.remove(&request);
            fx.push(Effect::CancelVerify { request });
        }
        login::cancel(&mut form, fx);
        wipe_form(&mut form);
        // Cancelling an inline add returns to the wizard or promotion exactly as it was.
        state.screen = match form.origin {
            FormOrigin::Credentials => Screen::Credentials,
            FormOrigin::Wizard { .. } => Screen::Wizard,
            FormOrigin::Promote { .. } => Screen::Promote,
        };
    }
}

/// Save gating: nothing leaves the form while a field is invalid or a save is under way.
fn save_form(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(form) = state.form.as_ref() else {
        return;
    };
    if matches!(form.phase, FormPhase::Verifying { .. } | FormPhase::Saving) {
        return;
    }
    if form.login.is_some() {
        if let Some(form) = state.form.as_mut() {
            form.message = Some(Notice::info(
                "Finish the login, or cancel it with Esc, before saving",
            ));
        }
        return;
    }
    let errors: Vec<Option<String>> = (0..form.fields.len())
        .map(|i| validate_field(&state.catalog, state.vault.as_ref(), form, i))
        .collect();
    let Some(workspace) = state.vault.as_ref().and_then(|v| v.workspace.clone()) else {
        return;
    };
    let Some(form) = state.form.as_mut() else {
        return;
    };
    for (field, error) in form.fields.iter_mut().zip(&errors) {
        field.error = error.clone();
    }
    if let Some(first) = errors.iter().position(Option::is_some) {
        form.focus = first;
        form.message = Some(Notice::error("Fix the marked fields before saving"));
        return;
    }
    let draft = form_draft(form, workspace);
    let request = state.next_request;
    state.next_request += 1;
    state.verifying.insert(
        request,
        InFlight {
            credential: None,
            label: draft.name.clone(),
        },
    );
    form.phase = FormPhase::Verifying { request };
    form.message = None;
    fx.push(Effect::PrepareAndVerify {
        request,
        draft,
        editing: form.editing.clone(),
    });
}

/// The draft the form's fields describe: what a save verifies, and what a login reads its
/// client from.
pub(crate) fn form_draft(form: &FormState, workspace: RecordId) -> CredentialDraft {
    let mut name = String::new();
    let mut environment = Environment::Staging;
    let mut changes = Vec::new();
    for field in &form.fields {
        let value = field.input.value();
        match &field.key {
            FieldKey::Name => name = value.to_string(),
            FieldKey::Environment => {
                environment = Environment::parse(value).unwrap_or(Environment::Staging)
            }
            FieldKey::Field(key) if field.secret => {
                // An empty secret while editing keeps the stored one.
                if !value.is_empty() {
                    changes.push((key.clone(), FieldValue::Secret(value.to_string().into())));
                }
            }
            FieldKey::Field(key) => {
                let include = if form.editing.is_some() {
                    field.changed()
                } else {
                    !value.is_empty()
                };
                if include {
                    changes.push((key.clone(), FieldValue::Plain(value.to_string())));
                }
            }
        }
    }
    CredentialDraft {
        workspace,
        component: form.component.clone(),
        name,
        environment,
        changes,
    }
}

fn on_draft_refused(state: &mut State, request: RequestId, error: StoreError) {
    if state.verifying.remove(&request).is_none() {
        return; // abandoned
    }
    let Some(form) = state.form.as_mut() else {
        return;
    };
    if !matches!(form.phase, FormPhase::Verifying { request: r } if r == request) {
        return;
    }
    form.phase = FormPhase::Editing;
    let target = match &error {
        StoreError::Field(e) => Some(FieldKey::Field(e.field.clone())),
        StoreError::Rule(RuleError::CredentialExists { .. } | RuleError::BadName(_)) => {
            Some(FieldKey::Name)
        }
        _ => None,
    };
    let text = match &error {
        StoreError::Field(e) => e.message.clone(),
        other => other.to_string(),
    };
    if let Some(i) = target.and_then(|t| form.fields.iter().position(|f| f.key == t)) {
        form.fields[i].error = Some(text.clone());
        form.focus = i;
    }
    form.message = Some(Notice::error(format!("Not saved: {error}")));
}

fn on_verified(
    state: &mut State,
    request: RequestId,
    mut credential: Credential,
    outcome: Outcome,
    fx: &mut Vec<Effect>,
) {
    let Some(flight) = state.verifying.remove(&request) else {
        return; // superseded or abandoned: the result is stale
    };
    if audit::on_result(state, request, outcome.clone(), fx) {
        return;
    }
    let now = state.clock.wall;
    if let Some(id) = flight.credential {
        let name = credential.name.clone();
        let style = if outcome.status == Status::Verified {
            Notice::info
        } else {
            Notice::error
        };
        state.notice = Some(style(format!(
            "'{name}': {} ({})",
            outcome.status.as_str(),
            outcome.reason
        )));
        fx.push(Effect::RecordVerification {
            id,
            outcome,
            at: now,
        });
        return;
    }
    let Some(form) = state.form.as_mut() else {
        return;
    };
    if !matches!(form.phase, FormPhase::Verifying { request: r } if r == request) {
        return;
    }
    match outcome.status {
        Status::Verified => {
            if let Some(tokens) = &outcome.tokens {
                apply_tokens(&mut credential, tokens, now);
            }
            credential.record_verification(outcome.to_verification(now));
            form.phase = FormPhase::Saving;
            fx.push(Effect::SaveCredential {
                credential: Box::new(credential),
            });
        }
        Status::Unreachable => {
            form.phase = FormPhase::Unreachable {
                reason: outcome.reason,
                credential: Box::new(credential),
            };
        }
        status => {
            form.phase = FormPhase::Refused {
                status,
                reason: outcome.reason,
            };
        }
    }
}

// ---- store results ---------------------------------------------------------------------------

fn on_stored(state: &mut State, snapshot: Snapshot, event: Stored) {
    let Some(view) = state.vault.as_mut() else {
        return;
    };
    view.replace(snapshot);
    match event {
        Stored::WorkspaceAdded(id) => {
            let index = sorted_workspaces(&view.snapshot)
                .iter()
                .position(|w| w.id == id);
            state.workspaces.selected = index.unwrap_or(0);
            state.notice = Some(Notice::info("Workspace created: Enter opens it"));
        }
        Stored::WorkspaceRenamed => state.notice = Some(Notice::info("Workspace renamed")),
        Stored::WorkspaceDeleted => {
            state.workspaces.selected = state.workspaces.selected.saturating_sub(1);
            state.notice = Some(Notice::info("Workspace deleted"));
            if view.workspace.is_none() {
                state.screen = Screen::Workspaces;
            }
        }
        Stored::CredentialSaved(id) => {
            let index = view.rows().position(|c| c.id == id);
            let saved = view.snapshot.credential(&id);
            let text = saved.map_or_else(
                || "Saved".to_string(),
                |c| {
                    let status = c.status_word();
                    match c.last_verification.as_ref().and_then(|v| v.detail.clone()) {
                        Some(d) => format!("Saved '{}' ({status}: {d})", c.name),
                        None => format!("Saved '{}' ({status})", c.name),
                    }
                },
            );
            let mut origin = FormOrigin::Credentials;
            if state
                .form
                .as_ref()
                .is_some_and(|f| matches!(f.phase, FormPhase::Saving))
            {
                if let Some(mut form) = state.form.take() {
                    origin = form.origin;
                    wipe_form(&mut form);
                }
                state.screen = Screen::Credentials;
            }
            match origin {
                FormOrigin::Credentials => state.credentials.selected = index.unwrap_or(0),
                FormOrigin::Wizard { step } => wizard::credential_added(state, step, id),
                FormOrigin::Promote { step } => flows::promote_credential_added(state, step, id),
            }
            state.notice = Some(Notice::info(text));
        }
        Stored::VerificationRecorded => {}
        Stored::CredentialDeleted => {
            let count = view.row_count();
            state.credentials.selected = state.credentials.selected.min(count.saturating_sub(1));
            state.notice = Some(Notice::info("Credential deleted"));
        }
        Stored::FlowSaved { name } => {
            if state.wizard.take().is_some() {
                state.screen = Screen::Flows;
            }
            select_flow(state, &name);
            let active = flow_is_active(state, &name);
            state.notice = Some(Notice::info(format!(
                "Saved flow '{name}' ({})",
                if active { "active" } else { "inactive" }
            )));
        }
        Stored::FlowActivated { name, active } => {
            state.notice = Some(Notice::info(format!(
                "'{name}' is now {}",
                if active { "active" } else { "inactive" }
            )));
        }
        Stored::FlowDeleted => {
            state.flows.selected = state.flows.selected.saturating_sub(1);
            state.notice = Some(Notice::info("Flow deleted"));
        }
        Stored::FlowPromoted { name } => {
            if state.promote.take().is_some() {
                state.screen = Screen::Flows;
            }
            select_flow(state, &name);
            // The store keeps a promoted copy active only if it can run on its credentials.
            let active = flow_is_active(state, &name);
            state.notice = Some(Notice::info(format!(
                "Promoted to '{name}' in production ({})",
                if active { "active" } else { "inactive" }
            )));
        }
        Stored::Rebound { flows, to } => {
            state.notice = Some(Notice::info(if flows.is_empty() {
                format!("No flow used it; nothing rebound to '{to}'")
            } else {
                format!(
                    "Rebound {} flow(s) to '{to}': {}",
                    flows.len(),
                    flows.join(", ")
                )
            }));
        }
        Stored::VerificationsRecorded => {}
    }
}

fn select_flow(state: &mut State, name: &str) {
    let Some(view) = state.vault.as_ref() else {
        return;
    };
    let Some(w) = view.workspace.as_ref() else {
        return;
    };
    if let Some(i) = flows::sorted_flows(&view.snapshot, w)
        .iter()
        .position(|f| f.name == name)
    {
        state.flows.selected = i;
    }
}

fn flow_is_active(state: &State, name: &str) -> bool {
    state.vault.as_ref().is_some_and(|v| {
        v.workspace
            .as_ref()
            .is_some_and(|w| v.snapshot.flows_in(w).any(|f| f.name == name && f.active))
    })
}

// ---- detail ----------------------------------------------------------------------------------
