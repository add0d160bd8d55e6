//! What every import shares, whatever it reads (a keyway export, Airflow, n8n, dotenv, CSV):
//! each candidate credential is checked like `credential add` checks what is typed, a name
//! already taken is skipped or renamed as the user says, everything is verified before it is
//! saved (or saved marked unverified with --no-verify), the target workspace is created if
//! missing, everything accepted is written in one transaction, and the import ends with one
//! summary: the counts, the name and reason of every entry that was not added, and (with
//! --verbose or --json) the names of those that were.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use secrecy::ExposeSecret;
use serde_json::json;

use super::args::OnConflict;
use super::context::runtime;
use super::context::Context;
use super::error::CliError;
use crate::clock;
use crate::core::input::{apply_fields, FieldValue};
use crate::core::names::{check_name, same_name};
use crate::core::save::{decide, SaveDecision, HOST_KEY_FIELD};
use crate::core::schema::Component;
use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::{Credential, Environment, Verification};
use crate::import::{self, Entry, Format, Mapped};
use crate::store::Store;
use crate::vault::crypto::fresh_id;
use crate::verify::verify_all;

/// How an import reports.
#[derive(Debug, Clone, Copy)]
pub struct Reporting {
    pub verbose: bool,
    pub json: bool,
}

/// A credential ready to be verified and saved, with the history it brings (newest first).
pub struct Candidate {
    /// The entry as the source names it.
    pub label: String,
    pub credential: Credential,
    pub history: Vec<Verification>,
}

/// Why an entry was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAdded {
    /// The service said no (rejected, or the request could not be built from the fields).
    Rejected,
    Unreachable,
    /// keyway cannot tell which component and fields it is.
    Unmappable,
    /// keyway refused it (a field or name add would refuse), or the user chose to skip it.
    Skipped {
        by_choice: bool,
    },
}

impl NotAdded {
    fn as_str(self) -> &'static str {
        match self {
            NotAdded::Rejected => "rejected",
            NotAdded::Unreachable => "unreachable",
            NotAdded::Unmappable => "unmappable",
            NotAdded::Skipped { .. } => "skipped",
        }
    }
}

/// An entry that was not added, with its reason.
pub struct Left {
    pub label: String,
    pub why: NotAdded,
    pub reason: String,
}

/// The most keyway reads of a file from another tool (the same bound as an export file).
pub const FOREIGN_FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// `keyway import --from airflow|n8n|dotenv|csv FILE -w W`.
#[allow(clippy::too_many_arguments)]
pub fn import_foreign(
    ctx: &Context,
    format: Format,
    file: &Path,
    workspace: &str,
    name: Option<&str>,
    on_conflict: Option<OnConflict>,
    no_verify: bool,
    reporting: Reporting,
) -> Result<(), CliError> {
    let stdin = file.as_os_str() == "-";
    let shown = if stdin {
        "standard input".to_string()
    } else {
        file.display().to_string()
    };
    let default_name = match (name, stdin) {
        (Some(n), _) => n.to_string(),
        (None, false) => file_stem_name(file),
        (None, true) if format == Format::Dotenv => {
            return Err(CliError::Usage(
                "a dotenv file read from standard input needs --name NAME for its credentials"
                    .into(),
            ))
        }
        (None, true) => String::new(),
    };
    let text = read_source(file, stdin, &shown)?;
    // Parsed whole before the vault is opened: a bad file changes nothing.
    let entries = import::parse(format, &text, &ctx.catalog, &default_name).map_err(|e| {
        CliError::Refused(format!(
            "{shown} {e}; nothing was imported (it was read as --from {})",
            format.as_str()
        ))
    })?;
    drop(text);
    let mut store = ctx.open_store()?;
    let now = clock::now();
    let mut left = Vec::new();
    let mut candidates = Vec::new();
    for Entry { label, mapped } in entries {
        match mapped {
            Mapped::Credential(draft) => {
                let Some(component) = ctx.catalog.get(&draft.component) else {
                    left.push(unmappable(label, "its component is not in the catalogue"));
                    continue;
                };
                let changes = draft
                    .fields
                    .into_iter()
                    .map(|(k, v)| {
                        let value = if component.is_secret(&k) {
                            FieldValue::Secret(v)
                        } else {
                            FieldValue::Plain(v.expose_secret().to_string())
                        };
                        (k, value)
                    })
                    .collect();
                let environment = draft.environment.as_deref().unwrap_or("staging");
                match checked(component, &draft.name, environment, changes) {
                    Ok((environment, public, secrets)) => candidates.push(Candidate {
                        label,
                        credential: Credential {
                            id: fresh_id(),
                            workspace: fresh_id(),
                            component: component.id.clone(),
                            name: draft.name,
                            environment,
                            public,
                            secrets,
                            created_at: now,
                            updated_at: now,
                            last_verification: None,
                            revision: Default::default(),
                            password_changed_at: None,
                            pending_rotation: None,
                        },
                        history: Vec::new(),
                    }),
                    Err(reason) => left.push(Left {
                        label,
                        why: NotAdded::Skipped { by_choice: false },
                        reason,
                    }),
                }
            }
            Mapped::Unmappable(reason) => left.push(unmappable(label, &reason)),
            Mapped::NotACredential(reason) => left.push(Left {
                label,
                why: NotAdded::Skipped { by_choice: true },
                reason,
            }),
        }
    }
    let source = format!("{shown} (--from {})", format.as_str());
    finish(
        ctx,
        &mut store,
        workspace,
        &source,
        candidates,
        left,
        on_conflict,
        no_verify,
        reporting,
    )
}

fn unmappable(label: String, reason: &str) -> Left {
    Left {
        label,
        why: NotAdded::Unmappable,
        reason: reason.to_string(),
    }
}

/// The file's name without folders, leading dots and a `.env`-like extension: `prod.env` and
/// `.env.prod` name their credentials `prod`; a bare `.env` names them `env`.
fn file_stem_name(file: &Path) -> String {
    let base = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trimmed = base.trim_start_matches('.');
    let name = trimmed
        .strip_prefix("env.")
        .or_else(|| trimmed.strip_suffix(".env"))
        .or_else(|| trimmed.rsplit_once('.').map(|(stem, _)| stem))
        .unwrap_or(trimmed);
    if name.is_empty() {
        "env".to_string()
    } else {
        name.to_string()
    }
}

/// The source's text: a regular file of at most FOREIGN_FILE_LIMIT, or standard input ("-")
/// read no further than that. Bytes that are not UTF-8 are refused.
fn read_source(
    file: &Path,
    stdin: bool,
    shown: &str,
) -> Result<zeroize::Zeroizing<String>, CliError> {
    let bytes = if stdin {
        use std::io::Read;
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        std::io::stdin()
            .lock()
            .take(FOREIGN_FILE_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        if bytes.len() as u64 > FOREIGN_FILE_LIMIT {
            return Err(CliError::Usage(format!(
                "standard input is larger than {} MiB, the most keyway reads for an import",
                FOREIGN_FILE_LIMIT / (1024 * 1024)
            )));
        }
        bytes
    } else {
        zeroize::Zeroizing::new(
            crate::files::read_bounded(file, FOREIGN_FILE_LIMIT)
                .map_err(|e| CliError::Usage(format!("the file {shown} {e}")))?,
        )
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(zeroize::Zeroizing::new(text.to_string())),
        Err(_) => Err(CliError::Refused(format!(
            "{shown} is not UTF-8 text; nothing was imported"
        ))),
    }
}

/// A credential's name, environment and fields, checked as `credential add` checks what is
/// typed (a field it does not know, a value it refuses, a secret in a public field moved).
pub fn checked(
    component: &Component,
    name: &str,
    environment: &str,
    changes: Vec<(String, FieldValue)>,
) -> Result<(Environment, BTreeMap<String, String>, SecretFields), String> {
    check_name("credential", name)?;
    let environment = Environment::parse(environment)?;
    let (public, secrets) =
        apply_fields(component, &BTreeMap::new(), &SecretFields::new(), changes)
            .map_err(|e| e.to_string())?;
    Ok((environment, public, secrets))
}

/// Names, verifies, saves and reports the candidates of any import (module docs).
#[allow(clippy::too_many_arguments)]
pub fn finish(
    ctx: &Context,
    store: &mut Store,
    target: &str,
    source: &str,
    candidates: Vec<Candidate>,
    mut left: Vec<Left>,
    on_conflict: Option<OnConflict>,
    no_verify: bool,
    reporting: Reporting,
) -> Result<(), CliError> {
    let now = clock::now();
    let existing = store.snapshot().workspace_by_name(target).ok().cloned();
    note!(
        "{source}: {} credential(s) to check for workspace '{target}'{}",
        candidates.len(),
        if existing.is_none() {
            " (created if any is added)"
        } else {
            ""
        }
    );
    // Names: one taken in the workspace, or by an earlier entry of this import, is skipped or
    // renamed as the user says.
    let stored: Vec<(String, String)> = existing.as_ref().map_or_else(Vec::new, |w| {
        store
            .snapshot()
            .credentials_in(&w.id)
            .map(|c| (c.component.clone(), c.name.clone()))
            .collect()
    });
    let conflicts: Vec<String> = candidates
        .iter()
        .filter(|c| {
            stored.iter().any(|(comp, name)| {
                *comp == c.credential.component && same_name(name, &c.credential.name)
            })
        })
        .map(|c| format!("{}/{}", c.credential.component, c.credential.name))
        .collect();
    // A skip the user asked for (here or at the prompt) is no failure of the import.
    let (choice, chosen) = match (conflicts.is_empty(), on_conflict) {
        (_, Some(choice)) => (choice, true),
        (true, None) => (OnConflict::Skip, false),
        (false, None) => (ask_conflict(&conflicts)?, true),
    };
    let workspace_id = existing.as_ref().map_or_else(fresh_id, |w| w.id.clone());
    let mut taken = stored;
    let mut planned: Vec<Candidate> = Vec::new();
    for mut c in candidates {
        let component = c.credential.component.clone();
        let is_taken = |name: &str, taken: &[(String, String)]| {
            taken
                .iter()
                .any(|(comp, n)| *comp == component && same_name(n, name))
        };
        if is_taken(&c.credential.name, &taken) {
            if choice == OnConflict::Skip {
                left.push(Left {
                    label: c.label,
                    why: NotAdded::Skipped { by_choice: chosen },
                    reason: format!(
                        "the name '{}' is taken in workspace '{target}'{}",
                        c.credential.name,
                        if chosen {
                            ""
                        } else {
                            " by another entry of this import; pass --on-conflict rename to keep both"
                        }
                    ),
                });
                continue;
            }
            let mut n = 2;
            while is_taken(&format!("{}-{n}", c.credential.name), &taken) {
                n += 1;
            }
            c.credential.name = format!("{}-{n}", c.credential.name);
        }
        taken.push((component, c.credential.name.clone()));
        c.credential.workspace = workspace_id.clone();
        planned.push(c);
    }

    // Verify (nothing invalid is saved), or mark unverified on request.
    let mut accepted: Vec<Candidate> = Vec::new();
    if no_verify {
        for mut c in planned {
            let result = Verification::unverified(
                "Imported without verification (--no-verify).".into(),
                now,
            );
            c.history.insert(0, result);
            accepted.push(c);
        }
    } else if !planned.is_empty() {
        let verifier = ctx.verifier()?;
        let items: Vec<_> = planned
            .iter()
            .filter_map(|c| {
                ctx.catalog
                    .get(&c.credential.component)
                    .map(|comp| (comp, &c.credential))
            })
            .collect();
        let outcomes = runtime()?.block_on(verify_all(
            &verifier,
            ctx.config.verify.concurrency,
            &items,
            now,
            |_| {},
        ));
        for (mut c, outcome) in planned.into_iter().zip(outcomes) {
            // The same rule as every other save; an import offers no "save unverified".
            let (why, reason) = match decide(
                outcome.to_verification(now),
                outcome.host_key_to_confirm.as_deref(),
                false,
            ) {
                SaveDecision::Save(result) => {
                    crate::store::accept(
                        &mut c.credential,
                        result.clone(),
                        outcome.tokens.as_ref(),
                        now,
                    );
                    c.history.insert(0, result);
                    accepted.push(c);
                    continue;
                }
                SaveDecision::Refuse { reason, .. } => (NotAdded::Rejected, reason),
                SaveDecision::Unreachable { reason } => (NotAdded::Unreachable, reason),
                // An import cannot ask: the entry waits for its host key to be given.
                SaveDecision::ConfirmHostKey {
                    fingerprint,
                    reason,
                } => (
                    NotAdded::Rejected,
                    format!(
                        "{reason} If it is, import it with {HOST_KEY_FIELD} = {fingerprint}, or add it with --field {HOST_KEY_FIELD}={fingerprint}"
                    ),
                ),
            };
            left.push(Left {
                label: c.label,
                why,
                reason,
            });
        }
    }
    if existing.is_none() && !accepted.is_empty() {
        let w = store.add_workspace(target, now)?;
        for c in &mut accepted {
            c.credential.workspace = w.id.clone();
        }
    }
    let added: Vec<(String, String, String)> = accepted
        .iter()
        .map(|c| {
            (
                c.label.clone(),
                c.credential.component.clone(),
                c.credential.name.clone(),
            )
        })
        .collect();
    if !accepted.is_empty() {
        store.save_credentials(
            accepted
                .into_iter()
                .map(|c| (c.credential, c.history))
                .collect(),
        )?;
    }
    report(target, source, &added, &left, reporting)?;
    let failed = left
        .iter()
        .any(|l| l.why != NotAdded::Skipped { by_choice: true });
    if failed {
        return Err(CliError::Silent(1));
    }
    Ok(())
}

/// The summary, printed once the change is durable.
fn report(
    target: &str,
    source: &str,
    added: &[(String, String, String)],
    left: &[Left],
    reporting: Reporting,
) -> Result<(), CliError> {
    let count = |kind: &str| left.iter().filter(|l| l.why.as_str() == kind).count();
    let counts = [
        ("rejected", count("rejected")),
        ("unreachable", count("unreachable")),
        ("unmappable", count("unmappable")),
        ("skipped", count("skipped")),
    ];
    if reporting.json {
        let mut entries: Vec<serde_json::Value> = added
            .iter()
            .map(|(label, component, name)| {
                json!({"entry": label, "outcome": "added", "component": component, "name": name, "reason": null})
            })
            .collect();
        entries.extend(left.iter().map(|l| {
            json!({"entry": l.label, "outcome": l.why.as_str(), "component": null, "name": null, "reason": l.reason})
        }));
        let mut summary = serde_json::Map::new();
        summary.insert("workspace".into(), json!(target));
        summary.insert("source".into(), json!(source));
        summary.insert("added".into(), json!(added.len()));
        for (kind, n) in counts {
            summary.insert(kind.into(), json!(n));
        }
        summary.insert("entries".into(), serde_json::Value::Array(entries));
        let text =
            serde_json::to_string_pretty(&serde_json::Value::Object(summary)).unwrap_or_default();
        return done!("{}", crate::core::text::for_json(&text));
    }
    done!(
        "Imported into workspace '{target}' from {source}: {} added, {}",
        added.len(),
        counts
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if reporting.verbose {
        for (label, component, name) in added {
            let shown = if *label == format!("{component}/{name}") || label == name {
                String::new()
            } else {
                format!(" (from {label})")
            };
            done!("  added        {component}/{name}{shown}")?;
        }
    }
    for l in left {
        done!("  {:<12} {}: {}", l.why.as_str(), l.label, l.reason)?;
    }
    Ok(())
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

/// The creation time an import keeps: one from the future or beyond what RFC 3339 can write is
/// the import's own.
pub fn kept_creation_time(created_at: Timestamp, now: Timestamp) -> Timestamp {
    Some(created_at)
        .filter(|t| t.is_rfc3339() && *t <= now)
        .unwrap_or(now)
}
