//! The palette: the 16 named ANSI colours only (they follow the user's terminal scheme and work
//! over any SSH session), and none at all when NO_COLOR is set. Meaning never rests on colour
//! alone: selection is reversed video and statuses are spelled out.

use ratatui::style::{Color, Modifier, Style};

use crate::core::health::Health;
use crate::core::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub const COLOR: Theme = Theme { color: true };
    pub const PLAIN: Theme = Theme { color: false };

    /// NO_COLOR (https://no-color.org): present and non-empty disables colour.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn base(&self) -> Style {
        Style::new()
    }
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn focus_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// The credential counter on a component card.
    pub fn counter(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn status_bar(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Good green, failing red, needing attention yellow, never checked grey (core::health).
    pub fn health(&self, health: Health) -> Style {
        match health {
            Health::Good => self.ok(),
            Health::Failing => self.error(),
            Health::Attention => self.warn(),
            Health::Unchecked => self.dim(),
        }
    }

    /// Verified green, rejected/misconfigured red, unverified/unreachable yellow, never checked
    /// grey.
    pub fn status(&self, status: Option<Status>) -> Style {
        match status {
            Some(Status::Verified) => self.ok(),
            Some(Status::Rejected | Status::Misconfigured) => self.error(),
            Some(Status::Unreachable | Status::Unverified) => self.warn(),
            None => self.dim(),
        }
    }

    /// A status word with its glyph, in its colour: "✗ rejected", "○ never".
    pub fn status_span(&self, status: Option<Status>) -> ratatui::text::Span<'static> {
        let word = status.map_or("never", Status::as_str);
        ratatui::text::Span::styled(
            format!("{} {word}", Health::of_status(status).glyph()),
            self.status(status),
        )
    }
}
