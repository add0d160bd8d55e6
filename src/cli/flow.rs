//! `keyway flow ...`: flows as ordered (component, credential) steps, with the same rules as the
//! TUI: own workspace, own component, no active flow on a missing or failing credential.

use serde_json::json;

use super::args::FlowCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::clock;
use crate::core::names::same_name;
use crate::core::rules::PromotionChoice;
use crate::core::Snapshot;
use crate::core::{Environment, Flow, FlowStep, RecordId, RecordKind, Workspace};

/// Parses `COMPONENT=CREDENTIAL`.
fn parse_step(raw: &str) -> Result<(&str, &str), CliError> {
    raw.split_once('=')
        .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--step '{raw}' must look like COMPONENT=CREDENTIAL"
            ))
        })
}

/// Finds the credential a step names, explaining precisely why it cannot be used when it is
/// of another component or another workspace.
fn resolve_step(
    ctx: &Context,
    s: &Snapshot,
    workspace: &Workspace,
    component: &str,
    name: &str,
) -> Result<RecordId, CliError> {
    if ctx.catalog.get(component).is_none() {
        return Err(CliError::Usage(format!(
            "unknown component '{component}' (see `keyway component list`)"
        )));
    }
    if let Ok(c) = s.credential_by_name(workspace, name, Some(component)) {
        return Ok(c.id.clone());
    }
    if let Some(other) = s
        .credentials_in(&workspace.id)
        .find(|c| same_name(&c.name, name))
    {
        return Err(CliError::Refused(format!(
            "credential '{name}' is a {} credential and cannot be used for {component}",
            other.component
        )));
    }
    if let Some(other) = s
        .credentials
        .iter()
        .find(|c| same_name(&c.name, name) && c.component == component)
    {
        let owner = s
            .workspace(&other.workspace)
            .map_or("another workspace", |w| w.name.as_str());
        return Err(CliError::Refused(format!(
            "credential '{name}' belongs to workspace '{owner}'; a flow of '{}' can only use its own workspace's credentials",
            workspace.name
        )));
    }
    Err(CliError::Refused(format!(
        "workspace '{}' has no {component} credential named '{name}'",
        workspace.name
    )))
}

pub fn run(ctx: &Context, cmd: &FlowCmd) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    let now = clock::now();
    match cmd {
        FlowCmd::Add {
            workspace,
            name,
            env,
            steps,
            active,
        } => {
            let s = store.snapshot();
            let w = s.workspace_by_name(workspace)?.clone();
            let environment = Environment::parse(env).map_err(CliError::Usage)?;
            let mut resolved = Vec::new();
            for raw in steps {
                let (component, cred) = parse_step(raw)?;
                resolved.push(FlowStep {
                    component: component.to_string(),
                    credential: resolve_step(ctx, s, &w, component, cred)?,
                });
            }
            store.add_flow(&w.id, name, environment, resolved, *active, now)?;
            done!(
                "Created {} flow '{name}' in workspace '{workspace}'",
                if *active { "active" } else { "inactive" }
            )?;
        }
        FlowCmd::List { workspace, json } => {
            list(ctx, store.snapshot(), workspace.as_deref(), *json)?
        }
        FlowCmd::Activate {
            workspace,
            name,
            expect,
        }
        | FlowCmd::Deactivate {
            workspace,
            name,
            expect,
        } => {
            let active = matches!(cmd, FlowCmd::Activate { .. });
            let id = flow_id(store.snapshot(), workspace, name)?;
            if let Some(n) = expect.revision {
                store.expect_revision(RecordKind::Flow, &id, n)?;
            }
            store.set_flow_active(&id, active, now)?;
            done!(
                "Flow '{name}' is now {}",
                if active { "active" } else { "inactive" }
            )?;
        }
        FlowCmd::Rm {
            workspace,
            name,
            expect,
        } => {
            let id = flow_id(store.snapshot(), workspace, name)?;
            if let Some(n) = expect.revision {
                store.expect_revision(RecordKind::Flow, &id, n)?;
            }
            store.remove_flow(&id)?;
            done!("Deleted flow '{name}'")?;
        }
        FlowCmd::Rebind {
            workspace,
            name,
            steps,
            expect,
        } => {
            let id = flow_id(store.snapshot(), workspace, name)?;
            if let Some(n) = expect.revision {
                store.expect_revision(RecordKind::Flow, &id, n)?;
            }
            for raw in steps {
                let (component, cred) = parse_step(raw)?;
                let s = store.snapshot();
                let w = s.workspace_by_name(workspace)?.clone();
                let cred_id = resolve_step(ctx, s, &w, component, cred)?;
                store.rebind_flow(&id, component, &cred_id, now)?;
                done!("Flow '{name}': {component} now uses '{cred}'")?;
            }
        }
        FlowCmd::Promote {
            workspace,
            name,
            steps,
            move_flow,
            to,
            new_name,
        } => {
            let s = store.snapshot();
            let w = s.workspace_by_name(workspace)?.clone();
            let flow = s.flow_by_name(&w, name)?.clone();
            let target = Environment::parse(to).map_err(CliError::Usage)?;
            let mut chosen = std::collections::HashMap::new();
            for raw in steps {
                let (component, cred) = parse_step(raw)?;
                chosen.insert(
                    component.to_string(),
                    resolve_step(ctx, s, &w, component, cred)?,
                );
            }
            let mut bindings = Vec::new();
            for step in s.plan_promotion(&flow, &target) {
                if let Some(id) = chosen.get(&step.component) {
                    bindings.push(id.clone());
                    continue;
                }
                let names = |ids: &[RecordId]| {
                    ids.iter()
                        .filter_map(|id| s.credential(id).map(|c| format!("'{}'", c.name)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match step.choice {
                    PromotionChoice::Automatic(id) => bindings.push(id),
                    PromotionChoice::Ask(ids) => {
                        return Err(CliError::Refused(format!(
                            "{} has several {target} credentials ({}): choose one with --step {}=NAME",
                            step.component,
                            names(&ids),
                            step.component
                        )))
                    }
                    PromotionChoice::NoCredential => {
                        return Err(CliError::Refused(format!(
                            "{} has no {target} credential in workspace '{workspace}': add one with `keyway credential add -w {workspace} -c {} --env {target} ...` or pass --step {}=NAME",
                            step.component, step.component, step.component
                        )))
                    }
                }
            }
            let copy_name = match (new_name, move_flow) {
                (Some(n), _) => n.clone(),
                (None, true) => flow.name.clone(),
                (None, false) => format!("{}-{}", flow.name, target),
            };
            let promoted = store.promote_flow(
                &flow.id,
                target.clone(),
                bindings,
                &copy_name,
                *move_flow,
                now,
            )?;
            done!(
                "{} flow '{name}' to {target} as '{}'{}",
                if *move_flow { "Moved" } else { "Promoted" },
                promoted.name,
                if flow.active && !promoted.active {
                    " (inactive: a production credential is failing)"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}

fn flow_id(s: &Snapshot, workspace: &str, name: &str) -> Result<RecordId, CliError> {
    let w = s.workspace_by_name(workspace)?;
    Ok(s.flow_by_name(w, name)?.id.clone())
}

fn list(
    ctx: &Context,
    s: &Snapshot,
    workspace: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let ws = match workspace {
        Some(name) => Some(s.workspace_by_name(name)?.id.clone()),
        None => None,
    };
    let mut flows: Vec<&Flow> = s
        .flows
        .iter()
        .filter(|f| ws.as_ref().is_none_or(|w| &f.workspace == w))
        .collect();
    let ws_name = |f: &Flow| {
        s.workspace(&f.workspace)
            .map_or(String::new(), |w| w.name.clone())
    };
    flows.sort_by_key(|f| (ws_name(f), f.name.clone()));
    let describe = |f: &Flow| {
        let failing = s.failing_steps(f);
        f.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let cred = s.credential(&step.credential);
                (
                    step.component.clone(),
                    ctx.catalog.display_name(&step.component).to_string(),
                    cred.map_or("(missing)".to_string(), |c| c.name.clone()),
                    cred.map_or("missing", |c| c.status_word()),
                    failing.contains(&i),
                )
            })
            .collect::<Vec<_>>()
    };
    if as_json {
        print_json(&serde_json::Value::Array(
            flows
                .iter()
                .map(|f| {
                    let mut v = json!({
                        "workspace": ws_name(f), "name": f.name, "environment": f.environment.as_str(),
                        "active": f.active, "updated_at": f.updated_at.rfc3339(),
                        "steps": describe(f).into_iter().map(|(id, _, cred, status, failing)| json!({
                            "component": id, "credential": cred, "status": status, "failing": failing,
                        })).collect::<Vec<_>>(),
                    });
                    super::output::add_revision(&mut v, &f.revision);
                    v
                })
                .collect(),
        ))?;
        return Ok(());
    }
    if flows.is_empty() {
        say!("No flows.")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = flows
        .iter()
        .map(|f| {
            vec![
                ws_name(f),
                f.name.clone(),
                f.environment.to_string(),
                if f.active { "active" } else { "inactive" }.to_string(),
                describe(f)
                    .into_iter()
                    .map(|(_, comp, cred, _, failing)| {
                        format!("{comp}:{cred}{}", if failing { " (!)" } else { "" })
                    })
                    .collect::<Vec<_>>()
                    .join(" -> "),
            ]
        })
        .collect();
    print_table(
        &["WORKSPACE", "FLOW", "ENVIRONMENT", "STATE", "STEPS"],
        &rows,
    )?;
    Ok(())
}
