//! `keyway export` and `keyway import`: moving credentials between ops hosts in a file that is
//! useless without its own passphrase. Import decrypts and checks everything before it writes
//! anything, verifies each credential like any other save, and commits in one transaction.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use secrecy::ExposeSecret;

use super::args::OnConflict;
use super::context::Context;
use super::error::CliError;
use super::import::{checked, finish, kept_creation_time, Candidate, Left, NotAdded, Reporting};
use crate::clock;
use crate::core::input::FieldValue;
use crate::core::text::is_hidden_or_control;
use crate::core::{Credential, Verification};
use crate::transfer::{self, ExportedCredential};
use crate::vault::crypto::fresh_id;
use crate::vault::kdf::KdfParams;

const ENV_VAR: &str = "KEYWAY_EXPORT_PASSPHRASE";

/// The most keyway reads of an export file: thousands of credentials with their histories.
pub const EXPORT_FILE_LIMIT: u64 = 64 * 1024 * 1024;

pub fn export(
    ctx: &Context,
    workspace: &str,
    component: Option<&str>,
    file: &Path,
) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let s = store.snapshot();
    let w = s.workspace_by_name(workspace)?;
    if let Some(c) = component {
        if ctx.catalog.get(c).is_none() {
            return Err(CliError::Usage(format!("unknown component '{c}'")));
        }
    }
    let credentials: Vec<ExportedCredential> = s
        .credentials_in(&w.id)
        .filter(|c| component.is_none_or(|comp| c.component == comp))
        .map(|c| {
            ExportedCredential {
                component: c.component.clone(),
                name: c.name.clone(),
                environment: c.environment.to_string(),
                public: c.public.clone(),
                secrets: c.secrets.clone(),
                created_at: c.created_at,
                updated_at: c.updated_at,
                // The history is a log, not the credential: a damaged entry must not keep the
                // credential itself from moving to another host.
                history: store.history(&c.id).unwrap_or_else(|e| {
                    note!(
                        "warning: exporting {}/{} without its verification history: {e}",
                        c.component,
                        c.name
                    );
                    Vec::new()
                }),
            }
        })
        .collect();
    let count = credentials.len();
    let pass = ctx.new_passphrase(ENV_VAR, "Export passphrase: ")?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    let bytes = transfer::seal(
        workspace,
        credentials,
        pass.expose_secret().as_bytes(),
        params,
        clock::now(),
    )
    .map_err(|e| CliError::Refused(format!("cannot write the export: {e}")))?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| CliError::Refused(format!("cannot create {}: {e}", file.display())))?;
    out.write_all(&bytes)
        .and_then(|_| out.sync_all())
        .map_err(|e| CliError::Refused(format!("cannot write {}: {e}", file.display())))?;
    done!(
        "Exported {count} credential(s) of workspace '{workspace}' to {}",
        file.display()
    )?;
    Ok(())
}

/// `keyway import FILE`: a keyway export file.
pub fn import(
    ctx: &Context,
    file: &Path,
    workspace: Option<&str>,
    on_conflict: Option<OnConflict>,
    no_verify: bool,
    reporting: Reporting,
) -> Result<(), CliError> {
    let shown = file.display().to_string();
    // A path that cannot be the file asked for (a FIFO, a device, a directory, a file larger
    // than any export) is a bad argument, like such a --config: exit 2. A file that is read but
    // is not a good export (damaged, another passphrase) is refused: exit 1.
    let bytes = crate::files::read_bounded(file, EXPORT_FILE_LIMIT)
        .map_err(|e| CliError::Usage(format!("the export file {shown} {e}")))?;
    let pass = match super::context::env_passphrase(ENV_VAR)? {
        Some(p) => p,
        None if std::io::stdin().is_terminal() => secrecy::SecretString::from(
            rpassword::prompt_password("Export passphrase: ")
                .map_err(|e| CliError::Usage(format!("cannot read the passphrase: {e}")))?,
        ),
        None => {
            return Err(CliError::Usage(format!(
                "no export passphrase: set {ENV_VAR} or run on a terminal"
            )))
        }
    };
    // The export's key derivation runs before the vault is touched: however long a crafted
    // header could make it take, no other process waits for this one.
    let export = transfer::open(&shown, &bytes, pass.expose_secret().as_bytes())
        .map_err(|e| CliError::Refused(e.to_string()))?;
    let mut store = ctx.open_store()?;
    let target = workspace.unwrap_or(&export.workspace).to_string();
    let now = clock::now();
    let mut candidates = Vec::new();
    let mut left = Vec::new();
    for e in export.credentials {
        let label = format!("{}/{}", e.component, e.name);
        let Some(component) = ctx.catalog.get(&e.component) else {
            left.push(Left {
                label,
                why: NotAdded::Unmappable,
                reason: format!(
                    "component '{}' is not in this keyway's catalogue",
                    e.component
                ),
            });
            continue;
        };
        // The same checks as `credential add`: the name, the environment, every field.
        let changes = e
            .public
            .iter()
            .map(|(k, v)| (k.clone(), FieldValue::Plain(v.clone())))
            .chain(e.secrets.names().map(|k| {
                let value = e.secrets.get(k).cloned().unwrap_or_default();
                (k.to_string(), FieldValue::Secret(value))
            }))
            .collect();
        let (environment, public, secrets) =
            match checked(component, &e.name, &e.environment, changes) {
                Ok(parts) => parts,
                Err(reason) => {
                    left.push(Left {
                        label,
                        why: NotAdded::Skipped { by_choice: false },
                        reason,
                    });
                    continue;
                }
            };
        let (history, dropped) = showable_history(e.history);
        if dropped > 0 {
            note!("warning: {label}: {dropped} history entries dropped (times or text keyway cannot show)");
        }
        candidates.push(Candidate {
            label,
            credential: Credential {
                id: fresh_id(),
                workspace: fresh_id(),
                component: e.component,
                name: e.name,
                environment,
                public,
                secrets,
                created_at: kept_creation_time(e.created_at, now),
                updated_at: now,
                last_verification: None,
                revision: Default::default(),
                password_changed_at: None,
                pending_rotation: None,
            },
            history,
        });
    }
    let source = format!("{shown} (workspace '{}' exported)", export.workspace);
    finish(
        ctx,
        &mut store,
        &target,
        &source,
        candidates,
        left,
        on_conflict,
        no_verify,
        reporting,
    )
}

/// The history entries of an import that keyway can show: times RFC 3339 can write, text
/// without control or hidden characters. Returns them and how many were dropped.
fn showable_history(history: Vec<Verification>) -> (Vec<Verification>, usize) {
    let total = history.len();
    let clean = |t: &str| t.chars().count() <= 2000 && !t.chars().any(is_hidden_or_control);
    let kept: Vec<Verification> = history
        .into_iter()
        .filter(|v| {
            v.at.is_rfc3339()
                && v.first_at().is_rfc3339()
                && clean(&v.reason)
                && v.detail.as_deref().is_none_or(clean)
        })
        .collect();
    let dropped = total - kept.len();
    (kept, dropped)
}
