//! The credential form: opening it, field validation, verify-before-save, and the answers
//! of the verifier and the store's rules.

use tui_input::Input;

use crate::core::input::{check_field, FieldValue};
use crate::core::names::check_name;
use crate::core::save::{decide, SaveDecision};
use crate::core::{Credential, Environment, RecordId, RuleError, Status};
use crate::store::{accept, CredentialDraft, StoreError};
use crate::verify::Outcome;

use super::action::{Effect, RequestId};
use super::keys::Command;
use super::state::*;
use super::{audit, login, update};

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
                // A stored PEM value has line breaks; a form field is one line, and the PEM
                // reader takes it without them (core::pem).
                Some(c) => c
                    .public
                    .get(&spec.name)
                    .map(|v| v.replace(['\n', '\r'], ""))
                    .unwrap_or_default(),
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

pub(super) fn form_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
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
                check,
                mut credential,
            } = std::mem::replace(&mut form.phase, FormPhase::Saving)
            else {
                return;
            };
            match decide(check, true) {
                SaveDecision::Save(result) => {
                    credential.record_verification(result);
                    fx.push(Effect::SaveCredential { credential });
                }
                // Only an unreachable check waits here, and that the rule saves on request.
                _ => form.phase = FormPhase::Editing,
            }
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

pub(super) fn close_form(state: &mut State, fx: &mut Vec<Effect>) {
    state.modal = None;
    if let Some(mut form) = state.form.take() {
        if let FormPhase::Verifying { request } = form.phase {
            state.verifying.remove(&request);
            fx.push(Effect::CancelVerify { request });
        }
        login::cancel(&mut form, fx);
        leave(state, form);
    }
}

/// Wipes a form taken out of the state and returns to the screen it was opened from: an
/// inline add returns to the wizard or promotion exactly as it was. Returns that origin.
pub(super) fn leave(state: &mut State, mut form: FormState) -> FormOrigin {
    update::wipe_form(&mut form);
    state.screen = match form.origin {
        FormOrigin::Credentials => Screen::Credentials,
        FormOrigin::Wizard { .. } => Screen::Wizard,
        FormOrigin::Promote { .. } => Screen::Promote,
    };
    form.origin
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

pub(super) fn on_draft_refused(state: &mut State, request: RequestId, error: StoreError) {
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

pub(super) fn on_verified(
    state: &mut State,
    request: RequestId,
    mut credential: Credential,
    outcome: Outcome,
    fx: &mut Vec<Effect>,
) {
    let Some(flight) = state.verifying.remove(&request) else {
        return; // superseded or abandoned: the result is stale
    };
    let Some(outcome) = audit::on_result(state, request, outcome, fx) else {
        return;
    };
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
    let check = outcome.to_verification(now);
    match decide(check.clone(), false) {
        SaveDecision::Save(result) => {
            accept(&mut credential, result, outcome.tokens.as_ref(), now);
            form.phase = FormPhase::Saving;
            fx.push(Effect::SaveCredential {
                credential: Box::new(credential),
            });
        }
        SaveDecision::Unreachable { .. } => {
            form.phase = FormPhase::Unreachable {
                check,
                credential: Box::new(credential),
            };
        }
        SaveDecision::Refuse { status, reason } => {
            form.phase = FormPhase::Refused { status, reason };
        }
    }
}
