//! "Used by": its keys.

use crate::tui::app::keys::{app, bind, k, Bound, Keys, DOWN, ENTER, ESC, F1, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Confirm,
    Back,
}

pub static USED_BY: Keys<Command> = Keys {
    title: "Used by",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous replacement"),
        bind(&[DOWN, k('j')], Command::Down, "next replacement"),
        bind(
            &[ENTER],
            Command::Confirm,
            "rebind every flow to the highlighted credential",
        ),
        bind(&[ESC, k('h')], Command::Back, "back to the credentials"),
        app(&[k('?'), F1], Bound::Help, "help"),
        app(&[k('q')], Bound::Quit, "quit"),
    ],
};
