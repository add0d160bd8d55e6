//! `keyway init`, `passwd` and `workspace ...`.

use secrecy::ExposeSecret;
use serde_json::json;

use super::args::WorkspaceCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::clock;
use crate::store::Store;
use crate::vault::kdf::KdfParams;

pub fn init(ctx: &Context) -> Result<(), CliError> {
    if ctx.vault_path.exists() {
        return Err(crate::vault::VaultError::AlreadyExists(ctx.vault_path.clone()).into());
    }
    let pass = ctx.new_passphrase("KEYWAY_PASSPHRASE", "New vault passphrase: ")?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    Store::create(
        &ctx.vault_path,
        pass.expose_secret().as_bytes(),
        params,
        clock::now(),
    )?;
    done!(
        "Created vault {} (Argon2id m={} MiB, t={}, p={})",
        ctx.vault_path.display(),
        params.memory_kib / 1024,
        params.iterations,
        params.parallelism
    )?;
    Ok(())
}

pub fn passwd(ctx: &Context) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    let new = ctx.new_passphrase("KEYWAY_NEW_PASSPHRASE", "New passphrase: ")?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    store.change_passphrase(new.expose_secret().as_bytes(), params)?;
    done!("Passphrase changed for {}", ctx.vault_path.display())?;
    Ok(())
}

pub fn run(ctx: &Context, cmd: &WorkspaceCmd) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    match cmd {
        WorkspaceCmd::Add { name } => {
            store.add_workspace(name, clock::now())?;
            done!("Created workspace '{name}'")?;
        }
        WorkspaceCmd::Rename { name, new_name } => {
            let id = store.snapshot().workspace_by_name(name)?.id.clone();
            store.rename_workspace(&id, new_name)?;
            done!("Renamed workspace '{name}' to '{new_name}'")?;
        }
        WorkspaceCmd::Rm { name, force } => {
            let s = store.snapshot();
            let w = s.workspace_by_name(name)?;
            let (creds, flows) = (s.credentials_in(&w.id).count(), s.flows_in(&w.id).count());
            store.remove_workspace(name, *force)?;
            if creds + flows > 0 {
                done!("Deleted workspace '{name}' with {creds} credential(s) and {flows} flow(s)")?;
            } else {
                done!("Deleted workspace '{name}'")?;
            }
        }
        WorkspaceCmd::List { json } => {
            let s = store.snapshot();
            let mut list: Vec<_> = s.workspaces.iter().collect();
            list.sort_by(|a, b| a.name.cmp(&b.name));
            let rows: Vec<(String, usize, usize, String)> = list
                .iter()
                .map(|w| {
                    (
                        w.name.clone(),
                        s.credentials_in(&w.id).count(),
                        s.flows_in(&w.id).count(),
                        w.created_at.rfc3339(),
                    )
                })
                .collect();
            if *json {
                print_json(&serde_json::Value::Array(
                    rows.iter()
                        .map(|(n, c, f, t)| json!({"name": n, "credentials": c, "flows": f, "created_at": t}))
                        .collect(),
                ))?;
            } else if rows.is_empty() {
                say!("No workspaces yet: create one with `keyway workspace add NAME`")?;
            } else {
                print_table(
                    &["WORKSPACE", "CREDENTIALS", "FLOWS", "CREATED"],
                    &rows
                        .iter()
                        .map(|(n, c, f, t)| {
                            vec![n.clone(), c.to_string(), f.to_string(), t.clone()]
                        })
                        .collect::<Vec<_>>(),
                )?;
            }
        }
    }
    Ok(())
}
