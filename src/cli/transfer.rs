//! `keyway export` and `keyway import`: moving credentials between ops hosts in a file that is
//! useless without its own passphrase. Import decrypts and checks everything before it writes
//! anything, verifies each credential like any other save, and commits in one transaction.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use secrecy::ExposeSecret;

use super::args::OnConflict;
use super::context::{runtime, Context};
use super::error::CliError;
use crate::clock;
use std::collections::BTreeMap;

use crate::core::input::{apply_fields, FieldValue};
use crate::core::names::{check_name, same_name};
use crate::core::save::{decide, SaveDecision};
use crate::core::schema::Component;
use crate::core::secret::SecretFields;
use crate::core::text::is_hidden_or_control;
use crate::core::time::Timestamp;
use crate::core::{Credential, Environment, Status, Verification};
use crate::transfer::{self, ExportedCredential};
use crate::vault::crypto::fresh_id;
use crate::vault::kdf::KdfParams;
use crate::verify::verify_all;

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

pub fn import(
    ctx: &Context,
    file: &Path,
    workspace: Option<&str>,
    on_conflict: Option<OnConflict>,
    no_verify: bool,
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

    // Plan: which credentials go in, under which names.
    let existing: Option<crate::core::Workspace> =
        store.snapshot().workspace_by_name(&target).ok().cloned();
    let taken = |component: &str, name: &str, planned: &[(Credential, Vec<Verification>)]| {
        existing.as_ref().is_some_and(|w| {
            store
                .snapshot()
                .credentials_in(&w.id)
                .any(|c| c.component == component && same_name(&c.name, name))
        }) || planned
            .iter()
            .any(|(c, _)| c.component == component && same_name(&c.name, name))
    };
    let conflicts: Vec<String> = export
        .credentials
        .iter()
        .filter(|c| taken(&c.component, &c.name, &[]))
        .map(|c| format!("{}/{}", c.component, c.name))
        .collect();
    let choice = match (conflicts.is_empty(), on_conflict) {
        (true, _) => OnConflict::Skip,
        (false, Some(choice)) => choice,
        (false, None) => ask_conflict(&conflicts)?,
    };
    note!(
        "{shown}: {} credential(s) from workspace '{}' into '{target}'{}",
        export.credentials.len(),
        export.workspace,
        if existing.is_none() {
            " (a new workspace)"
        } else {
            ""
        }
    );
    let workspace_id = existing.as_ref().map_or_else(fresh_id, |w| w.id.clone());
    // Each planned credential with its exported history, newest first.
    let mut planned: Vec<(Credential, Vec<Verification>)> = Vec::new();
    let mut skipped = Vec::new();
    for e in export.credentials {
        let label = format!("{}/{}", e.component, e.name);
        let Some(component) = ctx.catalog.get(&e.component) else {
            skipped.push(format!("{label} (unknown component)"));
            continue;
        };
        // The same checks as `credential add`: the name, the environment, every field.
        let checked = check_name("credential", &e.name)
            .and_then(|()| checked_credential(component, &e, now).map_err(|e| e.to_string()));
        let (environment, public, secrets, created_at) = match checked {
            Ok(parts) => parts,
            Err(reason) => {
                skipped.push(format!("{label} ({reason})"));
                continue;
            }
        };
        let mut name = e.name.clone();
        if taken(&e.component, &name, &planned) {
            if choice == OnConflict::Skip {
                skipped.push(format!("{label} (name taken)"));
                continue;
            }
            let mut n = 2;
            while taken(&e.component, &format!("{}-{n}", e.name), &planned) {
                n += 1;
            }
            name = format!("{}-{n}", e.name);
        }
        let (history, dropped) = showable_history(e.history);
        if dropped > 0 {
            note!("warning: {label}: {dropped} history entries dropped (times or text keyway cannot show)");
        }
        let c = Credential {
            id: fresh_id(),
            workspace: workspace_id.clone(),
            component: e.component,
            name,
            environment,
            public,
            secrets,
            created_at,
            updated_at: now,
            last_verification: None,
            revision: Default::default(),
        };
        planned.push((c, history));
    }

    // Show what will be added before anything is verified or written.
    for (c, _) in &planned {
        note!("  will add {}/{} [{}]", c.component, c.name, c.environment);
    }
    for s in &skipped {
        note!("  will skip {s}");
    }

    // Verify (nothing invalid is saved), or mark unverified on request.
    let mut accepted: Vec<(Credential, Vec<Verification>)> = Vec::new();
    // The import's own result heads the history the credential brought along.
    let mut keep = |c: Credential, result: Verification, brought: Vec<Verification>| {
        let mut history = vec![result];
        history.extend(brought);
        accepted.push((c, history));
    };
    if no_verify {
        for (c, brought) in planned {
            keep(
                c,
                Verification::unverified(
                    "Imported without verification (--no-verify).".into(),
                    now,
                ),
                brought,
            );
        }
    } else {
        let verifier = ctx.verifier()?;
        let items: Vec<_> = planned
            .iter()
            .filter_map(|(c, _)| ctx.catalog.get(&c.component).map(|comp| (comp, c)))
            .collect();
        let outcomes = runtime()?.block_on(verify_all(
            &verifier,
            ctx.config.verify.concurrency,
            &items,
            now,
            |_| {},
        ));
        for ((mut c, brought), outcome) in planned.into_iter().zip(outcomes) {
            // The same rule as every other save; an import offers no "save unverified".
            let (status, reason) = match decide(outcome.to_verification(now), false) {
                SaveDecision::Save(result) => {
                    crate::store::accept(&mut c, result.clone(), outcome.tokens.as_ref(), now);
                    keep(c, result, brought);
                    continue;
                }
                SaveDecision::Refuse { status, reason } => (status, reason),
                SaveDecision::Unreachable { reason } => (Status::Unreachable, reason),
            };
            skipped.push(format!(
                "{}/{} ({}: {reason})",
                c.component,
                c.name,
                status.as_str()
            ));
        }
    }
    if existing.is_none() && !accepted.is_empty() {
        let w = store.add_workspace(&target, now)?;
        for (c, _) in &mut accepted {
            c.workspace = w.id.clone();
        }
    }
    let count = accepted.len();
    let names: Vec<String> = accepted
        .iter()
        .map(|(c, _)| format!("{}/{}", c.component, c.name))
        .collect();
    store.save_credentials(accepted)?;
    done!(
        "Imported {count} credential(s) into '{target}'{}",
        if names.is_empty() {
            String::new()
        } else {
            format!(": {}", names.join(", "))
        }
    )?;
    for s in &skipped {
        note!("skipped {s}");
    }
    if skipped.iter().any(|s| !s.ends_with("(name taken)")) {
        return Err(CliError::Silent(1));
    }
    Ok(())
}

/// An exported credential's environment, fields and creation time, checked as `credential add`
/// checks what is typed: a field it does not know, a value it refuses (a control character in a
/// URL, a secret in a field meant to be public is moved where secrets go), a time it cannot show.
fn checked_credential(
    component: &Component,
    e: &ExportedCredential,
    now: Timestamp,
) -> Result<
    (
        Environment,
        BTreeMap<String, String>,
        SecretFields,
        Timestamp,
    ),
    String,
> {
    let environment = Environment::parse(&e.environment)?;
    let changes = e
        .public
        .iter()
        .map(|(k, v)| (k.clone(), FieldValue::Plain(v.clone())))
        .chain(e.secrets.names().map(|k| {
            let value = e.secrets.get(k).cloned().unwrap_or_default();
            (k.to_string(), FieldValue::Secret(value))
        }))
        .collect();
    let (public, secrets) =
        apply_fields(component, &BTreeMap::new(), &SecretFields::new(), changes)
            .map_err(|e| e.to_string())?;
    // A creation time from the future or beyond what RFC 3339 can write is the import's own.
    let created_at = Some(e.created_at)
        .filter(|t| t.is_rfc3339() && *t <= now)
        .unwrap_or(now);
    Ok((environment, public, secrets, created_at))
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

fn ask_conflict(conflicts: &[String]) -> Result<OnConflict, CliError> {
    if !std::io::stdin().is_terminal() {
        // A broken rule (name taken), like any other: exit 1.
        return Err(CliError::Refused(format!(
            "these names are already taken: {}; pass --on-conflict skip or --on-conflict rename",
            conflicts.join(", ")
        )));
    }
    super::output::prompt(&format!(
        "Already taken: {}. Skip them or rename them? [s/r] ",
        conflicts.join(", ")
    ));
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    match answer.trim() {
        "s" | "skip" => Ok(OnConflict::Skip),
        "r" | "rename" => Ok(OnConflict::Rename),
        _ => Err(CliError::Usage("answer s (skip) or r (rename)".into())),
    }
}
