//! The detail view's keys.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, ESC, F1};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Back,
    Verify,
    UsedBy,
    Rotate,
}

pub static DETAIL: Keys<Command> = Keys {
    title: "Credential detail",
    takes_text: false,
    bindings: &[
        bind(&[ESC, k('h')], Command::Back, "back"),
        bind(&[k('v')], Command::Verify, "verify now"),
        bind(&[k('u')], Command::UsedBy, "flows using it; rebind them"),
        bind(&[k('R')], Command::Rotate, "rotate (a database password)").footer("rotate"),
        app(&[ctrl('l')], Bound::Lock, "lock now"),
        app(&[k('?'), F1], Bound::Help, "help"),
        app(&[k('q')], Bound::Quit, "quit"),
    ],
};
