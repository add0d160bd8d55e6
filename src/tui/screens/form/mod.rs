//! The credential form: one form for the credentials page, the wizard's inline add and
//! promotion's, so an inline add verifies exactly like the page. Nothing invalid is saved: a
//! save checks the fields, verifies the draft live, and the core's save decision
//! (`core::save`) says whether it is written, refused, or (unreachable) offered to be saved
//! marked unverified. OAuth2 forms can log in (login.rs) to fill in their tokens.

mod fields;
pub mod keys;
pub mod login;
mod login_view;
mod view;

#[cfg(test)]
mod tests;

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::Frame;
use secrecy::SecretString;
use tui_input::Input;
use zeroize::Zeroize;

use crate::core::save::{decide, SaveDecision, HOST_KEY_FIELD};
use crate::core::schema::Kind;
use crate::core::{AnyRecord, Conflict, Credential, RecordId, RuleError, Status, Verification};
use crate::store::{accept, StoreError};
use crate::tui::app::action::{Action, Clock, Effect, RequestId, Stored};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Returned};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::{yank_choices, InFlight, Modal, SecretOffer, Shared};
use crate::tui::widgets::notice::Notice;
use crate::tui::widgets::text_field::input_debug;
use crate::vault::Changes;
use crate::verify::Outcome;
use keys::{Command, CHOICE, CONFLICT, FORM, HOST_KEY, LOGIN_PASTE, OAUTH_FORM, VERIFYING};
use login::LoginState;

/// Which part of a credential a form field edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKey {
    Name,
    Environment,
    /// A database component's connection URL: not stored, it fills the fields it names
    /// (`FormState::apply_url`).
    Url,
    Field(String),
}

pub struct FormField {
    pub key: FieldKey,
    pub label: String,
    pub secret: bool,
    pub required: bool,
    pub help: Option<String>,
    pub input: Input,
    /// The value when the form opened; a change is what differs from it.
    pub original: String,
    /// Editing: a stored secret exists and is kept unless something is typed.
    pub has_stored_secret: bool,
    pub error: Option<String>,
    /// A field of fixed values (sslmode): a pick list, cycled with ←/→ or Space, not typed.
    pub choices: Vec<String>,
}

impl std::fmt::Debug for FormField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let original: &dyn std::fmt::Debug = if self.holds_secret() {
            &"[REDACTED]"
        } else {
            &self.original
        };
        f.debug_struct("FormField")
            .field("key", &self.key)
            .field("label", &self.label)
            .field("secret", &self.secret)
            .field("required", &self.required)
            .field("help", &self.help)
            .field("input", &input_debug(&self.input, self.holds_secret()))
            .field("original", original)
            .field("has_stored_secret", &self.has_stored_secret)
            .field("error", &self.error)
            .field("choices", &self.choices)
            .finish()
    }
}

impl FormField {
    /// A secret field, or the URL field (a pasted URL holds its password until it is applied).
    pub fn holds_secret(&self) -> bool {
        self.secret || self.key == FieldKey::Url
    }

    pub fn changed(&self) -> bool {
        self.input.value() != self.original
    }

    /// A pick list moves to the next (`step` 1) or previous (-1) value, wrapping around; a
    /// value that is none of them moves to the first.
    pub fn cycle(&mut self, step: isize) {
        let n = self.choices.len();
        if n == 0 {
            return;
        }
        let next = match self.choices.iter().position(|c| c == self.input.value()) {
            Some(i) => (i as isize + step).rem_euclid(n as isize) as usize,
            None => 0,
        };
        self.input = Input::new(self.choices[next].clone());
    }
}

/// Where a save stands.
#[derive(Debug)]
pub enum FormPhase {
    Editing,
    Verifying {
        request: RequestId,
    },
    /// The service said no (or the fields cannot form a request): nothing was saved.
    Refused {
        status: Status,
        reason: String,
    },
    /// The service could not be reached; the prepared credential and what the check found wait
    /// for "save as unverified".
    Unreachable {
        check: Verification,
        credential: Box<Credential>,
    },
    Saving,
    /// The save was refused: another process changed (or deleted) the credential since the
    /// form opened. Both versions wait for the user: reload theirs, overwrite with mine, or
    /// keep editing.
    Conflict {
        mine: Box<Credential>,
        /// None: deleted meanwhile.
        theirs: Option<Box<Credential>>,
    },
    /// An SSH server presented this host key and the credential pins none (the save
    /// decision's `ConfirmHostKey`): nothing was sent or saved. The dialog asks; `y` pins it
    /// into `host_key` and saves, verified against it.
    ConfirmHostKey {
        fingerprint: String,
        reason: String,
    },
}

#[derive(Debug)]
pub struct FormState {
    pub component: String,
    pub editing: Option<RecordId>,
    /// Editing: the credential as the form opened it. A save applies the form to this copy
    /// and is based on its revision, whatever the vault holds by then.
    pub base: Option<Box<Credential>>,
    /// Another process changed (or deleted) the credential since the form opened: what the
    /// banner says.
    pub underneath: Option<String>,
    /// The title line, as the screen that opened the form worded it.
    pub title: String,
    pub fields: Vec<FormField>,
    pub focus: usize,
    /// The field whose secret is shown, and until when.
    pub revealed: Option<(usize, Instant)>,
    pub phase: FormPhase,
    pub message: Option<Notice>,
    /// An OAuth2 login started from this form (Ctrl-g / Ctrl-p), until its tokens arrive.
    pub login: Option<LoginState>,
}

/// Best effort: the typed secrets are overwritten before their buffers are freed, however the
/// form goes (saved, closed, the vault locked).
impl Drop for FormState {
    fn drop(&mut self) {
        for field in self.fields.iter_mut().filter(|f| f.holds_secret()) {
            field.input.value_and_reset().zeroize();
        }
    }
}

impl FormState {
    /// The form for a new credential of `component` (in `environment`), or for editing the
    /// stored credential `editing`; None when the catalogue no longer has the component.
    pub fn open(
        shared: &mut Shared,
        component: &str,
        editing: Option<&RecordId>,
        environment: &str,
        title: String,
    ) -> Option<FormState> {
        let component = shared.catalog.get(component)?;
        let stored = editing.and_then(|id| shared.vault.as_ref()?.snapshot.credential(id));
        let form = FormState {
            component: component.id.clone(),
            editing: stored.map(|c| c.id.clone()),
            base: stored.cloned().map(Box::new),
            underneath: None,
            title,
            fields: fields::fields(component, stored, environment),
            focus: 0,
            revealed: None,
            phase: FormPhase::Editing,
            message: None,
            login: None,
        };
        shared.notice = None;
        Some(form)
    }

    pub fn changed(&self) -> bool {
        self.fields.iter().any(FormField::changed)
    }

    pub fn is_revealed(&self, index: usize) -> bool {
        self.revealed.is_some_and(|(i, _)| i == index)
    }

    /// The stored secret field `index` keeps while nothing is typed into it (editing).
    pub fn stored_secret(&self, index: usize) -> Option<&str> {
        let field = self.fields.get(index)?;
        let FieldKey::Field(name) = &field.key else {
            return None;
        };
        if !field.secret || !field.has_stored_secret || !field.input.value().is_empty() {
            return None;
        }
        self.base.as_ref()?.secrets.expose(name)
    }

    /// The secret field `index` shows now: what is typed, else the stored one, if revealed.
    fn revealed_value(&self, index: usize) -> Option<&str> {
        if !self.is_revealed(index) {
            return None;
        }
        let typed = self.fields.get(index)?.input.value();
        if typed.is_empty() {
            self.stored_secret(index)
        } else {
            Some(typed)
        }
    }

    /// Ctrl-r: hides a shown secret; shows what was typed at once; a stored secret only after
    /// the confirmation dialog (`reveal_confirmed`). For 10 s, by the app's clock.
    fn reveal(&mut self, shared: &mut Shared) {
        let focus = self.focus;
        let Some(field) = self.fields.get(focus).filter(|f| f.secret) else {
            return;
        };
        if self.is_revealed(focus) {
            self.revealed = None;
        } else if !field.input.value().is_empty() {
            self.revealed = Some((focus, shared.clock.mono + shared.reveal_for));
        } else if self.stored_secret(focus).is_some() {
            shared.modal = Some(Modal::ConfirmReveal(field.label.clone()));
        } else {
            self.message = Some(Notice::info(format!(
                "Nothing to reveal: '{}' is empty",
                field.label
            )));
        }
    }

    /// The form's `Y`: the last reason and detail of the credential edited, and the secret
    /// of the focused field while it is revealed (its copy asks first).
    fn yank(&mut self, shared: &mut Shared) {
        let choices = self.base.as_deref().map(yank_choices).unwrap_or_default();
        let until = self.revealed.map(|(_, until)| until);
        let secret = self
            .revealed_value(self.focus)
            .zip(until)
            .map(|(value, until)| SecretOffer {
                label: self.fields[self.focus].label.clone(),
                value: SecretString::from(value.to_string()),
                until,
            });
        shared.modal = match secret {
            Some(secret) => Some(Modal::YankWithSecret { choices, secret }),
            None if choices.is_empty() => {
                self.message = Some(Notice::info(
                    "Nothing to copy: no reason or detail yet, and no secret revealed",
                ));
                None
            }
            None => Some(Modal::Yank(choices)),
        };
    }

    /// Save gating: nothing leaves the form while a field is invalid or a save is under way.
    fn save(&mut self, shared: &mut Shared) -> Update {
        if matches!(self.phase, FormPhase::Verifying { .. } | FormPhase::Saving) {
            return Update::none();
        }
        if self.login.is_some() {
            self.message = Some(Notice::info(
                "Finish the login, or cancel it with Esc, before saving",
            ));
            return Update::none();
        }
        let errors: Vec<Option<String>> = (0..self.fields.len())
            .map(|i| self.validate(shared, i))
            .collect();
        let Some(workspace) = shared.workspace_id().cloned() else {
            return Update::none();
        };
        for (field, error) in self.fields.iter_mut().zip(&errors) {
            field.error = error.clone();
        }
        if let Some(first) = errors.iter().position(Option::is_some) {
            self.focus = first;
            self.message = Some(Notice::error("Fix the marked fields before saving"));
            return Update::none();
        }
        let draft = self.draft(workspace);
        let request = shared.allocate_request();
        shared.verifying.insert(
            request,
            InFlight {
                credential: None,
                label: draft.name.clone(),
            },
        );
        self.phase = FormPhase::Verifying { request };
        self.message = None;
        Update::effect(Effect::PrepareAndVerify {
            request,
            draft,
            base: self.base.clone(),
        })
    }

    /// Esc while the draft is verified: the check is stopped (its task cancelled, a late answer
    /// dropped) and the form is left as it was, nothing saved.
    fn cancel_check(&mut self, shared: &mut Shared) -> Update {
        let FormPhase::Verifying { request } = self.phase else {
            return Update::none();
        };
        shared.verifying.remove(&request);
        self.phase = FormPhase::Editing;
        self.message = Some(Notice::info(
            "Check cancelled; nothing was saved. Ctrl-s verifies again.",
        ));
        Update::effect(Effect::CancelVerify { request })
    }

    /// What the banner says about the credential as the vault now has it, if that is no
    /// longer the revision the form opened from.
    fn check_underneath(&mut self, shared: &Shared) {
        let Some(base) = &self.base else { return };
        let now = shared
            .vault
            .as_ref()
            .map(|v| v.snapshot.credential(&base.id));
        self.underneath = match now {
            None => return, // locked meanwhile
            Some(None) => Some(
                "Deleted by another process since this form opened: saving asks what to do"
                    .to_string(),
            ),
            Some(Some(c)) if c.revision.number != base.revision.number => Some(format!(
                "Changed by {} at {} since this form opened: saving asks whose version to keep",
                c.revision.author(),
                c.revision.changed_at.rfc3339()
            )),
            Some(Some(_)) => None,
        };
    }

    /// The conflict dialog's answer.
    fn resolve(&mut self, shared: &mut Shared, command: Command) -> Update {
        let FormPhase::Conflict { mine, theirs } =
            std::mem::replace(&mut self.phase, FormPhase::Editing)
        else {
            return Update::none();
        };
        match command {
            Command::ReloadTheirs => {
                let Some(theirs) = theirs else {
                    shared.notice = Some(Notice::info(format!(
                        "'{}' was deleted by another process; nothing was saved",
                        mine.name
                    )));
                    return Update::nav(Nav::BACK);
                };
                if let Some(component) = shared.catalog.get(&self.component) {
                    for field in self.fields.iter_mut().filter(|f| f.holds_secret()) {
                        field.input.value_and_reset().zeroize();
                    }
                    self.fields = fields::fields(component, Some(&theirs), "");
                }
                self.focus = self.focus.min(self.fields.len().saturating_sub(1));
                self.revealed = None;
                self.message = Some(Notice::info(format!(
                    "Reloaded their version ({}); your changes were dropped",
                    theirs.revision.describe()
                )));
                self.base = Some(theirs);
                self.underneath = None;
                Update::none()
            }
            Command::OverwriteMine => {
                let mut mine = mine;
                // Written over the revision the vault has now, on the user's word.
                mine.revision = theirs.map(|t| t.revision).unwrap_or_default();
                self.phase = FormPhase::Saving;
                Update::effect(Effect::SaveCredential { credential: mine })
            }
            _ => {
                self.check_underneath(shared);
                self.message = Some(Notice::info(
                    "Kept editing; saving again asks again while the versions differ",
                ));
                Update::none()
            }
        }
    }

    /// The host key dialog's answer: `y` pins the fingerprint shown into `host_key` and saves
    /// again (verified against that pin); anything else keeps editing with nothing pinned.
    fn confirm_host_key(&mut self, shared: &mut Shared, command: Command) -> Update {
        let FormPhase::ConfirmHostKey { fingerprint, .. } =
            std::mem::replace(&mut self.phase, FormPhase::Editing)
        else {
            return Update::none();
        };
        if command != Command::TrustHostKey {
            self.message = Some(Notice::info(
                "Host key not trusted: nothing was sent or saved",
            ));
            return Update::none();
        }
        let key = FieldKey::Field(HOST_KEY_FIELD.into());
        let Some(field) = self.fields.iter_mut().find(|f| f.key == key) else {
            return Update::none();
        };
        field.input = Input::new(fingerprint);
        field.error = None;
        self.save(shared)
    }

    /// Ctrl-o after "unreachable": saved marked unverified, as the save rule says.
    fn save_unverified(&mut self) -> Update {
        if !matches!(self.phase, FormPhase::Unreachable { .. }) {
            self.message = Some(Notice::info(
                "Save as unverified is offered only when the service is unreachable",
            ));
            return Update::none();
        }
        let FormPhase::Unreachable {
            check,
            mut credential,
        } = std::mem::replace(&mut self.phase, FormPhase::Saving)
        else {
            return Update::none();
        };
        match decide(check, None, true) {
            SaveDecision::Save(result) => {
                credential.record_verification(result);
                Update::effect(Effect::SaveCredential { credential })
            }
            // Only an unreachable check waits here, and that the rule saves on request.
            _ => {
                self.phase = FormPhase::Editing;
                Update::none()
            }
        }
    }

    /// The draft's rules or fields said no before anything was verified.
    fn refused(&mut self, error: StoreError) {
        self.phase = FormPhase::Editing;
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
        if let Some(i) = target.and_then(|t| self.fields.iter().position(|f| f.key == t)) {
            self.fields[i].error = Some(text.clone());
            self.focus = i;
        }
        self.message = Some(Notice::error(format!("Not saved: {error}")));
    }

    /// The draft's verification answered: the save rule decides.
    fn verified(
        &mut self,
        shared: &Shared,
        mut credential: Credential,
        outcome: Outcome,
    ) -> Update {
        let now = shared.clock.wall;
        let check = outcome.to_verification(now);
        match decide(check.clone(), outcome.host_key_to_confirm.as_deref(), false) {
            SaveDecision::Save(result) => {
                accept(&mut credential, result, outcome.tokens.as_ref(), now);
                self.phase = FormPhase::Saving;
                Update::effect(Effect::SaveCredential {
                    credential: Box::new(credential),
                })
            }
            SaveDecision::Unreachable { .. } => {
                self.phase = FormPhase::Unreachable {
                    check,
                    credential: Box::new(credential),
                };
                Update::none()
            }
            SaveDecision::Refuse { status, reason } => {
                self.phase = FormPhase::Refused { status, reason };
                Update::none()
            }
            SaveDecision::ConfirmHostKey {
                fingerprint,
                reason,
            } => {
                self.phase = FormPhase::ConfirmHostKey {
                    fingerprint,
                    reason,
                };
                Update::none()
            }
        }
    }

    fn focused_on_url(&self) -> bool {
        self.fields
            .get(self.focus)
            .is_some_and(|f| f.key == FieldKey::Url)
    }

    fn awaits(&self, request: RequestId) -> bool {
        matches!(self.phase, FormPhase::Verifying { request: r } if r == request)
    }
}

impl Screen for FormState {
    type Command = Command;

    /// The keys depend on the component (only OAuth2 forms can log in) and on whether a
    /// browser login waits for the pasted address.
    fn keys(&self, shared: &Shared) -> &'static Keys<Command> {
        if matches!(self.phase, FormPhase::Conflict { .. }) {
            return &CONFLICT;
        }
        if matches!(self.phase, FormPhase::ConfirmHostKey { .. }) {
            return &HOST_KEY;
        }
        if matches!(self.phase, FormPhase::Verifying { .. }) {
            return &VERIFYING;
        }
        if self
            .fields
            .get(self.focus)
            .is_some_and(|f| !f.choices.is_empty())
            && self.login.is_none()
        {
            return &CHOICE;
        }
        if self.login.as_ref().is_some_and(LoginState::takes_paste) {
            return &LOGIN_PASTE;
        }
        let oauth = shared
            .catalog
            .get(&self.component)
            .is_some_and(|c| c.kind == Kind::Oauth2);
        if oauth {
            &OAUTH_FORM
        } else {
            &FORM
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if matches!(self.phase, FormPhase::Conflict { .. }) {
            return self.resolve(shared, command);
        }
        if matches!(self.phase, FormPhase::ConfirmHostKey { .. }) {
            return self.confirm_host_key(shared, command);
        }
        let leaves_the_url = matches!(
            command,
            Command::NextField | Command::PrevField | Command::Submit | Command::Save
        ) && self.focused_on_url();
        if leaves_the_url && !self.apply_url(shared) && command == Command::Submit {
            // Enter on a URL that filled nothing stays, so its error is seen.
            if self.fields[self.focus].error.is_some() {
                return Update::none();
            }
        }
        let n = self.fields.len();
        match command {
            Command::NextField => self.focus = (self.focus + 1) % n.max(1),
            Command::PrevField => self.focus = (self.focus + n.max(1) - 1) % n.max(1),
            Command::Submit if self.focus + 1 < n => self.focus += 1,
            Command::Submit | Command::Save => return self.save(shared),
            Command::SaveUnverified => return self.save_unverified(),
            Command::Reveal => self.reveal(shared),
            Command::Yank => self.yank(shared),
            // Bound only in the OAuth2 form's table.
            Command::Login => return Update::effects(self.start_login(shared, false)),
            Command::LoginPaste => return Update::effects(self.start_login(shared, true)),
            Command::Confirm => return Update::effects(self.exchange_pasted()),
            Command::Back | Command::Cancel if self.login.is_some() => {
                let fx = self.cancel_login();
                self.message = Some(Notice::info("Login cancelled"));
                return Update::effects(fx);
            }
            Command::Back if self.changed() && !matches!(self.phase, FormPhase::Saving) => {
                shared.modal = Some(Modal::ConfirmDiscard("The form has unsaved changes."));
            }
            Command::Back => return Update::nav(Nav::BACK),
            Command::Cancel => {}
            Command::CancelCheck => return self.cancel_check(shared),
            Command::NextChoice | Command::PrevChoice => {
                let step = if command == Command::NextChoice {
                    1
                } else {
                    -1
                };
                if let Some(field) = self.fields.get_mut(self.focus) {
                    field.cycle(step);
                }
                self.edited(shared);
            }
            // Bound only while the conflict or the host key dialog is up (handled above).
            Command::ReloadTheirs
            | Command::OverwriteMine
            | Command::KeepEditing
            | Command::TrustHostKey => {}
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        self.title.clone()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        if let Some(LoginState {
            phase:
                login::LoginPhase::Paste {
                    input,
                    exchanging: false,
                    ..
                },
            ..
        }) = self.login.as_mut()
        {
            return Some(input);
        }
        let focus = self.focus;
        self.fields.get_mut(focus).map(|f| &mut f.input)
    }

    fn edited(&mut self, shared: &mut Shared) {
        if self.login.as_ref().is_some_and(LoginState::takes_paste) {
            self.message = None; // the edit went to the pasted address, not a field
            return;
        }
        // A prepared credential no longer matches the form once it changes.
        if matches!(self.phase, FormPhase::Unreachable { .. }) {
            self.phase = FormPhase::Editing;
        }
        let focus = self.focus;
        // A URL being typed is checked when it is complete: on leaving the field.
        let error = if self.focused_on_url() {
            None
        } else {
            self.validate(shared, focus)
        };
        if let Some(field) = self.fields.get_mut(focus) {
            field.error = error;
        }
    }

    /// A URL pasted into the URL field fills the form at once.
    fn pasted(&mut self, shared: &mut Shared) {
        if self.focused_on_url() && self.login.is_none() {
            if matches!(self.phase, FormPhase::Unreachable { .. }) {
                self.phase = FormPhase::Editing;
            }
            self.apply_url(shared);
        } else {
            self.edited(shared);
        }
    }

    fn on_action(&mut self, shared: &mut Shared, action: Action) -> Result<Update, Action> {
        match action {
            Action::DraftRefused { request, error } if self.awaits(request) => {
                self.refused(error);
                Ok(Update::none())
            }
            Action::VerifyFinished {
                request,
                credential,
                outcome,
            } if self.awaits(request) => Ok(self.verified(shared, *credential, outcome)),
            Action::StoreConflict {
                event: Stored::CredentialSaved(_),
                conflict,
            } if matches!(self.phase, FormPhase::Saving) => {
                let (mine, theirs) = conflict_versions(*conflict);
                let Some(mine) = mine else {
                    self.phase = FormPhase::Editing;
                    return Ok(Update::none());
                };
                self.phase = FormPhase::Conflict { mine, theirs };
                Ok(Update::none())
            }
            other => self.on_login(shared, other).map(|()| Update::none()),
        }
    }

    fn on_stored(&mut self, _shared: &mut Shared, event: &Stored) -> Option<Update> {
        match event {
            Stored::CredentialSaved(id) if matches!(self.phase, FormPhase::Saving) => Some(
                Update::nav(Nav::Back(Some(Returned::CredentialSaved(id.clone())))),
            ),
            _ => None,
        }
    }

    fn on_store_failed(&mut self, _shared: &mut Shared, event: &Stored, message: &str) -> bool {
        if !matches!(event, Stored::CredentialSaved(_)) {
            return false;
        }
        self.phase = FormPhase::Editing;
        self.message = Some(Notice::error(format!("Not saved: {message}")));
        true
    }

    fn discard_confirmed(&mut self, _shared: &mut Shared) -> Update {
        Update::nav(Nav::BACK)
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        changes: &Changes,
        _cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let concerns_it = self.editing.as_ref().is_some_and(|id| {
            changes.reloaded || changes.credentials.contains(id) || changes.removed.contains(id)
        });
        if concerns_it {
            self.check_underneath(shared);
        }
        Vec::new()
    }

    /// The stored secret is shown for 10 s from the confirmation, by the app's clock.
    fn reveal_confirmed(&mut self, shared: &mut Shared) {
        if self.stored_secret(self.focus).is_some() {
            self.revealed = Some((self.focus, shared.clock.mono + shared.reveal_for));
        }
    }

    fn tick(&mut self, clock: Clock) {
        if self.revealed.is_some_and(|(_, until)| until <= clock.mono) {
            self.revealed = None;
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        self.revealed.map(|(_, until)| until)
    }

    /// A revealed secret's countdown ticks too ("hidden again in 7 s").
    fn animating(&self) -> bool {
        self.revealed.is_some()
            || matches!(self.phase, FormPhase::Saving)
            || self.login.as_ref().is_some_and(|l| l.phase.is_waiting())
    }

    /// Closing stops the form's verification and its login.
    fn closing(&mut self, shared: &mut Shared) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let FormPhase::Verifying { request } = self.phase {
            shared.verifying.remove(&request);
            fx.push(Effect::CancelVerify { request });
        }
        fx.extend(self.cancel_login());
        fx
    }
}

/// The credentials a conflict carries: the one the form tried to write, and the vault's.
fn conflict_versions(conflict: Conflict) -> (Option<Box<Credential>>, Option<Box<Credential>>) {
    let credential = |r: Option<AnyRecord>| match r {
        Some(AnyRecord::Credential(c)) => Some(Box::new(c)),
        _ => None,
    };
    (credential(conflict.mine), credential(conflict.theirs))
}
