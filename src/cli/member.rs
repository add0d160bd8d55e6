//! `keyway member keygen|add|list|rm`: a team vault's members, each with an X25519 identity
//! of their own (vault/identity.rs) and a key slot in the vault (issue 15).

use std::path::Path;

use secrecy::ExposeSecret;
use serde_json::json;

use super::args::MemberCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::clock;
use crate::core::time::Timestamp;
use crate::vault::identity;
use crate::vault::kdf::KdfParams;
use crate::vault::keyslot::MemberInfo;
use crate::vault::IdentitySource;

pub fn run(ctx: &Context, cmd: &MemberCmd) -> Result<(), CliError> {
    match cmd {
        MemberCmd::Keygen { machine } => keygen(ctx, machine.as_deref()),
        MemberCmd::Add {
            machine,
            name,
            public_key,
        } => add(ctx, name, public_key, *machine),
        MemberCmd::List { json } => list(ctx, *json),
        MemberCmd::Rm { name } => rm(ctx, name),
    }
}

/// Creates this host's identity (or a machine's identity file) if there is none, and prints
/// its public key on stdout. Needs no vault.
fn keygen(ctx: &Context, machine: Option<&Path>) -> Result<(), CliError> {
    if let Some(file) = machine {
        let id = identity::generate();
        identity::save_machine(file, &id).map_err(crate::vault::VaultError::from)?;
        note!(
            "Created the machine identity {} (mode 0600, no passphrase); add it with `keyway member add --machine NAME KEY`",
            file.display()
        );
        say!("{}", identity::public_key(&id))?;
        return Ok(());
    }
    let IdentitySource::Sealed(path) = ctx.host_identity() else {
        return Err(CliError::Usage(
            "cannot find a config directory for this host's identity".into(),
        ));
    };
    if let Some(public) =
        identity::sealed_public_key(&path).map_err(crate::vault::VaultError::from)?
    {
        note!("This host already has an identity ({})", path.display());
        say!("{public}")?;
        return Ok(());
    }
    let public = create_host_identity(ctx, &path)?;
    say!("{public}")?;
    Ok(())
}

/// A new identity for this host at `path`, sealed under a new passphrase.
pub fn create_host_identity(ctx: &Context, path: &Path) -> Result<String, CliError> {
    let pass = ctx.new_passphrase(
        "KEYWAY_PASSPHRASE",
        "New passphrase for this host's identity: ",
    )?;
    let params = KdfParams::for_new_key(&ctx.config.kdf);
    let id = identity::generate();
    identity::save_sealed(path, &id, pass.expose_secret().as_bytes(), params)
        .map_err(crate::vault::VaultError::from)?;
    note!(
        "Created this host's identity {} (Argon2id m={} MiB, t={}, p={})",
        path.display(),
        params.memory_kib / 1024,
        params.iterations,
        params.parallelism
    );
    Ok(identity::public_key(&id))
}

fn check_member_name(name: &str) -> Result<(), CliError> {
    crate::core::names::check_name("member", name).map_err(CliError::Usage)
}

fn add(ctx: &Context, name: &str, public_key: &str, machine: bool) -> Result<(), CliError> {
    check_member_name(name)?;
    let recipient =
        identity::parse_public_key(public_key).map_err(crate::vault::VaultError::from)?;
    let mut store = ctx.open_store()?;
    let info = MemberInfo {
        name: name.to_string(),
        kind: if machine { "machine" } else { "person" }.into(),
        added_at: clock::now().0,
    };
    store.add_member(&recipient, info)?;
    done!(
        "Added member '{name}' to {}",
        store.vault().path().display()
    )?;
    Ok(())
}

fn list(ctx: &Context, as_json: bool) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let mut members = store.vault().members()?;
    let log = store.vault().change_log()?;
    // A member's entries name them first: "NAME, user@host (command)".
    let last_change = |name: &str| {
        let prefix = format!("{name}, ");
        log.iter()
            .rev()
            .find(|e| e.member.starts_with(&prefix))
            .map(|e| Timestamp(e.at).rfc3339())
    };
    members.sort_by(|a, b| a.name.cmp(&b.name));
    if as_json {
        print_json(&serde_json::Value::Array(
            members
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "kind": m.kind,
                        "added_at": Timestamp(m.added_at).rfc3339(),
                        "public_key": m.public_key,
                        "last_change_at": last_change(&m.name),
                    })
                })
                .collect(),
        ))?;
    } else {
        let rows: Vec<Vec<String>> = members
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    m.kind.clone(),
                    Timestamp(m.added_at).rfc3339(),
                    m.public_key.clone(),
                ]
            })
            .collect();
        print_table(&["MEMBER", "KIND", "ADDED", "PUBLIC KEY"], &rows)?;
    }
    Ok(())
}

fn rm(ctx: &Context, name: &str) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    store.remove_member(name)?;
    // Every member could read every credential: all of them are worth rotating.
    let s = store.snapshot();
    let mut readable: Vec<String> = s
        .credentials
        .iter()
        .map(|c| {
            let ws = s
                .workspace(&c.workspace)
                .map(|w| w.name.as_str())
                .unwrap_or("?");
            format!("{ws}/{}", c.name)
        })
        .collect();
    readable.sort();
    done!(
        "Removed member '{name}' and re-keyed {}: a new data key, every record re-encrypted, every other member's slot re-wrapped; '{name}''s identity opens nothing now",
        store.vault().path().display()
    )?;
    if readable.is_empty() {
        done!("'{name}' could read no credentials.")?;
    } else {
        done!(
            "'{name}' could read these {} credential(s); rotate them (each new secret is verified before it is saved):",
            readable.len()
        )?;
        for line in readable {
            done!("  {line}")?;
        }
    }
    Ok(())
}
