//! `keyway credential list | show | rm` (add, edit, verify and login live in save.rs/verify.rs).

use super::args::CredentialRef;
use super::context::Context;
use super::error::CliError;
use super::output::{credential_json, print_json, print_table};
use crate::clock;
use crate::core::pem::one_line;
use crate::core::secret::MASK;
use crate::core::Snapshot;
use crate::core::{Credential, RecordKind, TlsState};
use crate::store::Store;

/// Resolves `--workspace W NAME [--component C]` to a credential.
pub fn find<'a>(
    snapshot: &'a Snapshot,
    target: &CredentialRef,
) -> Result<&'a Credential, CliError> {
    let w = snapshot.workspace_by_name(&target.workspace)?;
    Ok(snapshot.credential_by_name(w, &target.name, target.component.as_deref())?)
}

pub fn list(
    ctx: &Context,
    workspace: Option<&str>,
    component: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let s = store.snapshot();
    let ws_id = match workspace {
        Some(name) => Some(s.workspace_by_name(name)?.id.clone()),
        None => None,
    };
    if let Some(c) = component {
        if ctx.catalog.get(c).is_none() {
            return Err(CliError::Usage(format!(
                "unknown component '{c}' (see `keyway component list`)"
            )));
        }
    }
    let mut creds: Vec<&Credential> = s
        .credentials
        .iter()
        .filter(|c| ws_id.as_ref().is_none_or(|w| &c.workspace == w))
        .filter(|c| component.is_none_or(|comp| c.component == comp))
        .collect();
    let ws_name = |c: &Credential| {
        s.workspace(&c.workspace)
            .map_or(String::new(), |w| w.name.clone())
    };
    creds.sort_by(|a, b| {
        (ws_name(a), &a.component, &a.name).cmp(&(ws_name(b), &b.component, &b.name))
    });
    if as_json {
        print_json(&serde_json::Value::Array(
            creds
                .iter()
                .map(|c| credential_json(s, &ctx.catalog, c, false))
                .collect(),
        ))?;
        return Ok(());
    }
    if creds.is_empty() {
        say!("No credentials.")?;
        return Ok(());
    }
    let now = clock::now();
    let rows: Vec<Vec<String>> = creds
        .iter()
        .map(|c| {
            vec![
                ws_name(c),
                c.component.clone(),
                c.name.clone(),
                c.environment.to_string(),
                c.status_word().to_string(),
                c.last_verification
                    .as_ref()
                    .map_or("-".into(), |v| v.at.relative_to(now)),
            ]
        })
        .collect();
    print_table(
        &[
            "WORKSPACE",
            "COMPONENT",
            "NAME",
            "ENVIRONMENT",
            "STATUS",
            "VERIFIED",
        ],
        &rows,
    )?;
    Ok(())
}

pub fn show(
    ctx: &Context,
    target: &CredentialRef,
    as_json: bool,
    reveal: bool,
) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let s = store.snapshot();
    let c = find(s, target)?;
    let history = store.history(&c.id)?;
    if as_json {
        let mut v = credential_json(s, &ctx.catalog, c, reveal);
        v["history"] = serde_json::Value::Array(
            history
                .iter()
                .map(|h| {
                    // A run of identical results is one entry: `at` and `latency_ms` are its
                    // latest check's, `first_at` its first's, `checks` how many it holds.
                    serde_json::json!({
                        "at": h.at.rfc3339(), "status": h.status.as_str(),
                        "reason": h.reason, "detail": h.detail, "latency_ms": h.latency_ms,
                        "tls": h.tls.map(TlsState::as_str),
                        "checks": h.checks(), "first_at": h.first_at().rfc3339(),
                    })
                })
                .collect(),
        );
        print_json(&v)?;
        return Ok(());
    }
    let now = clock::now();
    let component = ctx.catalog.get(&c.component);
    say!(
        "{} / {} ({}) [{}]",
        target.workspace,
        c.name,
        ctx.catalog.display_name(&c.component),
        c.environment
    )?;
    match &c.last_verification {
        Some(v) => {
            say!(
                "status: {} {} - {}",
                v.status.as_str(),
                v.at.relative_to(now),
                v.reason
            )?;
            if let Some(tls) = v.tls {
                say!("tls: {}", tls.as_str())?;
            }
        }
        None => say!("status: never verified")?,
    }
    let mut rows = Vec::new();
    let order: Vec<String> = component
        .map(|x| x.fields.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = c
        .public
        .keys()
        .map(String::as_str)
        .chain(c.secrets.names())
        .collect();
    names.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
    for name in names {
        let value = match c.public.get(name) {
            Some(v) => one_line(v).into_owned(),
            None if reveal => one_line(c.secrets.expose(name).unwrap_or_default()).into_owned(),
            None => MASK.to_string(),
        };
        rows.push(vec![name.to_string(), value]);
    }
    print_table(&["FIELD", "VALUE"], &rows)?;
    if c.secrets.contains(crate::core::rotation::PASSWORD_FIELD) {
        let set_at = crate::core::rotation::password_set_at(c);
        say!(
            "password set: {} ({})",
            set_at.rfc3339(),
            set_at.relative_to(now)
        )?;
    }
    if let Some(p) = &c.pending_rotation {
        say!("{}", crate::rotate::pending_note(p))?;
    }
    let flows: Vec<&str> = s.flows_using(&c.id).map(|f| f.name.as_str()).collect();
    if !flows.is_empty() {
        say!("used by flows: {}", flows.join(", "))?;
    }
    if !history.is_empty() {
        say!("\nHISTORY")?;
        for h in &history {
            // The detail too: a run ends when it changes, so two neighbours may differ only there.
            let detail = h
                .detail
                .as_ref()
                .map_or(String::new(), |d| format!(" ({d})"));
            let run = match h.checks() {
                n if n > 1 => format!("  [{n} checks since {}]", h.first_at().rfc3339()),
                _ => String::new(),
            };
            say!(
                "  {}  {:<12} {}{detail}{run}",
                h.at.rfc3339(),
                h.status.as_str(),
                h.reason
            )?;
        }
    }
    Ok(())
}

pub fn remove(
    ctx: &Context,
    target: &CredentialRef,
    expect_revision: Option<u64>,
) -> Result<(), CliError> {
    let mut store: Store = ctx.open_store()?;
    let id = find(store.snapshot(), target)?.id.clone();
    if let Some(n) = expect_revision {
        store.expect_revision(RecordKind::Credential, &id, n)?;
    }
    store.remove_credential(&id)?;
    done!(
        "Deleted credential '{}' from workspace '{}'",
        target.name,
        target.workspace
    )?;
    Ok(())
}
