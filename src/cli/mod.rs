//! The scriptable face of keyway: clap commands over the same store and rules as the TUI.

pub mod args;
mod component;
mod context;
mod credential;
mod error;
mod output;
mod workspace;

pub use args::Cli;
pub use context::Context;
pub use error::CliError;

use args::{Command, CredentialCmd};

/// Runs one subcommand. The TUI (no subcommand) is started by main.
pub fn run(cli: &Cli, command: &Command) -> Result<(), CliError> {
    let ctx = Context::from_cli(cli)?;
    match command {
        Command::Init => workspace::init(&ctx),
        Command::Passwd => workspace::passwd(&ctx),
        Command::Workspace(cmd) => workspace::run(&ctx, cmd),
        Command::Component(cmd) => component::run(&ctx, cmd),
        Command::Credential(cmd) => match cmd {
            CredentialCmd::List {
                workspace,
                component,
                json,
            } => credential::list(&ctx, workspace.as_deref(), component.as_deref(), *json),
            CredentialCmd::Show {
                target,
                json,
                reveal,
            } => credential::show(&ctx, target, *json, *reveal),
            CredentialCmd::Rm { target } => credential::remove(&ctx, target),
            _ => Err(CliError::Refused("not available yet".into())),
        },
        Command::Flow(_) | Command::Audit(_) => Err(CliError::Refused("not available yet".into())),
    }
}
