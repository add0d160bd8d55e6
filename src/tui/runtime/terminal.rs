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
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;

use crate::core::text::is_hidden_or_control;

pub type Term = Terminal<SafeBackend<CrosstermBackend<Stdout>>>;

/// The UI's one way to the screen: every cell drawn passes here and loses any character that
/// hides or reorders text (core::text, the rule the CLI's output follows). ratatui already
/// drops control characters (ESC, C1); but bidi controls and zero-width characters are zero
/// columns wide, so ratatui appends them to the cell before, and a terminal with bidi support
/// would reorder the row around a U+202E from a server's answer or a component file.
pub struct SafeBackend<B>(pub B);

impl<B: Backend> Backend for SafeBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let cells: Vec<(u16, u16, Cell)> = content
            .map(|(x, y, cell)| {
                let mut cell = cell.clone();
                if cell.symbol().chars().any(is_hidden_or_control) {
                    let clean: String = cell
                        .symbol()
                        .chars()
                        .filter(|c| !is_hidden_or_control(*c))
                        .collect();
                    cell.set_symbol(if clean.is_empty() { " " } else { &clean });
                }
                (x, y, cell)
            })
            .collect();
        self.0.draw(cells.iter().map(|(x, y, c)| (*x, *y, c)))
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.0.append_lines(n)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.0.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.0.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.0.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.0.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.0.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush()
    }
}

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
    match Terminal::new(SafeBackend(CrosstermBackend::new(io::stdout()))) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::text::Line;

    #[test]
    fn hidden_and_reordering_characters_never_reach_the_screen() {
        let mut terminal = Terminal::new(SafeBackend(TestBackend::new(30, 1))).unwrap();
        terminal
            .draw(|f| {
                // A line renders zero-width characters onto the cell before (a paragraph's
                // reflow happens to drop them; tables and titles render lines).
                f.render_widget(
                    Line::from("good\u{202E}dab zero\u{200B}w \u{1b}[2J"),
                    f.area(),
                )
            })
            .unwrap();
        let shown: String = terminal
            .backend()
            .0
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(!shown.chars().any(is_hidden_or_control), "{shown:?}");
        assert!(shown.starts_with("gooddab zerow [2J"), "{shown:?}");
    }
}
