//! The workspace picker's keys, and those of its name prompt.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, DELETE, DOWN, ENTER, ESC, F1, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Open,
    Add,
    Rename,
    Delete,
    Back,
    Confirm,
    Cancel,
}

pub static WORKSPACES: Keys<Command> = Keys {
    title: "Workspaces",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous workspace"),
        bind(&[DOWN, k('j')], Command::Down, "next workspace"),
        bind(&[ENTER, k('l')], Command::Open, "open the workspace"),
        bind(&[k('n'), k('a')], Command::Add, "new workspace"),
        bind(&[k('r')], Command::Rename, "rename"),
        bind(&[k('d'), DELETE], Command::Delete, "delete"),
        bind(&[ESC], Command::Back, "back to the components"),
        app(
            &[k(':')],
            Bound::CommandLine,
            ":audit :flows :grid :ws NAME :c COMPONENT",
        )
        .minor(),
        app(&[ctrl('l')], Bound::Lock, "lock now"),
        app(&[k('?'), F1], Bound::Help, "help"),
        app(&[k('q')], Bound::Quit, "quit"),
    ],
};

/// While the name prompt (new, rename, typed delete confirmation) is open.
pub static PROMPT: Keys<Command> = Keys {
    title: "Prompt",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::Confirm, "confirm"),
        bind(&[ESC], Command::Cancel, "cancel"),
        app(&[F1], Bound::Help, "help"),
    ],
};
