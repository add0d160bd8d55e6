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
        // Help and version: clap would ignore a failing stdout and exit 0 (`keyway --help >
        // /dev/full`); they fail like every other report instead.
        Err(e) if !e.use_stderr() => return print_help_or_version(&e),
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

fn print_help_or_version(e: &clap::Error) -> ExitCode {
    use std::io::{IsTerminal, Write};
    let rendered = e.render();
    let text = if std::io::stdout().is_terminal() {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader has seen enough (`keyway --help | head -1`).
        Err(io) if io.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(io) => {
            let failed = cli::CliError::Output(io);
            cli::error_line(&failed.to_string());
            ExitCode::from(failed.exit_code().clamp(1, 255) as u8)
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
