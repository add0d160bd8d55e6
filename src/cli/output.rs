//! Everything the CLI prints goes through here: reports on stdout, notes and errors on stderr.
//! Text is made terminal-safe on the way out (`core::text`: whatever a server, a file or an
//! argument put in it, no escape sequence reaches the terminal), JSON keeps its values with
//! hidden characters escaped, and a failing stdout never panics:
//! - a closed pipe (`keyway ... | head -1`) is the reader saying it has seen enough: the rest of
//!   the report is dropped and the command ends with its own exit code, as other tools do;
//! - any other write error (a full disk) is one sentence and exit 1. A command that changes the
//!   vault prints its report only after the change is durable, so the sentence then says that the
//!   change was saved (`done!`), and a script can tell it from a failed change.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};
use unicode_width::UnicodeWidthStr;

use super::error::CliError;
use crate::catalog::Catalog;
use crate::core::secret::MASK;
use crate::core::text::{for_json, for_terminal};
use crate::core::Snapshot;
use crate::core::{Credential, Revision, TlsState};

/// Set once stdout's reader has gone away: later reports are dropped unwritten.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line of a report on stdout (`say!("...", ...)?`).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::report_line(&format!($($arg)*))
    };
}

/// Prints the report of a change that is already durable: a write error then says it was saved.
macro_rules! done {
    ($($arg:tt)*) => {
        $crate::cli::output::report_line(&format!($($arg)*))
            .map_err($crate::cli::output::after_change)
    };
}

/// Prints a note (progress, a warning, a prompt) on stderr; a failing stderr is ignored, as
/// there is nowhere left to tell.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::output::note_line(&format!($($arg)*))
    };
}

/// Writes `text` and a newline to stdout, made terminal-safe (newlines kept).
pub fn report_line(text: &str) -> Result<(), CliError> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut line = for_terminal(text, true).into_owned();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(CliError::Output(e)),
    }
}

/// A report that failed after its change was made durable says so.
pub fn after_change(e: CliError) -> CliError {
    match e {
        CliError::Output(io) => CliError::OutputAfterChange(io),
        other => other,
    }
}

/// Writes `text` and a newline to stderr, made terminal-safe (newlines kept).
pub fn note_line(text: &str) {
    let mut line = for_terminal(text, true).into_owned();
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Rewrites the progress line on stderr in place (a terminal only).
pub fn progress(text: &str) {
    let line = format!("\r{}", for_terminal(text, false));
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes()).and_then(|()| err.flush());
}

/// Asks on stderr, the answer to be typed on the same line.
pub fn prompt(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(for_terminal(text, false).as_bytes())
        .and_then(|()| err.flush());
}

/// The one line an error ends a command with: `keyway: ...`, newlines and all escaped.
pub fn error_line(message: &str) {
    let line = format!("keyway: {}\n", for_terminal(message, false));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Prints rows under headers, each column padded to its widest cell. Cells are made
/// terminal-safe first, so the widths measured (display columns, not characters: a CJK name
/// takes two per character) are those of what is printed.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let safe = |cells: Vec<&str>| -> Vec<String> {
        cells
            .into_iter()
            .map(|c| for_terminal(c, false).into_owned())
            .collect()
    };
    let headers = safe(headers.to_vec());
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| safe(r.iter().map(String::as_str).collect()))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.width());
            }
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths.get(i).map_or(0, |w| w.saturating_sub(cell.width()));
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        report_line(out.trim_end())
    };
    line(&headers)?;
    for row in &rows {
        line(row)?;
    }
    Ok(())
}

pub fn print_json(value: &Value) -> Result<(), CliError> {
    // A Value always serializes.
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    report_line(&for_json(&text))
}

/// Adds `revision`, `changed_by` and `changed_at` to a record's JSON object: what a script
/// passes back as `--expect-revision`, and who changed the record last, when.
pub fn add_revision(value: &mut Value, revision: &Revision) {
    if let Value::Object(map) = value {
        map.insert("revision".into(), json!(revision.number));
        map.insert("changed_by".into(), json!(revision.changed_by));
        map.insert("changed_at".into(), json!(revision.changed_at.rfc3339()));
    }
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
    let mut value = json!({
        "workspace": snapshot.workspace(&c.workspace).map_or("", |w| w.name.as_str()),
        "component": c.component,
        "component_name": catalog.display_name(&c.component),
        "name": c.name,
        "environment": c.environment.as_str(),
        "status": c.status_word(),
        "reason": v.map(|v| v.reason.clone()),
        "detail": v.and_then(|v| v.detail.clone()),
        "latency_ms": v.and_then(|v| v.latency_ms),
        "tls": v.and_then(|v| v.tls).map(TlsState::as_str),
        "verified_at": v.map(|v| v.at.rfc3339()),
        "created_at": c.created_at.rfc3339(),
        "updated_at": c.updated_at.rfc3339(),
        "password_set_at": c.secrets.contains(crate::core::rotation::PASSWORD_FIELD)
            .then(|| crate::core::rotation::password_set_at(c).rfc3339()),
        "rotation_pending_since": c.pending_rotation.as_ref().map(|p| p.started_at.rfc3339()),
        "flows": flows,
        "fields": Value::Object(fields),
    });
    add_revision(&mut value, &c.revision);
    value
}
