//! Entering and leaving the full-screen terminal. Leaving is idempotent and happens on every
//! way out: the guard's Drop (normal exit, error, SIGTERM/SIGHUP via the loop) and the panic
//! hook (which then hands over to the previous hook; it never exits the process itself, so
//! destructors, and with them zeroization, still run).

use std::io::{self, IsTerminal, Stdout};
use std::sync::Once;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    pub terminal: Term,
}

/// Raw mode, alternate screen, bracketed paste (so a paste is one event). No mouse capture:
/// the terminal's own selection keeps working.
pub fn enter() -> io::Result<TerminalGuard> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(io::Error::other(
            "keyway's interactive mode needs a terminal; in scripts use its subcommands",
        ));
    }
    install_panic_hook();
    enable_raw_mode()?;
    let entered = execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste);
    if let Err(e) = entered {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(terminal) => Ok(TerminalGuard { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Puts the terminal back as the shell expects it. Errors are ignored: after a SIGHUP there is
/// no terminal left to write to, and nothing better can be done.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A storage-engine panic inside the vault's guard is caught and reported as a
            // damaged vault; the UI carries on, so the terminal must stay as it is.
            if crate::vault::guard::in_guarded_section() {
                return;
            }
            restore();
            previous(info);
        }));
    });
}
