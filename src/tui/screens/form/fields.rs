//! The form's fields: built from the component's definition (and the credential being edited),
//! checked inline as the user types, and read back into the draft a save verifies.

use tui_input::Input;

use super::{FieldKey, FormField, FormState};
use crate::core::dburl;
use crate::core::input::{check_field, FieldValue};
use crate::core::names::check_name;
use crate::core::schema::Component;
use crate::core::{Credential, Environment, RecordId};
use crate::store::CredentialDraft;
use crate::tui::app::shared::Shared;
use crate::tui::widgets::notice::Notice;
use zeroize::Zeroize;

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
        choices: Vec::new(),
    }
}

/// The name, the environment, a connection URL for a component that takes one, then the
/// component's fields: an edit's values, else the defaults (secrets always start empty: a stored
/// one is kept unless something is typed).
pub(super) fn fields(
    component: &Component,
    editing: Option<&Credential>,
    environment: &str,
) -> Vec<FormField> {
    let mut fields = Vec::with_capacity(component.fields.len() + 2);
    let (name, env) = editing.map_or((String::new(), environment.to_string()), |c| {
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
    if let Some(engine) = dburl::url_engine(component) {
        let scheme = dburl::schemes(engine)[0];
        fields.push(plain_field(
            FieldKey::Url,
            "From URL",
            false,
            String::new(),
            Some(format!(
                "fills the fields below from {scheme}://user:pass@host/…"
            )),
        ));
    }
    for spec in &component.fields {
        let mut help = spec.help.clone();
        if !spec.choices.is_empty() {
            let choices = format!("←/→ or Space: {}", spec.choices.join(", "));
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
            choices: spec.choices.clone(),
        });
    }
    fields
}

impl FormState {
    /// The inline check of field `index`, as the user types or saves.
    pub fn validate(&self, shared: &Shared, index: usize) -> Option<String> {
        let field = self.fields.get(index)?;
        let value = field.input.value();
        match &field.key {
            FieldKey::Name => {
                if let Err(e) = check_name("credential", value) {
                    return Some(e);
                }
                let view = shared.vault.as_ref()?;
                let workspace = view.snapshot.workspace(view.workspace.as_ref()?)?;
                view.snapshot
                    .check_credential_name(workspace, &self.component, value, self.editing.as_ref())
                    .err()
                    .map(|e| e.to_string())
            }
            FieldKey::Environment => Environment::parse(value).err(),
            FieldKey::Url if value.is_empty() => None,
            FieldKey::Url => {
                let component = shared.catalog.get(&self.component)?;
                dburl::fields_from_url(component, value).err()
            }
            FieldKey::Field(name) => {
                let component = shared.catalog.get(&self.component)?;
                if value.is_empty() {
                    let has_default = component.field(name).is_some_and(|s| s.default.is_some());
                    let needed = field.required && !has_default && !field.has_stored_secret;
                    return needed.then(|| "is required".to_string());
                }
                check_field(component, name, value).err().map(|e| e.message)
            }
        }
    }

    /// The draft the fields describe: what a save verifies, and what a login reads its client
    /// from.
    pub(super) fn draft(&self, workspace: RecordId) -> CredentialDraft {
        let mut name = String::new();
        let mut environment = Environment::Staging;
        let mut changes = Vec::new();
        for field in &self.fields {
            let value = field.input.value();
            match &field.key {
                FieldKey::Name => name = value.to_string(),
                FieldKey::Environment => {
                    environment = Environment::parse(value).unwrap_or(Environment::Staging)
                }
                // Only a way to fill the other fields: what it gave is in them.
                FieldKey::Url => {}
                FieldKey::Field(key) if field.secret => {
                    // An empty secret while editing keeps the stored one.
                    if !value.is_empty() {
                        changes.push((key.clone(), FieldValue::Secret(value.to_string().into())));
                    }
                }
                FieldKey::Field(key) => {
                    let include = if self.editing.is_some() {
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
            component: self.component.clone(),
            name,
            environment,
            changes,
        }
    }
}

impl FormState {
    /// The URL field's connection URL, into the fields it names (core::dburl's rule, as the CLI's
    /// `--from-url`): the password into the password field, and the URL field keeps the URL
    /// without it, so the password is never drawn. A URL of another engine, or one naming a
    /// field the component lacks, is the URL field's inline error and fills nothing. True when
    /// the form's fields changed.
    pub(super) fn apply_url(&mut self, shared: &Shared) -> bool {
        let Some(at) = self.fields.iter().position(|f| f.key == FieldKey::Url) else {
            return false;
        };
        if self.fields[at].input.value().trim().is_empty() {
            self.fields[at].error = None;
            return false;
        }
        let Some(component) = shared.catalog.get(&self.component) else {
            return false;
        };
        let pairs = match dburl::fields_from_url(component, self.fields[at].input.value()) {
            Ok(pairs) => pairs,
            Err(e) => {
                self.message = Some(Notice::error(format!("Nothing filled: the URL {e}")));
                self.fields[at].error = Some(e);
                return false;
            }
        };
        let mut filled = Vec::new();
        for (name, value) in pairs {
            let key = FieldKey::Field(name);
            let Some(i) = self.fields.iter().position(|f| f.key == key) else {
                continue; // fields_from_url names only the component's fields
            };
            let field = &mut self.fields[i];
            if field.secret {
                field.input.value_and_reset().zeroize();
            }
            field.input = Input::new(value);
            filled.push(i);
        }
        for &i in &filled {
            self.fields[i].error = self.validate(shared, i);
        }
        let url = &mut self.fields[at];
        let shown = dburl::without_password(url.input.value()).unwrap_or_default();
        url.input.value_and_reset().zeroize();
        url.input = Input::new(shown);
        url.error = None;
        if !filled.is_empty() {
            let names: Vec<&str> = filled
                .iter()
                .map(|&i| self.fields[i].label.as_str())
                .collect();
            self.message = Some(Notice::info(format!(
                "Filled from the URL: {}",
                names.join(", ")
            )));
        }
        !filled.is_empty()
    }
}
