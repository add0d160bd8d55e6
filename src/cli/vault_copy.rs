//! `keyway vault copy --to URL|FILE`: a whole vault (workspaces, credentials, flows,
//! histories) copied between a file and a team vault, in either direction, and checked read
//! back from the target before it reports success.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::context::Context;
use super::error::CliError;
use crate::clock;
use crate::store::Store;
use crate::vault::kdf::KdfParams;
use crate::vault::{self, Unlock, Vault};

pub fn copy(ctx: &Context, to: &Path, member: Option<&str>) -> Result<(), CliError> {
    if to == ctx.vault_path {
        return Err(CliError::Usage(
            "--to names the vault being copied: give a new file or team vault URL".into(),
        ));
    }
    if let Some(problem) = vault::occupied(to) {
        return Err(problem.into());
    }
    let source = ctx.open_store()?;
    let options = ctx.vault_options_for(to)?;
    let (copied, shown) = if vault::is_team_vault(to) {
        let (mut target, _, identity) = super::workspace::create_team_store(ctx, to, member)?;
        let shown = target.vault().path().to_path_buf();
        let reopen = || Vault::open_with(to, Unlock::Identity(Box::new(identity)), &options);
        (source.copy_into(&mut target, reopen), shown)
    } else {
        let pass = ctx.new_passphrase(
            "KEYWAY_NEW_PASSPHRASE",
            "Passphrase of the new vault file: ",
        )?;
        let params = KdfParams::for_new_key(&ctx.config.kdf);
        let mut target = Store::create_with(
            to,
            pass.expose_secret().as_bytes(),
            params,
            clock::now(),
            &options,
        )?;
        let reopen = || {
            Vault::open_with(
                to,
                Unlock::Passphrase(pass.expose_secret().as_bytes()),
                &options,
            )
        };
        let copied = source.copy_into(&mut target, reopen);
        drop(target);
        if copied.is_err() {
            // The file is new and ours: leave no copy that did not check out behind.
            let _ = std::fs::remove_file(to);
        }
        (copied, PathBuf::from(to))
    };
    let (records, entries) = copied?;
    done!(
        "Copied {} to {}: {records} records and {entries} history entries, read back from it and checked",
        ctx.vault_path.display(),
        shown.display()
    )?;
    Ok(())
}
