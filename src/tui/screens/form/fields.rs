//! The form's fields: built from the component's definition (and the credential being edited),
//! checked inline as the user types, and read back into the draft a save verifies.

use tui_input::Input;

use super::{FieldKey, FormField, FormState};
use crate::core::input::{check_field, FieldValue};
use crate::core::names::check_name;
use crate::core::schema::Component;
use crate::core::{Credential, Environment, RecordId};
use crate::store::CredentialDraft;
use crate::tui::app::shared::Shared;

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

/// The name, the environment, then the component's fields: an edit's values, else the
/// defaults (secrets always start empty: a stored one is kept unless something is typed).
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
