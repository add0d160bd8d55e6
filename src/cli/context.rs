//! What every command needs: the configuration, the vault path, the catalogue and the
//! passphrase, resolved in the documented order of precedence.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::args::Cli;
use super::error::CliError;
use crate::catalog::{Catalog, CatalogError};
use crate::config::Config;
use crate::core::secret::check_new_passphrase;
use crate::store::Store;
use crate::vault::{self, Unlock};
use crate::verify::Verifier;

pub struct Context {
    pub config: Config,
    pub vault_path: PathBuf,
    pub catalog: Catalog,
    passphrase_file: Option<PathBuf>,
    /// `--identity FILE` / KEYWAY_IDENTITY: a machine member's identity file.
    machine_identity: Option<PathBuf>,
    /// What this process is, as the records it writes say (`keyway credential edit`).
    via: String,
    /// A team vault's database password typed at the prompt, asked at most once.
    db_password: std::sync::OnceLock<Option<SecretString>>,
}

impl Context {
    /// `via` names the command, for the `changed_by` of what it writes.
    pub fn from_cli(cli: &Cli, via: &str) -> Result<Context, CliError> {
        // Every write names its writer: a KEYWAY_MEMBER that cannot be one is refused up front.
        vault::writer_name().map_err(CliError::Usage)?;
        let config = match &cli.config {
            Some(path) => Config::load(path, true)?,
            None => match crate::paths::default_config_file() {
                Some(path) => Config::load(&path, false)?,
                None => Config::default(),
            },
        };
        if config.vault.path.is_some() && config.vault.url.is_some() {
            return Err(CliError::Usage(
                "the configuration sets both vault.path and vault.url: keep the one vault you use"
                    .into(),
            ));
        }
        let vault_path = cli
            .vault
            .clone()
            .or_else(|| config.vault.path.clone())
            .or_else(|| config.vault.url.as_ref().map(PathBuf::from))
            .or_else(crate::paths::default_vault_file)
            .ok_or_else(|| {
                CliError::Usage(
                    "cannot find a home directory for the vault: pass --vault PATH".into(),
                )
            })?;
        let components_dir = config
            .vault
            .components_dir
            .clone()
            .or_else(crate::paths::default_components_dir);
        let loaded = Catalog::load(components_dir.as_deref()).map_err(|e| match e {
            unsafe_file @ CatalogError::Unsafe { .. } => CliError::Usage(format!(
                "refusing to load component definitions: {unsafe_file}"
            )),
            broken => CliError::Refused(format!(
                "the built-in component catalogue is broken: {broken}"
            )),
        })?;
        for warning in &loaded.warnings {
            note!("warning: skipped component definition {warning}");
        }
        for c in loaded.overrides() {
            let file = c.source.as_deref().unwrap_or(std::path::Path::new("?"));
            note!(
                "warning: component '{}' is defined by your file {} (override = true), not by keyway's built-in definition",
                c.id,
                file.display()
            );
        }
        Ok(Context {
            config,
            vault_path,
            catalog: loaded.catalog,
            passphrase_file: cli.passphrase_file.clone(),
            machine_identity: cli.identity.clone(),
            via: via.to_string(),
            db_password: std::sync::OnceLock::new(),
        })
    }

    /// How this process uses the vault: who it writes as, how long it waits to write.
    pub fn vault_options(&self) -> vault::Options {
        // A bad URL is reported by the open that follows; the options need no password then.
        self.vault_options_for(&self.vault_path)
            .unwrap_or_else(|_| self.options_with(None))
    }

    /// The options for the vault at `location`: for a team vault, the database password from
    /// a prompt when neither PGPASSWORD nor the passfile has one and stdin is a terminal.
    pub fn vault_options_for(
        &self,
        location: &std::path::Path,
    ) -> Result<vault::Options, CliError> {
        if !vault::is_team_vault(location) {
            return Ok(self.options_with(None));
        }
        let target = vault::postgres::parse_url(location)?;
        let typed = self.db_password.get_or_init(|| {
            if vault::postgres::stored_password(&target).is_some()
                || !std::io::stdin().is_terminal()
            {
                return None;
            }
            rpassword::prompt_password(format!(
                "Password of {} for the database: ",
                target.shown().display()
            ))
            .ok()
            .map(SecretString::from)
        });
        Ok(self.options_with(typed.clone()))
    }

    fn options_with(&self, db_password: Option<SecretString>) -> vault::Options {
        vault::Options {
            changed_by: vault::changed_by(&self.via),
            lock_wait: self.config.vault.lock_wait(),
            server_timeout: self.config.vault.server_timeout(),
            db_password,
            extra_ca_file: self.config.verify.extra_ca_file.clone(),
            identity: self.identity_source(),
        }
    }

    /// This host's own identity for team vaults (a person's, under a passphrase).
    pub fn host_identity(&self) -> vault::IdentitySource {
        crate::paths::default_identity_file()
            .map(vault::IdentitySource::Sealed)
            .unwrap_or_default()
    }

    /// The identity a team vault is opened with: `--identity FILE` (a machine's), else this
    /// host's own.
    pub fn identity_source(&self) -> vault::IdentitySource {
        match &self.machine_identity {
            Some(file) => vault::IdentitySource::Machine(file.clone()),
            None => self.host_identity(),
        }
    }

    /// The unlock of a team vault opened with a machine identity: no passphrase to ask for.
    fn machine_unlock(&self) -> bool {
        vault::is_team_vault(&self.vault_path)
            && matches!(self.identity_source(), vault::IdentitySource::Machine(_))
    }

    /// KEYWAY_PASSPHRASE, else --passphrase-file, else a hidden prompt on a terminal.
    pub fn passphrase(&self, prompt: &str) -> Result<SecretString, CliError> {
        if let Some(p) = env_passphrase("KEYWAY_PASSPHRASE")? {
            return non_empty(p, "KEYWAY_PASSPHRASE");
        }
        if let Some(file) = &self.passphrase_file {
            return passphrase_from_file(file);
        }
        if std::io::stdin().is_terminal() {
            let p = rpassword::prompt_password(prompt)
                .map_err(|e| CliError::Usage(format!("cannot read the passphrase: {e}")))?;
            return non_empty(SecretString::from(p), "the passphrase");
        }
        Err(CliError::Usage(
            "no passphrase: set KEYWAY_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal".into(),
        ))
    }

    /// A new passphrase (init, passwd, export): from `env_var`, else prompted twice on a
    /// terminal; refused when shorter than the core's floor.
    pub fn new_passphrase(&self, env_var: &str, prompt: &str) -> Result<SecretString, CliError> {
        let strong = |p: SecretString, source: &str| {
            check_new_passphrase(p.expose_secret())
                .map_err(|why| CliError::Usage(format!("{source}: {why}")))?;
            Ok(p)
        };
        if let Some(p) = env_passphrase(env_var)? {
            return strong(p, env_var);
        }
        if std::io::stdin().is_terminal() {
            let first = SecretString::from(
                rpassword::prompt_password(prompt)
                    .map_err(|e| CliError::Usage(format!("cannot read the passphrase: {e}")))?,
            );
            // Said before the second prompt, not after the user typed a weak one twice.
            let first = strong(first, "the passphrase")?;
            let again = SecretString::from(
                rpassword::prompt_password("Repeat it: ")
                    .map_err(|e| CliError::Usage(format!("cannot read the passphrase: {e}")))?,
            );
            if first.expose_secret() != again.expose_secret() {
                return Err(CliError::Usage("the two passphrases differ".into()));
            }
            return Ok(first);
        }
        Err(CliError::Usage(format!(
            "no new passphrase: set {env_var} or run on a terminal"
        )))
    }

    /// The verifiers, with the configured timeouts and refresh margin.
    pub fn verifier(&self) -> Result<Verifier, CliError> {
        let verifier =
            Verifier::with_audit(&self.config.verify, &self.config.audit).map_err(|e| {
                let message = format!("cannot set up verification: {e}");
                if e.is_config() {
                    CliError::Usage(message)
                } else {
                    CliError::Refused(message)
                }
            })?;
        for warning in verifier.warnings() {
            note!("warning: {warning}");
        }
        Ok(verifier)
    }

    /// Opens the vault (read-only until the first write) with the session's key when
    /// KEYWAY_SESSION holds a valid one, else with the user's passphrase, and prints any
    /// permission warnings. A path that cannot be a vault is refused before the passphrase is
    /// asked for.
    pub fn open_store(&self) -> Result<Store, CliError> {
        vault::check_path(&self.vault_path)?;
        match open_with_session(self)? {
            Some(store) => Ok(self.warned(store)),
            None => self.open_store_by_passphrase(),
        }
    }

    /// Opens the vault with the passphrase alone, whatever KEYWAY_SESSION says: what changes
    /// the passphrase or the key (passwd, rekey) and what starts a session (unlock) must prove
    /// the passphrase itself, not a session's token.
    pub fn open_store_by_passphrase(&self) -> Result<Store, CliError> {
        vault::check_path(&self.vault_path)?;
        if self.machine_unlock() {
            let store = Store::open_with(
                &self.vault_path,
                Unlock::Passphrase(b""),
                &self.vault_options(),
            )?;
            return Ok(self.warned(store));
        }
        let prompt = if vault::is_team_vault(&self.vault_path) {
            "Passphrase of this host's identity: "
        } else {
            "Vault passphrase: "
        };
        let pass = self.passphrase(prompt)?;
        let store = Store::open_with(
            &self.vault_path,
            Unlock::Passphrase(pass.expose_secret().as_bytes()),
            &self.vault_options(),
        )?;
        Ok(self.warned(store))
    }

    fn warned(&self, store: Store) -> Store {
        for w in &store.vault().warnings {
            note!("{w}");
        }
        store
    }
}

/// The most keyway reads of a passphrase file: its first line is the passphrase.
pub const PASSPHRASE_FILE_LIMIT: u64 = 64 * 1024;

/// A passphrase from the environment variable `var`, if it is set. One that is set but not
/// UTF-8 is named as such, not reported as missing.
pub fn env_passphrase(var: &str) -> Result<Option<SecretString>, CliError> {
    match std::env::var(var) {
        Ok(p) => Ok(Some(SecretString::from(p))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::Usage(format!(
            "{var} is set but is not valid UTF-8; keyway passphrases are UTF-8 text"
        ))),
    }
}

/// The first line of a passphrase file (a regular file of at most PASSPHRASE_FILE_LIMIT).
fn passphrase_from_file(file: &std::path::Path) -> Result<SecretString, CliError> {
    let shown = file.display();
    let text = crate::files::read_text(file, PASSPHRASE_FILE_LIMIT)
        .map_err(|e| CliError::Usage(format!("the passphrase file {shown} {e}")))?;
    let text = zeroize::Zeroizing::new(text);
    if text.is_empty() {
        return Err(CliError::Usage(format!(
            "the passphrase file {shown} is empty"
        )));
    }
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(CliError::Usage(format!(
            "the first line of the passphrase file {shown} is empty; keyway reads the passphrase from the first line"
        )));
    }
    Ok(SecretString::from(first.to_string()))
}

/// The async runtime a command's network work (verification, login) runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Refused(format!("cannot start the async runtime: {e}")))
}

fn non_empty(p: SecretString, source: &str) -> Result<SecretString, CliError> {
    if p.expose_secret().is_empty() {
        Err(CliError::Usage(format!("{source} is empty")))
    } else {
        Ok(p)
    }
}

/// Reads the value of `--field KEY=-`. Not a terminal (a pipe or a file): everything up to end
/// of file, so a PEM certificate or key comes in whole, read no further than `limit` bytes, the
/// most the field holds (schema::value_limit; `< /dev/zero` is refused, not read on); the
/// stored-value rule then drops the surrounding whitespace (core::input). A terminal: a hidden
/// prompt for one line, except for a multi-line (PEM) field, which must come from a file or a
/// pipe.
pub fn read_secret_from_stdin(
    field: &str,
    multi_line: bool,
    limit: usize,
) -> Result<SecretString, CliError> {
    use std::io::Read;
    if std::io::stdin().is_terminal() {
        if multi_line {
            return Err(CliError::Usage(format!(
                "field '{field}' takes a PEM value: pass it on stdin from a file or a pipe (--field {field}=- < file.pem)"
            )));
        }
        return rpassword::prompt_password(format!("{field}: "))
            .map(SecretString::from)
            .map_err(|e| CliError::Usage(format!("cannot read field '{field}': {e}")));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::Usage(format!("cannot read field '{field}' from stdin: {e}")))?;
    if bytes.len() > limit {
        return Err(CliError::Usage(format!(
            "field '{field}' on stdin is longer than {} KiB, the most it holds",
            limit / 1024
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::Usage(format!("field '{field}' on stdin is not UTF-8 text")))?;
    Ok(SecretString::from(text.to_string()))
}

/// One line from stdin without its line ending, refused beyond `limit` bytes: the line is
/// read no further than that, whatever stdin is.
pub fn read_stdin_line(limit: usize) -> Result<zeroize::Zeroizing<String>, String> {
    use std::io::Read;
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(limit + 2));
    std::io::stdin()
        .lock()
        .take(limit as u64 + 2)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| e.to_string())?;
    let end = bytes
        .strip_suffix(b"\n")
        .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
        .unwrap_or(&bytes);
    if end.len() > limit {
        return Err(format!(
            "the line is longer than {} KiB, the most keyway reads here",
            limit / 1024
        ));
    }
    match std::str::from_utf8(end) {
        Ok(text) => Ok(zeroize::Zeroizing::new(text.to_string())),
        Err(_) => Err("it is not UTF-8 text".into()),
    }
}

/// The store opened with the session's key, when `KEYWAY_SESSION` is set and its agent
/// answers; None (with a note saying why) when the passphrase is needed after all. A team
/// vault session whose member was removed is an error (exit 3): the passphrase would open
/// nothing either.
fn open_with_session(ctx: &Context) -> Result<Option<Store>, CliError> {
    let Ok(token) = std::env::var(crate::session::SESSION_VAR) else {
        return Ok(None);
    };
    let token = zeroize::Zeroizing::new(token);
    if token.trim().is_empty() {
        return Ok(None);
    }
    // Err(None): the agent said its member was removed; Err(Some(why)): not usable.
    let attempt = || -> Result<Store, Option<String>> {
        let binding = crate::vault::session_binding(&ctx.vault_path, &ctx.vault_options())
            .map_err(|e| Some(e.to_string()))?;
        let raw = crate::session::fetch_key(&binding, token.trim()).map_err(|e| match e {
            crate::session::SessionError::Removed(_) => None,
            other => Some(other.to_string()),
        })?;
        Store::open_with(
            &ctx.vault_path,
            Unlock::Key(Box::new(crate::vault::crypto::DataKey::from_raw(&raw))),
            &ctx.vault_options(),
        )
        .map_err(|e| Some(e.to_string()))
    };
    match attempt() {
        Ok(store) => {
            tracing::debug!("vault opened with the session's key (no KDF)");
            Ok(Some(store))
        }
        Err(None) => Err(vault::VaultError::Removed(display_location(&ctx.vault_path)).into()),
        Err(Some(why)) => {
            note!(
                "warning: {} is set but cannot be used ({why}); the passphrase is needed",
                crate::session::SESSION_VAR
            );
            Ok(None)
        }
    }
}

/// A vault location as errors show it: a team vault's URL without its parameters.
fn display_location(location: &std::path::Path) -> PathBuf {
    vault::postgres::parse_url(location)
        .map(|t| t.shown())
        .unwrap_or_else(|_| location.to_path_buf())
}
