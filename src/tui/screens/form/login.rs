//! OAuth2 "log in" from the credential form, the pure half: what a login in progress looks like
//! and how the form moves it on. The network half (device grant, code exchange) runs on tasks in
//! runtime/login_tasks.rs; every result comes back as an action carrying the login's request
//! id, so the result of a cancelled login is recognised and dropped.
//!
//! The tokens land in the form's access_token / refresh_token / expires_at fields; nothing is
//! saved here. Ctrl-s then verifies and saves them like any other edit.

use secrecy::ExposeSecret;
use tui_input::Input;
use zeroize::Zeroize;

use super::{FieldKey, FormPhase, FormState};
use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
use crate::store::CredentialDraft;
use crate::tui::app::action::{Action, DeviceInfo, Effect, RequestId};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::Notice;
use crate::tui::widgets::text_field::{secret_input, take_secret};
use crate::verify::TokenUpdate;

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

/// The pasted address may hold a live authorization code: overwritten before it is freed.
impl Drop for LoginState {
    fn drop(&mut self) {
        if let LoginPhase::Paste { input, .. } = &mut self.phase {
            input.value_and_reset().zeroize();
        }
    }
}

impl FormState {
    /// Ctrl-g (device grant, or the browser flow without a device endpoint) and Ctrl-p
    /// (browser). A login already running is cancelled and started again.
    pub(super) fn start_login(&mut self, shared: &mut Shared, paste: bool) -> Vec<Effect> {
        let Some(workspace) = shared.workspace_id().cloned() else {
            return Vec::new();
        };
        let request = shared.allocate_request();
        if matches!(self.phase, FormPhase::Verifying { .. } | FormPhase::Saving) {
            self.message = Some(Notice::info(
                "Wait for the save to finish before logging in",
            ));
            return Vec::new();
        }
        let mut fx = self.cancel_login();
        let mut draft: CredentialDraft = self.draft(workspace);
        draft.name = LOGIN_DRAFT_NAME.to_string();
        self.login = Some(LoginState {
            request,
            phase: LoginPhase::Starting,
        });
        self.message = None;
        fx.push(Effect::StartLogin {
            request,
            draft,
            editing: self.editing.clone(),
            paste,
        });
        fx
    }

    /// Stops a login in progress; the edges abort its task.
    pub(super) fn cancel_login(&mut self) -> Vec<Effect> {
        match self.login.take() {
            Some(login) => vec![Effect::CancelLogin {
                request: login.request,
            }],
            None => Vec::new(),
        }
    }

    /// Enter in the pasted-address field: the address goes to the edges for the exchange.
    pub(super) fn exchange_pasted(&mut self) -> Vec<Effect> {
        let Some(login) = self.login.as_mut() else {
            return Vec::new();
        };
        let request = login.request;
        let LoginPhase::Paste {
            input, exchanging, ..
        } = &mut login.phase
        else {
            return Vec::new();
        };
        if input.value().trim().is_empty() {
            self.message = Some(Notice::error(
                "Paste the address the browser ended on first",
            ));
            return Vec::new();
        }
        let pasted = take_secret(input);
        *exchanging = true;
        self.message = None;
        vec![Effect::ExchangeLogin { request, pasted }]
    }

    /// A login task's report, if it is this form's running login's; anything else is stale.
    #[allow(clippy::result_large_err)] // the action is moved back, never copied
    pub(super) fn on_login(&mut self, shared: &Shared, action: Action) -> Result<(), Action> {
        let request = match &action {
            Action::LoginDevice { request, .. }
            | Action::LoginProgress { request, .. }
            | Action::LoginPasteReady { request, .. }
            | Action::LoginFinished { request, .. } => *request,
            _ => return Err(action),
        };
        let Some(login) = self.login.as_mut().filter(|l| l.request == request) else {
            // Cancelled, restarted, or another form's: dropped.
            return Err(action);
        };
        match action {
            Action::LoginDevice { device, .. } => login.phase = LoginPhase::Device(device),
            Action::LoginProgress { note, .. } => {
                if let LoginPhase::Device(device) = &mut login.phase {
                    device.note = Some(note);
                }
            }
            Action::LoginPasteReady { url, .. } => {
                login.phase = LoginPhase::Paste {
                    url,
                    input: Input::default(),
                    exchanging: false,
                }
            }
            Action::LoginFinished { result, .. } => self.login_finished(shared, result),
            _ => {}
        }
        Ok(())
    }

    fn login_finished(&mut self, shared: &Shared, result: Result<TokenUpdate, String>) {
        self.login = None;
        let tokens = match result {
            Ok(tokens) => tokens,
            Err(reason) => {
                self.message = Some(Notice::error(format!("Login failed: {reason}")));
                return;
            }
        };
        self.fill_tokens(&tokens);
        // A prepared or refused credential predates these tokens.
        self.phase = FormPhase::Editing;
        self.revealed = None;
        self.message = Some(Notice::info(LOGGED_IN));
        for i in 0..self.fields.len() {
            if is_token_field(&self.fields[i].key) {
                self.fields[i].error = self.validate(shared, i);
            }
        }
    }

    /// The new tokens replace what the fields held (the old values are wiped first); a grant
    /// with no refresh token leaves that field as it was.
    fn fill_tokens(&mut self, tokens: &TokenUpdate) {
        for field in &mut self.fields {
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
                // A rotated refresh token's lifetime replaces the old one's (none stated:
                // cleared).
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
}

fn is_token_field(key: &FieldKey) -> bool {
    matches!(key, FieldKey::Field(n) if matches!(n.as_str(), "access_token" | "refresh_token" | EXPIRES_AT_FIELD | REFRESH_EXPIRES_AT_FIELD))
}
