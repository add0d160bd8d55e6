//! `keyway credential rotate`: one credential by name, or every rotatable one of a workspace
//! whose password is older than a span. The steps and their rules are rotate.rs's; this prints
//! a line on stderr as each step starts (`rotate: step N/5 ...`) and the outcome on stdout.

use super::context::{runtime, Context};
use super::error::CliError;
use super::output::print_table;
use crate::clock;
use crate::core::rotation::{self, password_age};
use crate::core::time::span;
use crate::core::{Credential, RecordId};
use crate::rotate::{rotate_one, take_lock, Step, Target};
use crate::store::Store;
use crate::verify::Verifier;

fn check_length(length: usize) -> Result<(), CliError> {
    rotation::check_length(length).map_err(CliError::Usage)
}

/// Rotates one credential and reports it; the error says why not.
fn rotate_and_report(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
    verifier: &Verifier,
    id: &RecordId,
    length: usize,
    lock: &crate::vault::rotation_lock::RotationLock,
) -> Result<(), CliError> {
    let c = store
        .snapshot()
        .credential(id)
        .cloned()
        .ok_or_else(|| CliError::Refused(format!("credential {id} is gone")))?;
    let component = ctx
        .catalog
        .get(&c.component)
        .ok_or_else(|| {
            CliError::Refused(format!(
                "component '{}' is not in the catalogue",
                c.component
            ))
        })?
        .clone();
    let mut progress = |step: Step| {
        note!("rotate: step {}/5 {}", step.number(), step.describe());
    };
    let target = Target {
        component: &component,
        id,
        length,
    };
    let rotated = rotate_one(rt.handle(), store, verifier, target, lock, &mut progress)?;
    done!(
        "Rotated {} credential '{}': a new {length}-character password is set on the server, verified and saved. {}",
        component.name,
        c.name,
        rotated.reason
    )?;
    if rotated.active_flows.is_empty() {
        done!("No active flow uses it.")?;
    } else {
        done!(
            "Active flows using it (they get the new password; nothing to rebind): {}",
            rotated.active_flows.join(", ")
        )?;
    }
    Ok(())
}

pub fn one(
    ctx: &Context,
    workspace: &str,
    name: &str,
    component: Option<&str>,
    length: usize,
) -> Result<(), CliError> {
    check_length(length)?;
    let mut store = ctx.open_store()?;
    let id = {
        let s = store.snapshot();
        let w = s.workspace_by_name(workspace)?;
        s.credential_by_name(w, name, component)?.id.clone()
    };
    let verifier = ctx.verifier()?;
    let rt = runtime()?;
    let lock = take_lock(&store)?;
    rotate_and_report(ctx, &rt, &mut store, &verifier, &id, length, &lock)
}

pub fn older_than(
    ctx: &Context,
    workspace: &str,
    span_text: &str,
    component: Option<&str>,
    length: usize,
    dry_run: bool,
) -> Result<(), CliError> {
    check_length(length)?;
    let limit = rotation::parse_span(span_text).map_err(CliError::Usage)?;
    if let Some(c) = component {
        if ctx.catalog.get(c).is_none() {
            return Err(CliError::Usage(format!(
                "unknown component '{c}' (see `keyway component list`)"
            )));
        }
    }
    let mut store = ctx.open_store()?;
    let now = clock::now();
    let due: Vec<(RecordId, String, u64)> = {
        let s = store.snapshot();
        let w = s.workspace_by_name(workspace)?;
        let mut due: Vec<&Credential> = s
            .credentials_in(&w.id)
            .filter(|c| component.is_none_or(|comp| c.component == comp))
            .filter(|c| {
                ctx.catalog
                    .get(&c.component)
                    .is_some_and(rotation::is_rotatable)
            })
            .filter(|c| rotation::is_older_than(c, limit, now))
            .collect();
        due.sort_by(|a, b| (&a.component, &a.name).cmp(&(&b.component, &b.name)));
        due.iter()
            .map(|c| (c.id.clone(), c.name.clone(), password_age(c, now)))
            .collect()
    };
    if due.is_empty() {
        say!("No password in workspace '{workspace}' is older than {span_text}.")?;
        return Ok(());
    }
    if dry_run {
        let rows: Vec<Vec<String>> = due
            .iter()
            .map(|(_, name, age)| vec![name.clone(), span(*age)])
            .collect();
        say!(
            "Would rotate {} credential(s) (--dry-run: nothing changed):",
            due.len()
        )?;
        print_table(&["CREDENTIAL", "PASSWORD AGE"], &rows)?;
        return Ok(());
    }
    let verifier = ctx.verifier()?;
    let rt = runtime()?;
    let lock = take_lock(&store)?;
    let mut failed = Vec::new();
    for (id, name, _) in &due {
        if let Err(e) = rotate_and_report(ctx, &rt, &mut store, &verifier, id, length, &lock) {
            // One credential's failure does not stop the others; each says why.
            note!("error: {e}");
            failed.push(name.clone());
        }
    }
    if failed.is_empty() {
        done!("Rotated {} credential(s).", due.len())?;
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "{} of {} credential(s) not rotated: {}",
            failed.len(),
            due.len(),
            failed.join(", ")
        )))
    }
}
