//! `keyway credential add | edit | login`: nothing invalid is saved. The credential is built and
//! checked (fields, names), verified live, and written only when the service accepted it, or,
//! when the service could not be reached, only on an explicit --save-unverified.

use super::args::CredentialRef;
use super::context::{read_secret_from_stdin, runtime, Context};
use super::credential::find;
use super::error::CliError;
use crate::clock;
use crate::core::input::FieldValue;
use crate::core::save::{decide, SaveDecision, HOST_KEY_FIELD};
use crate::core::{Credential, Environment, RecordKind, Status, TlsState};
use crate::store::{accept, apply_tokens, CredentialDraft, Store};
use crate::verify::Outcome;

/// Parses `KEY=VALUE` arguments; `KEY=-` reads the value from stdin (see
/// `read_secret_from_stdin`), for one field per command: stdin holds one value.
pub fn parse_fields(
    ctx_component: &crate::core::schema::Component,
    raw: &[String],
) -> Result<Vec<(String, FieldValue)>, CliError> {
    let from_stdin: Vec<&str> = raw
        .iter()
        .filter_map(|arg| arg.split_once('='))
        .filter(|(_, value)| *value == "-")
        .map(|(key, _)| key.trim())
        .collect();
    if from_stdin.len() > 1 {
        return Err(CliError::Usage(format!(
            "only one --field can read its value from stdin (KEY=-), not {}",
            from_stdin.join(" and ")
        )));
    }
    let mut out = Vec::new();
    for arg in raw {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(CliError::Usage(format!(
                "--field '{}' must look like KEY=VALUE (or KEY=- to type a secret)",
                arg.chars().take_while(|c| *c != '=').collect::<String>()
            )));
        };
        let key = key.trim().to_string();
        let secret = ctx_component.is_secret(&key);
        let value = if value == "-" {
            let spec = ctx_component.field(&key);
            let multi_line = spec.is_some_and(|f| f.validate.pem_kind().is_some());
            let limit = spec.map_or(
                crate::core::schema::VALUE_MAX_BYTES,
                crate::core::schema::value_limit,
            );
            FieldValue::Secret(read_secret_from_stdin(&key, multi_line, limit)?)
        } else if secret {
            FieldValue::Secret(secrecy::SecretString::from(value.to_string()))
        } else {
            FieldValue::Plain(value.to_string())
        };
        out.push((key, value));
    }
    Ok(out)
}

/// What `credential add` is asked to create.
pub struct New<'a> {
    pub workspace: &'a str,
    pub component: &'a str,
    pub name: &'a str,
    pub env: &'a str,
    pub fields: &'a [String],
    /// `--from-url`: a connection URL, or `-` to read one from stdin.
    pub from_url: Option<&'a str>,
}

/// The most `--from-url -` reads from stdin: a URL is one short line.
const URL_MAX_BYTES: usize = 8 * 1024;

/// The fields of `--from-url` (see `core::dburl`), each secret where the component says so.
fn url_fields(
    comp: &crate::core::schema::Component,
    from_url: &str,
    fields: &[String],
) -> Result<Vec<(String, FieldValue)>, CliError> {
    let text = if from_url == "-" {
        if fields
            .iter()
            .any(|f| f.split_once('=').is_some_and(|(_, v)| v == "-"))
        {
            return Err(CliError::Usage(
                "--from-url - reads stdin, so no --field can read it too (KEY=-)".into(),
            ));
        }
        read_secret_from_stdin("url", false, URL_MAX_BYTES)?
    } else {
        secrecy::SecretString::from(from_url.to_string())
    };
    use secrecy::ExposeSecret;
    let pairs = crate::core::dburl::fields_from_url(comp, text.expose_secret())
        .map_err(|e| CliError::Usage(format!("--from-url {e}")))?;
    Ok(pairs
        .into_iter()
        .map(|(key, value)| {
            let value = if comp.is_secret(&key) {
                FieldValue::Secret(secrecy::SecretString::from(value))
            } else {
                FieldValue::Plain(value)
            };
            (key, value)
        })
        .collect())
}

pub fn add(
    ctx: &Context,
    new: New<'_>,
    save_unverified: bool,
    login: bool,
) -> Result<(), CliError> {
    let New {
        workspace,
        component,
        name,
        env,
        fields,
        from_url,
    } = new;
    let comp = ctx.catalog.get(component).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown component '{component}' (see `keyway component list`)"
        ))
    })?;
    let environment = Environment::parse(env).map_err(CliError::Usage)?;
    let mut changes = match from_url {
        Some(url) => url_fields(comp, url, fields)?,
        None => Vec::new(),
    };
    for (key, value) in parse_fields(comp, fields)? {
        // An explicit --field wins over the URL's value for it.
        changes.retain(|(k, _)| *k != key);
        changes.push((key, value));
    }
    let mut store = ctx.open_store()?;
    let ws = store.snapshot().workspace_by_name(workspace)?.id.clone();
    let draft = CredentialDraft {
        workspace: ws,
        component: component.to_string(),
        name: name.to_string(),
        environment,
        changes,
    };
    let mut credential = store.prepare_credential(&ctx.catalog, draft, None, clock::now())?;
    if login {
        let tokens = super::login::obtain_tokens(ctx, &credential, false, None)?;
        crate::store::apply_tokens(&mut credential, &tokens, clock::now());
    }
    verify_then_save(ctx, &mut store, credential, save_unverified, "Added")
}

/// What `credential edit` changes.
pub struct Edit<'a> {
    pub rename: Option<&'a str>,
    pub env: Option<&'a str>,
    pub fields: &'a [String],
    pub save_unverified: bool,
    /// Refuse unless the credential is still at this revision (checked before anything is
    /// verified, and the save is based on it).
    pub expect_revision: Option<u64>,
}

pub fn edit(ctx: &Context, target: &CredentialRef, edit: Edit<'_>) -> Result<(), CliError> {
    let Edit {
        rename,
        env,
        fields,
        save_unverified,
        expect_revision,
    } = edit;
    let mut store = ctx.open_store()?;
    let existing = find(store.snapshot(), target)?.clone();
    if let Some(n) = expect_revision {
        store.expect_revision(RecordKind::Credential, &existing.id, n)?;
    }
    let comp = ctx.catalog.get(&existing.component).ok_or_else(|| {
        CliError::Refused(format!(
            "component '{}' is no longer in the catalogue",
            existing.component
        ))
    })?;
    let changes = parse_fields(comp, fields)?;
    let environment = match env {
        Some(e) => Environment::parse(e).map_err(CliError::Usage)?,
        None => existing.environment.clone(),
    };
    let draft = CredentialDraft {
        workspace: existing.workspace.clone(),
        component: existing.component.clone(),
        name: rename.unwrap_or(&existing.name).to_string(),
        environment,
        changes,
    };
    let credential =
        store.prepare_credential(&ctx.catalog, draft, Some(&existing.id), clock::now())?;
    verify_then_save(ctx, &mut store, credential, save_unverified, "Updated")
}

/// `keyway credential login`: new OAuth2 tokens for a stored credential, verified before they
/// are saved like any other edit.
pub fn login(
    ctx: &Context,
    target: &CredentialRef,
    paste: bool,
    redirect_uri: Option<&str>,
) -> Result<(), CliError> {
    let mut store = ctx.open_store()?;
    let mut credential = find(store.snapshot(), target)?.clone();
    let tokens = super::login::obtain_tokens(ctx, &credential, paste, redirect_uri)?;
    apply_tokens(&mut credential, &tokens, clock::now());
    verify_then_save(ctx, &mut store, credential, false, "Logged in;")
}

/// The rule "nothing invalid is saved", for the CLI.
pub fn verify_then_save(
    ctx: &Context,
    store: &mut Store,
    mut credential: Credential,
    save_unverified: bool,
    verb: &str,
) -> Result<(), CliError> {
    let component = ctx
        .catalog
        .get(&credential.component)
        .ok_or_else(|| {
            CliError::Refused(format!(
                "component '{}' is not in the catalogue",
                credential.component
            ))
        })?
        .clone();
    let verifier = ctx.verifier()?;
    let now = clock::now();
    let outcome: Outcome = runtime()?.block_on(verifier.verify(&component, &credential, now));
    let label = format!("{} credential '{}'", component.name, credential.name);
    match decide(
        outcome.to_verification(now),
        outcome.host_key_to_confirm.as_deref(),
        save_unverified,
    ) {
        SaveDecision::Save(result) => {
            let unverified = result.status == Status::Unverified;
            accept(&mut credential, result, outcome.tokens.as_ref(), now);
            store.save_credential(credential)?;
            if unverified {
                done!(
                    "{verb} {label}: saved UNVERIFIED ({}); audits will flag it",
                    outcome.reason
                )?;
                return Ok(());
            }
            let detail = outcome
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            done!(
                "{verb} {label}: verified{detail} in {} ms",
                outcome.latency.as_millis()
            )?;
            if outcome.tls == Some(TlsState::Unchecked) {
                note!(
                    "warning: {label} is encrypted, but the server's certificate was not checked (sslmode = require without ssl_ca); audits flag it"
                );
            }
            Ok(())
        }
        SaveDecision::Unreachable { reason } => Err(CliError::Refused(format!(
            "{label} was not saved: {reason} Pass --save-unverified to store it marked unverified."
        ))),
        SaveDecision::Refuse { reason, .. } => Err(CliError::Refused(format!(
            "{label} was not saved: {reason}"
        ))),
        // A script cannot be asked: it passes the fingerprint its user checked.
        SaveDecision::ConfirmHostKey {
            fingerprint,
            reason,
        } => Err(CliError::Refused(format!(
            "{label} was not saved: {reason} If it is, run the command again with --field {HOST_KEY_FIELD}={fingerprint}"
        ))),
    }
}
