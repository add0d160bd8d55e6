//! dotenv files: `NAME=value` lines, mapped by the names the catalogue declares for `keyway run`
//! (STRIPE_API_KEY -> stripe's api_key, PGHOST -> postgresql's host, DATABASE_URL by its
//! scheme) and by keyway's own `KEYWAY_<COMPONENT>_<FIELD>`. The variables of one component make
//! one credential, named after the file (or --name).
//!
//! The syntax is the common subset (README): `#` comments and blank lines, an optional `export `,
//! values bare (a ` #` starts a comment), in single quotes (literal) or in double quotes (with
//! `\n`, `\"` and `\\` escapes), a quoted value may span lines. `$` is always literal: keyway
//! never expands `${VAR}`, which in a crafted file would copy keyway's own environment (its
//! passphrase) into a credential sent to a server the file names. That is why this is not
//! dotenvy, which expands from the process environment first.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::mapping::{component, url_credential};
use super::{draft, BadFile, Entry, Mapped};
use crate::catalog::Catalog;
use crate::core::env::env_form;
use crate::core::schema::ENV_URL;

/// The `NAME=value` pairs of a dotenv text, in order. A line that is neither is an error naming
/// its number (never its text: it may hold a secret).
pub fn parse_lines(text: &str) -> Result<Vec<(String, Zeroizing<String>)>, BadFile> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((at, line)) = lines.next() {
        let number = at + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((name, rest)) = body.split_once('=') else {
            return Err(BadFile(format!(
                "line {number} is not NAME=value (nor a comment)"
            )));
        };
        let name = name.trim();
        let good_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !good_name {
            return Err(BadFile(format!(
                "line {number}: the name before '=' is not a variable name"
            )));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let mut value = Zeroizing::new(String::new());
                let mut chunk = &rest[1..];
                loop {
                    match quoted(chunk, quote, &mut value) {
                        Some(after) => {
                            let after = after.trim();
                            if !after.is_empty() && !after.starts_with('#') {
                                return Err(BadFile(format!(
                                    "line {number}: text follows the closing quote"
                                )));
                            }
                            break;
                        }
                        None => match lines.next() {
                            Some((_, next)) => {
                                value.push('\n');
                                chunk = next;
                            }
                            None => {
                                return Err(BadFile(format!(
                                    "line {number}: the quoted value never ends"
                                )))
                            }
                        },
                    }
                }
                value
            }
            _ => {
                let bare = match rest.find(" #") {
                    Some(at) => &rest[..at],
                    None => rest,
                };
                Zeroizing::new(bare.trim_end().to_string())
            }
        };
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// Appends the quoted text of `chunk` up to the closing `quote` to `value`; returns what follows
/// the quote, or None when the line ends first.
fn quoted<'a>(chunk: &'a str, quote: char, value: &mut String) -> Option<&'a str> {
    let mut chars = chunk.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some(&chunk[i + 1..]);
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => value.push(other),
                None => value.push('\\'),
            }
            continue;
        }
        value.push(c);
    }
    None
}

/// A field given a value by a variable: (field, variable, value).
type Assignment = (String, String, Zeroizing<String>);

/// What a variable name stands for.
enum Meaning {
    /// A field of a component.
    Field { component: String, field: String },
    /// A connection URL, its component told by its scheme.
    Url,
    /// Two components declare the name.
    Ambiguous(Vec<String>),
}

/// Every name the catalogue gives a meaning.
fn meanings(catalog: &Catalog) -> BTreeMap<String, Meaning> {
    let mut out: BTreeMap<String, Meaning> = BTreeMap::new();
    for c in catalog.all() {
        for f in &c.fields {
            let name = format!("KEYWAY_{}_{}", env_form(&c.id), env_form(&f.name));
            out.insert(
                name,
                Meaning::Field {
                    component: c.id.clone(),
                    field: f.name.clone(),
                },
            );
        }
    }
    for c in catalog.all() {
        for (name, field) in &c.env {
            let meaning = if field == ENV_URL {
                Meaning::Url
            } else {
                Meaning::Field {
                    component: c.id.clone(),
                    field: field.clone(),
                }
            };
            match out.get_mut(name) {
                Some(Meaning::Field { component, .. }) if *component != c.id => {
                    let both = vec![component.clone(), c.id.clone()];
                    out.insert(name.clone(), Meaning::Ambiguous(both));
                }
                Some(Meaning::Ambiguous(list)) => list.push(c.id.clone()),
                Some(_) => {}
                None => {
                    out.insert(name.clone(), meaning);
                }
            }
        }
    }
    out
}

/// The credentials a dotenv text describes, one per component, each named `name`.
pub fn parse(text: &str, catalog: &Catalog, name: &str) -> Result<Vec<Entry>, BadFile> {
    let vars = parse_lines(text)?;
    let meanings = meanings(catalog);
    let mut entries = Vec::new();
    // Component -> (field -> (variable, value)), in the order components first appear.
    let mut groups: Vec<(String, Vec<Assignment>)> = Vec::new();
    let mut add =
        |component: String, field: String, var: String, value: Zeroizing<String>| match groups
            .iter_mut()
            .find(|(c, _)| *c == component)
        {
            Some((_, fields)) => fields.push((field, var, value)),
            None => groups.push((component, vec![(field, var, value)])),
        };
    for (var, value) in vars {
        match meanings.get(&var) {
            None => entries.push(Entry {
                label: var,
                mapped: Mapped::NotACredential(
                    "no keyway component declares this variable".into(),
                ),
            }),
            Some(Meaning::Ambiguous(components)) => entries.push(Entry {
                label: var,
                mapped: Mapped::Unmappable(format!(
                    "the variable is declared by several components ({}); use KEYWAY_<COMPONENT>_<FIELD> to say which",
                    components.join(", ")
                )),
            }),
            Some(Meaning::Field { component, field }) => {
                add(component.clone(), field.clone(), var, value)
            }
            Some(Meaning::Url) => match url_credential(catalog, &value) {
                Ok((component, fields)) => {
                    for (field, v) in fields {
                        add(component.clone(), field, var.clone(), Zeroizing::new(v));
                    }
                }
                Err(reason) => entries.push(Entry {
                    label: var,
                    mapped: Mapped::Unmappable(reason),
                }),
            },
        }
    }
    for (component_id, fields) in groups {
        let mut vars: Vec<&str> = fields.iter().map(|(_, v, _)| v.as_str()).collect();
        vars.dedup();
        let label = vars.join(", ");
        let mapped = match component(catalog, &component_id, &label) {
            Err(reason) => Mapped::Unmappable(reason),
            Ok(comp) => match disagreement(&fields) {
                Some(reason) => Mapped::Unmappable(reason),
                None => Mapped::Credential(draft(
                    comp,
                    name,
                    None,
                    fields.iter().map(|(f, _, v)| (f.clone(), v.to_string())),
                )),
            },
        };
        entries.push(Entry { label, mapped });
    }
    Ok(entries)
}

/// Two variables giving one field different values (PGHOST and DATABASE_URL's host): which
/// one is meant cannot be told.
fn disagreement(fields: &[Assignment]) -> Option<String> {
    for (i, (field, var, value)) in fields.iter().enumerate() {
        for (other_field, other_var, other_value) in &fields[i + 1..] {
            if field == other_field && value.as_str() != other_value.as_str() {
                return Some(format!(
                    "{var} and {other_var} give the field '{field}' different values"
                ));
            }
        }
    }
    None
}
