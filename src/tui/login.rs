//! OAuth2 "log in" from the credential form, the pure half: what a login in progress looks like
//! and how `update` moves it on. The network half (device grant, code exchange) runs on tasks in
//! runtime/login_tasks.rs; every result comes back as an action carrying the login's request id, so the
//! result of a cancelled login is recognised and dropped.
//!
//! The tokens land in the form's access_token / refresh_token / expires_at fields; nothing is
//! saved here. Ctrl-s then verifies and saves them like any other edit.

use std::time::Duration;

use secrecy::ExposeSecret;
use tui_input::Input;
use zeroize::Zeroize;

use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
use crate::store::CredentialDraft;
use crate::verify::TokenUpdate;

use super::action::{Effect, RequestId};
use super::form::{form_draft, validate_field};
use super::keys::Command;
use super::state::{secret_input, FieldKey, FormPhase, FormState, Notice, State};
use super::update::take_secret;

/// The draft's name while logging in. The login needs only the client's fields, and a name
/// that is still empty or taken must not stop it (the real name is checked on save).
const LOGIN_DRAFT_NAME: &str = "keyway-login-draft";

pub const LOGGED_IN: &str = "Logged in: press Ctrl-s to verify and save";

#[derive(Debug)]
pub struct LoginState {
    pub request: RequestId,
    pub phase: LoginPhase,
}

impl LoginState {
    /// The pasted-address field has the keyboard.
    pub fn takes_paste(&self) -> bool {
        matches!(
            self.phase,
            LoginPhase::Paste {
                exchanging: false,
                ..
            }
        )
    }
}

pub enum LoginPhase {
    /// Reading the client from the form and, for the device grant, asking the provider for a
    /// code.
    Starting,
    /// The device grant: the user approves elsewhere while keyway polls.
    Device(DeviceInfo),
    /// Authorization code + PKCE: the user opens `url` and pastes back where the browser ended.
    Paste {
        url: String,
        input: Input,
        exchanging: bool,
    },
}

impl std::fmt::Debug for LoginPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginPhase::Starting => f.write_str("Starting"),
            LoginPhase::Device(info) => f.debug_tuple("Device").field(info).finish(),
            // The pasted address carries the authorization code.
            LoginPhase::Paste {
                url,
                input,
                exchanging,
            } => f
                .debug_struct("Paste")
                .field("url", url)
                .field("input", &secret_input(input))
                .field("exchanging", exchanging)
                .finish(),
        }
    }
}

impl LoginPhase {
    /// Something happens without input (a spinner turns).
    pub fn is_waiting(&self) -> bool {
        match self {
            LoginPhase::Starting | LoginPhase::Device(_) => true,
            LoginPhase::Paste { exchanging, .. } => *exchanging,
        }
    }
}

/// What the user needs to finish a device login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
    /// The latest word from the poll (slow down, retrying...).
    pub note: Option<String>,
}

/// Ctrl-g (device grant, or the browser flow without a device endpoint) and Ctrl-p (browser).
/// A login already running is cancelled and started again.
pub(crate) fn start(state: &mut State, paste: bool, fx: &mut Vec<Effect>) {
    let Some(workspace) = state.workspace_id().cloned() else {
        return;
    };
    let request = state.allocate_request();
    let Some(form) = state.form.as_mut() else {
        return;
    };
    if matches!(form.phase, FormPhase::Verifying { .. } | FormPhase::Saving) {
        form.message = Some(Notice::info(
            "Wait for the save to finish before logging in",
        ));
        return;
    }
    cancel(form, fx);
    let mut draft: CredentialDraft = form_draft(form, workspace);
    draft.name = LOGIN_DRAFT_NAME.to_string();
    form.login = Some(LoginState {
        request,
        phase: LoginPhase::Starting,
    });
    form.message = None;
    fx.push(Effect::StartLogin {
        request,
        draft,
        editing: form.editing.clone(),
        paste,
    });
}

/// Stops a login in progress; the edges abort its task.
pub(crate) fn cancel(form: &mut FormState, fx: &mut Vec<Effect>) {
    let Some(mut login) = form.login.take() else {
        return;
    };
    wipe(&mut login);
    fx.push(Effect::CancelLogin {
        request: login.request,
    });
}

/// The pasted address may hold a live authorization code: overwritten before it is freed.
pub(crate) fn wipe(login: &mut LoginState) {
    if let LoginPhase::Paste { input, .. } = &mut login.phase {
        input.value_and_reset().zeroize();
    }
}

/// Keys while the pasted-address field has the focus.
pub(crate) fn paste_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let Some(form) = state.form.as_mut() else {
        return;
    };
    match command {
        Command::Confirm => {
            let Some(login) = form.login.as_mut() else {
                return;
            };
            let request = login.request;
            let LoginPhase::Paste {
                input, exchanging, ..
            } = &mut login.phase
            else {
                return;
            };
            if input.value().trim().is_empty() {
                form.message = Some(Notice::error(
                    "Paste the address the browser ended on first",
                ));
                return;
            }
            let pasted = take_secret(input);
            *exchanging = true;
            form.message = None;
            fx.push(Effect::ExchangeLogin { request, pasted });
        }
        Command::Cancel => {
            cancel(form, fx);
            form.message = Some(Notice::info("Login cancelled"));
        }
        _ => {}
    }
}

/// The running login of the open form, if `request` is it; anything else is stale.
fn current(state: &mut State, request: RequestId) -> Option<&mut LoginState> {
    state
        .form
        .as_mut()?
        .login
        .as_mut()
        .filter(|l| l.request == request)
}

pub(crate) fn on_device(state: &mut State, request: RequestId, device: DeviceInfo) {
    if let Some(login) = current(state, request) {
        login.phase = LoginPhase::Device(device);
    }
}

pub(crate) fn on_progress(state: &mut State, request: RequestId, note: String) {
    if let Some(LoginState {
        phase: LoginPhase::Device(device),
        ..
    }) = current(state, request)
    {
        device.note = Some(note);
    }
}

pub(crate) fn on_paste_ready(state: &mut State, request: RequestId, url: String) {
    if let Some(login) = current(state, request) {
        login.phase = LoginPhase::Paste {
            url,
            input: Input::default(),
            exchanging: false,
        };
    }
}

pub(crate) fn on_finished(
    state: &mut State,
    request: RequestId,
    result: Result<TokenUpdate, String>,
) {
    if current(state, request).is_none() {
        return; // cancelled, restarted or the form is gone
    }
    let Some(form) = state.form.as_mut() else {
        return;
    };
    if let Some(mut login) = form.login.take() {
        wipe(&mut login);
    }
    let tokens = match result {
        Ok(tokens) => tokens,
        Err(reason) => {
            form.message = Some(Notice::error(format!("Login failed: {reason}")));
            return;
        }
    };
    fill_tokens(form, &tokens);
    // A prepared or refused credential predates these tokens.
    form.phase = FormPhase::Editing;
    form.revealed = None;
    form.message = Some(Notice::info(LOGGED_IN));
    let Some(form) = state.form.as_ref() else {
        return;
    };
    let errors: Vec<(usize, Option<String>)> = form
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| is_token_field(&f.key))
        .map(|(i, _)| {
            (
                i,
                validate_field(&state.catalog, state.vault.as_ref(), form, i),
            )
        })
        .collect();
    if let Some(form) = state.form.as_mut() {
        for (i, error) in errors {
            form.fields[i].error = error;
        }
    }
}

fn is_token_field(key: &FieldKey) -> bool {
    matches!(key, FieldKey::Field(n) if matches!(n.as_str(), "access_token" | "refresh_token" | EXPIRES_AT_FIELD | REFRESH_EXPIRES_AT_FIELD))
}

/// The new tokens replace what the fields held (the old values are wiped first); a grant with
/// no refresh token leaves that field as it was.
fn fill_tokens(form: &mut FormState, tokens: &TokenUpdate) {
    for field in &mut form.fields {
        let FieldKey::Field(name) = &field.key else {
            continue;
        };
        let value = match name.as_str() {
            "access_token" => tokens.access_token.expose_secret().to_string(),
            "refresh_token" => match &tokens.refresh_token {
                Some(r) => r.expose_secret().to_string(),
                None => continue,
            },
            EXPIRES_AT_FIELD => tokens.expires_at.map(|at| at.rfc3339()).unwrap_or_default(),
            // A rotated refresh token's lifetime replaces the old one's (none stated: cleared).
            REFRESH_EXPIRES_AT_FIELD if tokens.refresh_token.is_some() => tokens
                .refresh_expires_at
                .map(|at| at.rfc3339())
                .unwrap_or_default(),
            _ => continue,
        };
        field.input.value_and_reset().zeroize();
        field.input = Input::new(value);
        field.error = None;
    }
}
