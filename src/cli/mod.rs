//! The scriptable face of keyway: clap commands over the same store and rules as the TUI.

// First: its macros (say!, done!, note!) are used by every module below.
#[macro_use]
mod output;
pub mod args;
mod audit;
mod component;
mod context;
mod credential;
mod error;
mod flow;
mod import;
mod log;
mod login;
mod member;
mod metrics;
mod rotate;
mod run;
mod save;
mod session;
mod transfer;
mod vault_copy;
mod workspace;

pub use args::Cli;
pub use context::Context;
pub use error::CliError;
pub use output::error_line;

use args::{
    AuditFormat, Command, CredentialCmd, FlowCmd, ImportFrom, MemberCmd, VaultCmd, WorkspaceCmd,
};

/// The command as the records it writes name it (`changed_by`).
fn via(command: &Command) -> &'static str {
    match command {
        Command::Init { .. } => "keyway init",
        Command::Vault(VaultCmd::Copy { .. }) => "keyway vault copy",
        Command::Log { .. } => "keyway log",
        Command::Member(cmd) => match cmd {
            MemberCmd::Keygen { .. } => "keyway member keygen",
            MemberCmd::Add { .. } => "keyway member add",
            MemberCmd::List { .. } => "keyway member list",
            MemberCmd::Rm { .. } => "keyway member rm",
        },
        Command::Passwd => "keyway passwd",
        Command::Rekey => "keyway rekey",
        Command::Unlock { .. } => "keyway unlock",
        Command::Lock => "keyway lock",
        Command::SessionAgent => "keyway session-agent",
        Command::Workspace(cmd) => match cmd {
            WorkspaceCmd::Add { .. } => "keyway workspace add",
            WorkspaceCmd::List { .. } => "keyway workspace list",
            WorkspaceCmd::Rename { .. } => "keyway workspace rename",
            WorkspaceCmd::Rm { .. } => "keyway workspace rm",
        },
        Command::Component(_) => "keyway component",
        Command::Credential(cmd) => match cmd {
            CredentialCmd::List { .. } => "keyway credential list",
            CredentialCmd::Show { .. } => "keyway credential show",
            CredentialCmd::Rm { .. } => "keyway credential rm",
            CredentialCmd::Add { .. } => "keyway credential add",
            CredentialCmd::Edit { .. } => "keyway credential edit",
            CredentialCmd::Verify { .. } => "keyway credential verify",
            CredentialCmd::Login { .. } => "keyway credential login",
            CredentialCmd::Rotate { .. } => "keyway credential rotate",
        },
        Command::Flow(cmd) => match cmd {
            FlowCmd::Add { .. } => "keyway flow add",
            FlowCmd::List { .. } => "keyway flow list",
            FlowCmd::Activate { .. } => "keyway flow activate",
            FlowCmd::Deactivate { .. } => "keyway flow deactivate",
            FlowCmd::Rm { .. } => "keyway flow rm",
            FlowCmd::Rebind { .. } => "keyway flow rebind",
            FlowCmd::Promote { .. } => "keyway flow promote",
        },
        Command::Audit(_) => "keyway audit",
        Command::Run(_) => "keyway run",
        Command::Export { .. } => "keyway export",
        Command::Import { .. } => "keyway import",
    }
}

/// Opens the terminal UI on the configured vault (`keyway` with no subcommand).
pub fn run_tui(cli: &Cli) -> Result<(), CliError> {
    let ctx = Context::from_cli(cli, "tui")?;
    let passphrase = context::env_passphrase("KEYWAY_PASSPHRASE")?;
    // A team vault's database password is asked before the UI takes the terminal (when
    // neither PGPASSWORD nor the passfile has one), as every command asks it.
    let db_password = ctx.vault_options_for(&ctx.vault_path)?.db_password;
    crate::tui::run_blocking(crate::tui::Options {
        vault: ctx.vault_path.clone(),
        config: ctx.config.clone(),
        catalog: ctx.catalog.clone(),
        passphrase,
        state_file: None,
        db_password,
    })?;
    Ok(())
}

/// Whether these arguments (without the program name) name the `run` subcommand: the first
/// word that is neither a global option nor its value.
pub fn is_run_invocation(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut args = args;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        match text.as_ref() {
            "--vault" | "--config" | "--passphrase-file" | "--identity" => {
                args.next();
            }
            option if option.starts_with('-') => {}
            word => return word == "run",
        }
    }
    false
}

/// Runs one subcommand.
pub fn run(cli: &Cli, command: &Command) -> Result<(), CliError> {
    if let Command::SessionAgent = command {
        // Before anything else prints: `unlock` reads this agent's first line.
        return crate::session::serve().map_err(|why| {
            let _ = say!("error {why}");
            CliError::Silent(1)
        });
    }
    let result = Context::from_cli(cli, via(command)).and_then(|ctx| dispatch(&ctx, command));
    match command {
        // Whatever fails before its command starts is keyway's own: 125, never a code the
        // command itself might exit with.
        Command::Run(_) => result.map_err(|e| match e {
            e @ (CliError::Child(_) | CliError::NotStarted { .. }) => e,
            other => CliError::BeforeCommand(Box::new(other)),
        }),
        _ => result,
    }
}

fn dispatch(ctx: &Context, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Init { url, member } => workspace::init(ctx, url.as_deref(), member.as_deref()),
        Command::Member(cmd) => member::run(ctx, cmd),
        Command::Log {
            workspace,
            since,
            json,
        } => log::run(ctx, workspace.as_deref(), since.as_deref(), *json),
        Command::Vault(VaultCmd::Copy { to, member }) => {
            vault_copy::copy(ctx, to, member.as_deref())
        }
        Command::Passwd => workspace::passwd(ctx),
        Command::Rekey => workspace::rekey(ctx),
        Command::Unlock { duration } => session::unlock(ctx, duration),
        Command::Lock => session::lock(ctx),
        Command::SessionAgent => Err(CliError::Usage(
            "session-agent is started by `keyway unlock`".into(),
        )),
        Command::Workspace(cmd) => workspace::run(ctx, cmd),
        Command::Component(cmd) => component::run(ctx, cmd),
        Command::Credential(cmd) => match cmd {
            CredentialCmd::List {
                workspace,
                component,
                json,
            } => credential::list(ctx, workspace.as_deref(), component.as_deref(), *json),
            CredentialCmd::Show {
                target,
                json,
                reveal,
            } => credential::show(ctx, target, *json, *reveal),
            CredentialCmd::Rm {
                target,
                expect_revision,
            } => credential::remove(ctx, target, *expect_revision),
            CredentialCmd::Add {
                workspace,
                component,
                name,
                env,
                fields,
                from_url,
                save_unverified,
                login,
            } => save::add(
                ctx,
                save::New {
                    workspace,
                    component,
                    name,
                    env,
                    fields,
                    from_url: from_url.as_deref(),
                },
                *save_unverified,
                *login,
            ),
            CredentialCmd::Edit {
                target,
                rename,
                env,
                fields,
                save_unverified,
                expect_revision,
            } => save::edit(
                ctx,
                target,
                save::Edit {
                    rename: rename.as_deref(),
                    env: env.as_deref(),
                    fields,
                    save_unverified: *save_unverified,
                    expect_revision: *expect_revision,
                },
            ),
            CredentialCmd::Verify {
                workspace,
                name,
                component,
                all,
                json,
            } => {
                let scope = match (name, all) {
                    (Some(name), false) => audit::Scope::One {
                        workspace,
                        name,
                        component: component.as_deref(),
                    },
                    _ => audit::Scope::Workspace(workspace),
                };
                let format = if *json {
                    AuditFormat::Json
                } else {
                    AuditFormat::Table
                };
                audit::run(ctx, scope, format, None, None, None)
            }
            CredentialCmd::Login {
                target,
                paste,
                redirect_uri,
            } => save::login(ctx, target, *paste, redirect_uri.as_deref()),
            CredentialCmd::Rotate {
                workspace,
                name,
                component,
                length,
                older_than,
                dry_run,
            } => match (name, older_than) {
                (Some(name), _) => rotate::one(ctx, workspace, name, component.as_deref(), *length),
                (None, Some(span)) => rotate::older_than(
                    ctx,
                    workspace,
                    span,
                    component.as_deref(),
                    *length,
                    *dry_run,
                ),
                (None, None) => Err(CliError::Usage(
                    "name the credential to rotate, or pass --older-than SPAN".into(),
                )),
            },
        },
        Command::Audit(args) => {
            let scope = match &args.workspace {
                Some(w) => audit::Scope::Workspace(w),
                None => audit::Scope::All,
            };
            let format = match (args.json, args.format) {
                (true, _) => AuditFormat::Json,
                (false, format) => format.unwrap_or(AuditFormat::Table),
            };
            if args.output.is_some() && format != AuditFormat::Prometheus {
                return Err(CliError::Usage(
                    "--output FILE goes with --format prometheus".into(),
                ));
            }
            audit::run(
                ctx,
                scope,
                format,
                args.fail_on_expiring,
                args.output.as_deref(),
                match &args.fail_on_password_age {
                    Some(text) => {
                        Some(crate::core::rotation::parse_span(text).map_err(CliError::Usage)?)
                    }
                    None => None,
                },
            )
        }
        Command::Flow(cmd) => flow::run(ctx, cmd),
        Command::Run(args) => run::run(ctx, args),
        Command::Export {
            workspace,
            component,
            file,
        } => transfer::export(ctx, workspace, component.as_deref(), file),
        Command::Import {
            file,
            from,
            workspace,
            name,
            verbose,
            json,
            on_conflict,
            no_verify,
        } => {
            let reporting = import::Reporting {
                verbose: *verbose,
                json: *json,
            };
            let format = match from {
                ImportFrom::Keyway => {
                    if name.is_some() {
                        return Err(CliError::Usage("--name goes with --from dotenv".into()));
                    }
                    return transfer::import(
                        ctx,
                        file,
                        workspace.as_deref(),
                        *on_conflict,
                        *no_verify,
                        reporting,
                    );
                }
                ImportFrom::Airflow => crate::import::Format::Airflow,
                ImportFrom::N8n => crate::import::Format::N8n,
                ImportFrom::Dotenv => crate::import::Format::Dotenv,
                ImportFrom::Csv => crate::import::Format::Csv,
            };
            let workspace = workspace.as_deref().ok_or_else(|| {
                CliError::Usage(format!(
                    "--from {} needs --workspace W: the workspace to import into (created if missing)",
                    format.as_str()
                ))
            })?;
            import::import_foreign(
                ctx,
                format,
                file,
                workspace,
                name.as_deref(),
                *on_conflict,
                *no_verify,
                reporting,
            )
        }
    }
}
