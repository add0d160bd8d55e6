//! The keyway binary: parse arguments, run the TUI or a command, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

use keyway::cli::{self, Cli};

fn main() -> ExitCode {
    // First of all: from here on the process may hold decrypted secrets.
    let hardened = keyway::process::forbid_core_dumps();
    init_logging();
    match hardened {
        Ok(not_dumpable) => tracing::debug!(dumpable = !not_dumpable, "core dumps off"),
        Err(e) => tracing::warn!("core dumps could not be turned off: {e}"),
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `keyway run`'s own failures, a bad argument among them, are 125 (README, "Exit
        // codes"): clap's 2 could be the command's own code.
        Err(e) if e.use_stderr() && cli::is_run_invocation(std::env::args_os().skip(1)) => {
            let _ = e.print();
            return ExitCode::from(125);
        }
        Err(e) => e.exit(),
    };
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => cli::run_tui(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string();
            if !message.is_empty() {
                cli::error_line(&message);
            }
            ExitCode::from(e.exit_code().clamp(1, 255) as u8)
        }
    }
}

/// Diagnostics go to stderr, off unless KEYWAY_LOG is set (e.g. KEYWAY_LOG=debug). Nothing
/// logged anywhere in keyway carries a secret value.
fn init_logging() {
    if let Ok(filter) = std::env::var("KEYWAY_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            // Colours only for a person at a terminal, never into a log file or a pipe.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init();
    }
}
