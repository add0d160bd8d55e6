//! Reading the credentials other tools export (Airflow, n8n, dotenv files, CSV) into drafts of
//! keyway credentials. Each format is parsed whole first: a file that is not what it claims to
//! be is one error and nothing is imported. Each entry then maps to a component and its fields
//! by the tables in `mapping.rs`, or is reported unmappable with the reason; nothing is guessed.
//! Checking, verifying and saving the drafts is the CLI's, by the same rules as every other way
//! in.

mod airflow;
mod csv;
mod dotenv;
pub mod mapping;
mod n8n;

use secrecy::SecretString;

use crate::catalog::Catalog;

/// The formats `keyway import --from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Airflow,
    N8n,
    Dotenv,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Airflow => "airflow",
            Format::N8n => "n8n",
            Format::Dotenv => "dotenv",
            Format::Csv => "csv",
        }
    }
}

/// A credential as the source describes it, mapped to keyway's component and field names.
pub struct Draft {
    pub component: String,
    pub name: String,
    /// As written in the source (CSV), checked later like any typed environment.
    pub environment: Option<String>,
    pub fields: Vec<(String, SecretString)>,
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("component", &self.component)
            .field("name", &self.name)
            .field(
                "fields",
                &self.fields.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What one entry of the source became.
#[derive(Debug)]
pub enum Mapped {
    Credential(Draft),
    /// keyway cannot tell which component and fields the entry is: the reason says why.
    Unmappable(String),
    /// Not a credential at all (a dotenv variable no component declares).
    NotACredential(String),
}

/// One entry of the source, named as the source names it (a conn_id, a variable, a row).
#[derive(Debug)]
pub struct Entry {
    pub label: String,
    pub mapped: Mapped,
}

/// Why a file cannot be read as the format at all: nothing is imported from it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct BadFile(pub String);

/// Parses `text` as `format`. `default_name` names the credentials of a dotenv file.
pub fn parse(
    format: Format,
    text: &str,
    catalog: &Catalog,
    default_name: &str,
) -> Result<Vec<Entry>, BadFile> {
    match format {
        Format::Airflow => airflow::parse(text, catalog),
        Format::N8n => n8n::parse(text, catalog),
        Format::Dotenv => dotenv::parse(text, catalog, default_name),
        Format::Csv => csv::parse(text, catalog),
    }
}

/// A JSON or YAML scalar as a field value: strings as they are, numbers and booleans written
/// out; None for null, lists and objects (which no field holds).
fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The message of a parse error that names where, never what: the text may be a secret.
fn json_error(what: &str, e: &serde_json::Error) -> BadFile {
    BadFile(format!(
        "is not {what}: {} at line {}, column {}",
        match e.classify() {
            serde_json::error::Category::Eof => "it ends too early",
            serde_json::error::Category::Syntax => "the JSON is malformed",
            _ => "a value does not fit the format",
        },
        e.line(),
        e.column()
    ))
}

/// The draft of a credential of `component` named `name`: the given `(field, value)` pairs that
/// are fields of the component, the first value for each; blank values are left out.
fn draft(
    component: &crate::core::schema::Component,
    name: &str,
    environment: Option<String>,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Draft {
    let mut fields: Vec<(String, SecretString)> = Vec::new();
    for (field, value) in pairs {
        let value = zeroize::Zeroizing::new(value);
        if value.trim().is_empty()
            || component.field(&field).is_none()
            || fields.iter().any(|(f, _)| *f == field)
        {
            continue;
        }
        let value = match (field.as_str(), value.trim()) {
            // libpq's prefer and allow (its default, common in exports) may fall back to plain
            // text; keyway never does, so the nearest word it has is require: encrypted, and
            // a server without TLS is reported as such by the check instead of being skipped.
            ("sslmode", "prefer" | "allow") => zeroize::Zeroizing::new("require".to_string()),
            _ => value,
        };
        fields.push((field, SecretString::from(value.to_string())));
    }
    Draft {
        component: component.id.clone(),
        name: name.to_string(),
        environment,
        fields,
    }
}

#[cfg(test)]
mod tests;
