//! `keyway init`, `passwd`, `rekey` and `workspace ...`.

use secrecy::ExposeSecret;
use serde_json::json;

use super::args::WorkspaceCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::clock;
use crate::core::RecordKind;
use crate::store::Store;
use crate::vault::kdf::KdfParams;

/// `keyway init [--url URL]`: a new vault file, or a team vault in the database `url` names.
pub fn init(ctx: &Context, url: Option<&str>, member: Option<&str>) -> Result<(), CliError> {
    let location = match url {
        Some(url) if !crate::vault::is_team_vault(std::path::Path::new(url)) => {
            return Err(CliError::Usage(format!(
                "--url takes a postgresql:// URL, not '{url}'"
            )))
        }
        Some(url) => std::path::PathBuf::from(url),
        None => ctx.vault_path.clone(),
    };
    if let Some(problem) = crate::vault::occupied(&location) {
        return Err(problem.into());
    }
    if crate::vault::is_team_vault(&location) {
        return init_team(ctx, &location, member);
    }
    let pass = ctx.new_passphrase("KEYWAY_PASSPHRASE", "New vault passphrase: ")?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    let store = Store::create_with(
        &location,
        pass.expose_secret().as_bytes(),
        params,
        clock::now(),
        &ctx.vault_options_for(&location)?,
    )?;
    done!(
        "Created vault {} (Argon2id m={} MiB, t={}, p={})",
        store.vault().path().display(),
        params.memory_kib / 1024,
        params.iterations,
        params.parallelism
    )?;
    Ok(())
}

/// A team vault with this host's identity (created if it has none, or a machine's with
/// --identity) as its first member.
fn init_team(ctx: &Context, url: &std::path::Path, member: Option<&str>) -> Result<(), CliError> {
    let (store, name, id) = create_team_store(ctx, url, member)?;
    done!(
        "Created team vault {} with member '{name}' ({})",
        store.vault().path().display(),
        crate::vault::identity::public_key(&id)
    )?;
    Ok(())
}

/// A new team vault at `url` whose first member is this host's identity (created if it has
/// none) or the machine identity of --identity: the store, the member's name and identity.
pub fn create_team_store(
    ctx: &Context,
    url: &std::path::Path,
    member: Option<&str>,
) -> Result<(Store, String, age::x25519::Identity), CliError> {
    use crate::vault::{identity, IdentitySource};
    let name = match member {
        Some(name) => name.to_string(),
        None => crate::vault::writer_name().map_err(CliError::Usage)?,
    };
    crate::core::names::check_name("member", &name).map_err(CliError::Usage)?;
    let (id, kind) = match ctx.identity_source() {
        IdentitySource::Machine(file) => (
            identity::open_machine(&file).map_err(crate::vault::VaultError::from)?,
            "machine",
        ),
        IdentitySource::Sealed(path) => {
            if identity::sealed_public_key(&path)
                .map_err(crate::vault::VaultError::from)?
                .is_none()
            {
                super::member::create_host_identity(ctx, &path)?;
            }
            let pass = ctx.passphrase("Passphrase of this host's identity: ")?;
            (
                identity::open_sealed(&path, pass.expose_secret().as_bytes())
                    .map_err(crate::vault::VaultError::from)?,
                "person",
            )
        }
        IdentitySource::None => {
            return Err(CliError::Usage(
                "cannot find a config directory for this host's identity: pass --identity FILE"
                    .into(),
            ))
        }
    };
    let info = crate::vault::keyslot::MemberInfo {
        name: name.clone(),
        kind: kind.into(),
        added_at: clock::now().0,
    };
    let store = Store::create_team(url, &id, info, &ctx.vault_options_for(url)?)?;
    Ok((store, name, id))
}

pub fn passwd(ctx: &Context) -> Result<(), CliError> {
    if crate::vault::is_team_vault(&ctx.vault_path) {
        return Err(CliError::Usage(
            "a team vault has no passphrase of its own: each member's passphrase protects their identity on their host".into(),
        ));
    }
    let mut store = ctx.open_store_by_passphrase()?;
    let new = ctx.new_passphrase("KEYWAY_NEW_PASSPHRASE", "New passphrase: ")?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    store.change_passphrase(new.expose_secret().as_bytes(), params)?;
    // A session holds the key under the old passphrase: it ends with it.
    drop(store);
    crate::session::end_agent_of(&ctx.vault_path);
    done!("Passphrase changed for {}", ctx.vault_path.display())?;
    Ok(())
}

/// A new data key, every record re-encrypted under it; the passphrase (from the usual source)
/// stays what it was.
pub fn rekey(ctx: &Context) -> Result<(), CliError> {
    crate::vault::check_path(&ctx.vault_path)?;
    if crate::vault::is_team_vault(&ctx.vault_path) {
        let mut store = ctx.open_store_by_passphrase()?;
        store.rekey_team()?;
        drop(store);
        crate::session::end_agent_of(&ctx.vault_path);
        done!(
            "Re-keyed {}: every record is encrypted under a new data key, wrapped again for every member",
            ctx.vault_path.display()
        )?;
        return Ok(());
    }
    let pass = ctx.passphrase("Vault passphrase: ")?;
    let mut store = Store::open_with(
        &ctx.vault_path,
        crate::vault::Unlock::Passphrase(pass.expose_secret().as_bytes()),
        &ctx.vault_options(),
    )?;
    store.rekey(pass.expose_secret().as_bytes())?;
    // A session holds the old key: it ends with it (and would be refused as stale anyway).
    drop(store);
    crate::session::end_agent_of(&ctx.vault_path);
    done!(
        "Re-keyed {}: every record is encrypted under a new data key; the passphrase is unchanged",
        ctx.vault_path.display()
    )?;
    Ok(())
}

pub fn run(ctx: &Context, cmd: &WorkspaceCmd) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    match cmd {
        WorkspaceCmd::Add { name } => {
            store.add_workspace(name, clock::now())?;
            done!("Created workspace '{name}'")?;
        }
        WorkspaceCmd::Rename {
            name,
            new_name,
            expect,
        } => {
            let id = store.snapshot().workspace_by_name(name)?.id.clone();
            if let Some(n) = expect.revision {
                store.expect_revision(RecordKind::Workspace, &id, n)?;
            }
            store.rename_workspace(&id, new_name)?;
            done!("Renamed workspace '{name}' to '{new_name}'")?;
        }
        WorkspaceCmd::Rm {
            name,
            force,
            expect,
        } => {
            let s = store.snapshot();
            let w = s.workspace_by_name(name)?;
            if let Some(n) = expect.revision {
                store.expect_revision(RecordKind::Workspace, &w.id, n)?;
            }
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
            // One pass over the records, not one per workspace.
            let mut counts: std::collections::HashMap<&crate::core::RecordId, (usize, usize)> =
                std::collections::HashMap::new();
            for c in &s.credentials {
                counts.entry(&c.workspace).or_default().0 += 1;
            }
            for f in &s.flows {
                counts.entry(&f.workspace).or_default().1 += 1;
            }
            let rows: Vec<(String, usize, usize, String)> = list
                .iter()
                .map(|w| {
                    let (c, f) = counts.get(&w.id).copied().unwrap_or_default();
                    (w.name.clone(), c, f, w.created_at.rfc3339())
                })
                .collect();
            if *json {
                print_json(&serde_json::Value::Array(
                    rows.iter()
                        .zip(&list)
                        .map(|((n, c, f, t), w)| {
                            let mut v =
                                json!({"name": n, "credentials": c, "flows": f, "created_at": t});
                            super::output::add_revision(&mut v, &w.revision);
                            v
                        })
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
