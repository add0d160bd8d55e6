//! `keyway credential verify` and `keyway audit`: re-verify stored credentials through the pool,
//! record every result, report a table (or JSON), and exit 1 when anything is not verified.

use std::io::IsTerminal;

use serde_json::json;

use super::args::AuditFormat;
use super::context::{runtime, Context};
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::audit::verify_and_record;
use crate::clock;
use crate::core::expiry::{self, ExpiryState};
use crate::core::rotation::{self, Resolution};
use crate::core::time::span;
use crate::core::{Credential, RecordId, Status, TlsState};
use crate::verify::{Outcome, Progress};

/// Which credentials to check.
pub enum Scope<'a> {
    One {
        workspace: &'a str,
        name: &'a str,
        component: Option<&'a str>,
    },
    Workspace(&'a str),
    All,
}

pub fn run(
    ctx: &Context,
    scope: Scope<'_>,
    format: AuditFormat,
    fail_on_expiring: Option<u64>,
    output: Option<&std::path::Path>,
    fail_on_password_age: Option<u64>,
) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    // A team vault's change log is part of what an audit vouches for: a broken chain exits 1,
    // naming the first bad entry.
    store.vault().change_log()?;
    let snapshot = store.snapshot();
    let targets: Vec<&Credential> = match scope {
        Scope::One {
            workspace,
            name,
            component,
        } => {
            let w = snapshot.workspace_by_name(workspace)?;
            vec![snapshot.credential_by_name(w, name, component)?]
        }
        Scope::Workspace(workspace) => {
            let w = snapshot.workspace_by_name(workspace)?;
            snapshot.credentials_in(&w.id).collect()
        }
        Scope::All => snapshot.credentials.iter().collect(),
    };
    let mut items = Vec::new();
    // Every target's workspace, component, name and environment, and its id, in target order.
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut ids: Vec<RecordId> = Vec::new();
    // Component ids and, for the unchecked, when they were last checked (the metrics' labels
    // and timestamps).
    let mut component_ids: Vec<String> = Vec::new();
    let mut previously_checked: Vec<Option<i64>> = Vec::new();
    // Targets whose component definition is gone (its user file removed or broken): they cannot
    // be checked, which is a problem the audit reports and fails on. Nothing is recorded for
    // them: their history keeps what the last real check found.
    let mut unchecked: Vec<Option<Outcome>> = Vec::new();
    for c in &targets {
        let component = ctx.catalog.get(&c.component);
        rows.push((
            snapshot
                .workspace(&c.workspace)
                .map_or(String::new(), |w| w.name.clone()),
            ctx.catalog.display_name(&c.component).to_string(),
            c.name.clone(),
            c.environment.to_string(),
        ));
        ids.push(c.id.clone());
        component_ids.push(c.component.clone());
        previously_checked.push(c.last_verification.as_ref().map(|v| v.at.0));
        match component {
            Some(comp) => {
                items.push((comp, c.id.clone()));
                unchecked.push(None);
            }
            None => unchecked.push(Some(Outcome {
                status: Status::Misconfigured,
                reason: format!(
                    "Component '{}' is not in the catalogue (its definition file was removed or could not be loaded), so this credential cannot be checked.",
                    c.component
                ),
                detail: None,
                latency: std::time::Duration::ZERO,
                tls: None,
                tokens: None,
                host_key_to_confirm: None,
            })),
        }
    }
    let verifier = ctx.verifier()?;
    let rt = runtime()?;
    // A password rotation interrupted before (a crash, a kill): settled before the check, so
    // what is checked is the password that works.
    let resolved = crate::rotate::resolve_interrupted(rt.handle(), &mut store, &verifier, &items)?;
    for (name, resolution) in &resolved.settled {
        let what = match resolution {
            Resolution::TakePending => "the server had taken the new password, now current",
            _ => "the server kept the current password, which stays",
        };
        note!("{name}: rotation interrupted, resolved: {what}");
    }
    for name in &resolved.in_progress {
        note!("{name}: a password rotation is in progress in another keyway process");
    }
    let now = clock::now();
    let show_progress = std::io::stderr().is_terminal() && items.len() > 1;
    let (checked, recorded): (Vec<Outcome>, _) = verify_and_record(
        &rt,
        &mut store,
        &verifier,
        ctx.config.verify.concurrency,
        &items,
        now,
        |p: Progress<'_>| {
            if show_progress {
                super::output::progress(&format!("verifying {}/{} ", p.done, p.total));
            }
        },
    )?;
    if show_progress {
        note!("");
    }
    // For each row: None when it was checked now, Some(when it was last checked) when not.
    let unchecked_at: Vec<Option<Option<i64>>> = unchecked
        .iter()
        .zip(&previously_checked)
        .map(|(u, before)| u.as_ref().map(|_| *before))
        .collect();
    let mut checked = checked.into_iter();
    let outcomes: Vec<Outcome> = unchecked
        .into_iter()
        .filter_map(|u| u.or_else(|| checked.next()))
        .collect();
    // A credential changed while it was checked: the check was of the old revision, so its
    // result was not recorded and says nothing of the one stored now.
    let stale: foldhash::HashSet<&RecordId> = recorded.stale.iter().collect();
    let changed: Vec<bool> = ids.iter().map(|id| stale.contains(id)).collect();
    const CHANGED: &str = "changed";
    const CHANGED_REASON: &str =
        "Changed by another process while it was being checked; the result was not recorded: audit it again.";
    let status_of = |i: usize, o: &Outcome| {
        if changed[i] {
            (CHANGED, CHANGED_REASON.to_string())
        } else {
            (o.status.as_str(), o.reason.clone())
        }
    };

    // Expiry is read after recording: a refresh during verification moves it.
    let warn_days = fail_on_expiring.unwrap_or(ctx.config.audit.expiry_warning_days);
    let window = expiry::warning_window(warn_days);
    // One index, not a scan of the snapshot per row (an audit of everything is n rows).
    let after: foldhash::HashMap<&RecordId, &Credential> = store
        .snapshot()
        .credentials
        .iter()
        .map(|c| (&c.id, c))
        .collect();
    let expiries: Vec<(ExpiryState, Option<String>, Option<String>)> = ids
        .iter()
        .map(|id| match after.get(id) {
            Some(c) => (
                expiry::expiry_state(c, now, window),
                expiry::expires_at(c).map(|t| t.rfc3339()),
                expiry::refresh_expires_at(c).map(|t| t.rfc3339()),
            ),
            None => (ExpiryState::None, None, None),
        })
        .collect();
    let expiring = expiries
        .iter()
        .filter(|(e, ..)| e.needs_attention())
        .count();
    // Password age (None: no password field), and a rotation still pending.
    let passwords: Vec<(Option<u64>, bool)> = ids
        .iter()
        .map(|id| match after.get(id) {
            Some(c) if c.secrets.contains(rotation::PASSWORD_FIELD) => (
                Some(rotation::password_age(c, now)),
                c.pending_rotation.is_some(),
            ),
            Some(c) => (None, c.pending_rotation.is_some()),
            None => (None, false),
        })
        .collect();
    let mut old_passwords: Vec<&str> = match fail_on_password_age {
        Some(limit) => rows
            .iter()
            .zip(&passwords)
            .filter(|(_, (age, _))| age.is_some_and(|a| a > limit))
            .map(|((_, _, name, _), _)| name.as_str())
            .collect(),
        None => Vec::new(),
    };
    old_passwords.sort_unstable();

    let problems = outcomes
        .iter()
        .zip(&changed)
        .filter(|(o, changed)| o.status != Status::Verified || **changed)
        .count();
    if format == AuditFormat::Prometheus {
        let samples: Vec<super::metrics::Sample<'_>> = rows
            .iter()
            .zip(&component_ids)
            .zip(&outcomes)
            .zip(unchecked_at.iter().zip(&expiries))
            .map(
                |((((ws, _, name, env), component), o), (checked, (state, ..)))| {
                    super::metrics::Sample {
                        workspace: ws,
                        component,
                        credential: name,
                        environment: env,
                        status: o.status,
                        last_verified: checked.unwrap_or(Some(now.0)),
                        expiry: state.at().map(|t| t.0),
                    }
                },
            )
            .collect();
        let text = super::metrics::render(&samples, now.0);
        match output {
            Some(path) => super::metrics::write_atomically(path, &text)?,
            None => super::output::report_line(text.trim_end_matches('\n'))?,
        }
    } else if format == AuditFormat::Json {
        print_json(&serde_json::Value::Array(
            rows.iter()
                .zip(&outcomes)
                .zip(&expiries)
                .enumerate()
                .map(|(i, (((ws, comp, name, env), o), (state, expires_at, refresh_expires_at)))| {
                    let expires_in_secs = state.at().map(|at| at.0 - now.0);
                    let (status, reason) = status_of(i, o);
                    let (password_age, rotation_pending) = passwords[i];
                    json!({
                        "password_age_secs": password_age, "rotation_pending": rotation_pending,
                        "workspace": ws, "component": comp, "credential": name, "environment": env,
                        "status": status, "reason": reason, "detail": o.detail,
                        "tls": o.tls.map(TlsState::as_str),
                        "latency_ms": o.latency.as_millis() as u64, "verified_at": now.rfc3339(),
                        "expires_at": expires_at, "refresh_expires_at": refresh_expires_at,
                        "expiry_state": state.as_str(), "expires_in_secs": expires_in_secs,
                    })
                })
                .collect(),
        ))?;
    } else if rows.is_empty() {
        say!("No credentials to verify.")?;
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .zip(&outcomes)
            .zip(&expiries)
            .enumerate()
            .map(|(i, (((ws, comp, name, env), o), (state, ..)))| {
                let (status, reason) = status_of(i, o);
                vec![
                    ws.clone(),
                    comp.clone(),
                    name.clone(),
                    env.clone(),
                    status.to_string(),
                    reason,
                    format!("{} ms", o.latency.as_millis()),
                    now.rfc3339(),
                    match state {
                        ExpiryState::None => "-".to_string(),
                        other => other.text_at(now),
                    },
                    match passwords[i] {
                        (_, true) => "rotation pending".to_string(),
                        (Some(age), false) => span(age),
                        (None, false) => "-".to_string(),
                    },
                ]
            })
            .collect();
        print_table(
            &[
                "WORKSPACE",
                "COMPONENT",
                "CREDENTIAL",
                "ENVIRONMENT",
                "STATUS",
                "REASON",
                "LATENCY",
                "LAST VERIFIED",
                "EXPIRES",
                "PASSWORD AGE",
            ],
            &table,
        )?;
        say!(
            "\n{} verified, {} not verified, {} expiring within {} days",
            outcomes.len() - problems,
            problems,
            expiring,
            warn_days
        )?;
        let unchecked: Vec<&str> = rows
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o.tls == Some(TlsState::Unchecked))
            .map(|((_, _, name, _), _)| name.as_str())
            .collect();
        if !unchecked.is_empty() {
            say!(
                "warning: {} verified over TLS without checking the server certificate (sslmode = require without ssl_ca): {}",
                unchecked.len(),
                unchecked.join(", ")
            )?;
        }
    }
    if !old_passwords.is_empty() && format != AuditFormat::Json {
        note!(
            "{} password(s) older than the --fail-on-password-age limit: {} (keyway credential rotate)",
            old_passwords.len(),
            old_passwords.join(", ")
        );
    }
    if problems > 0 || (fail_on_expiring.is_some() && expiring > 0) || !old_passwords.is_empty() {
        return Err(CliError::Silent(1));
    }
    Ok(())
}
