//! The unlock screen's keys.

use crate::tui::app::keys::{app, bind, Bound, Keys, BACKTAB, DOWN, ENTER, ESC, F1, TAB, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Submit,
    NextField,
}

// Ctrl-C quits from every table; the app handles it before these and help lists it.
/// Unlocking an existing vault: one passphrase field, so nothing to switch between.
pub static UNLOCK: Keys<Command> = Keys {
    title: "Unlock",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::Submit, "unlock the vault"),
        app(&[F1], Bound::Help, "help"),
        app(&[ESC], Bound::Quit, "quit"),
    ],
};

/// Creating a vault: the passphrase and its confirmation.
pub static CREATE: Keys<Command> = Keys {
    title: "Create a vault",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::Submit, "create the vault"),
        bind(
            &[TAB, BACKTAB, DOWN, UP],
            Command::NextField,
            "switch between passphrase fields",
        )
        .footer("other field"),
        app(&[F1], Bound::Help, "help"),
        app(&[ESC], Bound::Quit, "quit"),
    ],
};
