//! n8n credentials: the JSON of `n8n export:credentials --all --decrypted` (an array of
//! {id, name, type, data, ...}; one object with --separate). The credential's `type` picks the
//! component, `data` fills its fields (mapping.rs). An export made without --decrypted holds
//! `data` as an encrypted string, which is reported, never guessed at.

use serde_json::Value;

use super::mapping::{component, N8N_TYPES};
use super::{draft, json_error, scalar_text, BadFile, Entry, Mapped};
use crate::catalog::Catalog;

pub fn parse(text: &str, catalog: &Catalog) -> Result<Vec<Entry>, BadFile> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| json_error("the JSON of `n8n export:credentials`", &e))?;
    let items = match value {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => {
            return Err(BadFile(
                "is not the JSON of `n8n export:credentials` (an array of credentials)".into(),
            ))
        }
    };
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item.get("name").and_then(scalar_text).unwrap_or_default();
            let label = if name.is_empty() {
                format!("credential {}", i + 1)
            } else {
                name.clone()
            };
            Entry {
                label,
                mapped: map(item, &name, catalog),
            }
        })
        .collect())
}

fn map(item: &Value, name: &str, catalog: &Catalog) -> Mapped {
    let Some(kind) = item.get("type").and_then(Value::as_str) else {
        return Mapped::Unmappable("it has no credential type".into());
    };
    if name.is_empty() {
        return Mapped::Unmappable("it has no name".into());
    }
    let Some((_, component_id, fields)) = N8N_TYPES.iter().find(|(t, _, _)| *t == kind) else {
        return Mapped::Unmappable(format!(
            "n8n credential type '{kind}' maps to no keyway component"
        ));
    };
    let comp = match component(catalog, component_id, &format!("n8n type '{kind}'")) {
        Ok(c) => c,
        Err(reason) => return Mapped::Unmappable(reason),
    };
    let data = match item.get("data") {
        Some(Value::Object(data)) => data,
        Some(Value::String(_)) => {
            return Mapped::Unmappable(
                "its data is encrypted: export with `n8n export:credentials --decrypted`".into(),
            )
        }
        _ => return Mapped::Unmappable("it has no data".into()),
    };
    let pairs = fields.iter().filter_map(|(key, field)| {
        data.get(*key)
            .and_then(scalar_text)
            .map(|v| (field.to_string(), v))
    });
    Mapped::Credential(draft(comp, name, None, pairs))
}
