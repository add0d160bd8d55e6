//! Output helpers: stable JSON documents and aligned plain-text tables.

use serde_json::{json, Map, Value};
use unicode_width::UnicodeWidthStr;

use crate::catalog::Catalog;
use crate::core::rules::Snapshot;
use crate::core::secret::MASK;
use crate::core::Credential;

/// Prints rows under headers, each column padded to its widest cell (display width).
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.width());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn print_json(value: &Value) {
    // A Value always serializes.
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// A credential as scripts see it (README, "JSON output"). Secrets are masked unless `reveal`.
pub fn credential_json(
    snapshot: &Snapshot,
    catalog: &Catalog,
    c: &Credential,
    reveal: bool,
) -> Value {
    let mut fields = Map::new();
    for (k, v) in &c.public {
        fields.insert(k.clone(), Value::String(v.clone()));
    }
    for name in c.secrets.names() {
        let shown = if reveal {
            c.secrets.expose(name).unwrap_or_default().to_string()
        } else {
            MASK.to_string()
        };
        fields.insert(name.to_string(), Value::String(shown));
    }
    let v = c.last_verification.as_ref();
    let flows: Vec<&str> = snapshot
        .flows_using(&c.id)
        .map(|f| f.name.as_str())
        .collect();
    json!({
        "workspace": snapshot.workspace(&c.workspace).map_or("", |w| w.name.as_str()),
        "component": c.component,
        "component_name": catalog.display_name(&c.component),
        "name": c.name,
        "environment": c.environment.as_str(),
        "status": c.status_word(),
        "reason": v.map(|v| v.reason.clone()),
        "detail": v.and_then(|v| v.detail.clone()),
        "latency_ms": v.and_then(|v| v.latency_ms),
        "verified_at": v.map(|v| v.at.rfc3339()),
        "created_at": c.created_at.rfc3339(),
        "updated_at": c.updated_at.rfc3339(),
        "flows": flows,
        "fields": Value::Object(fields),
    })
}
