//! Promotion's keys: on its steps, and in the copy's name.

use crate::tui::app::keys::{
    app, bind, ctrl, k, Bound, Keys, BACKTAB, DOWN, ENTER, ESC, F1, LEFT, RIGHT, SPACE, TAB, UP,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Save,
    Right,
    Left,
    Add,
    Toggle,
    NextField,
    Back,
    Up,
    Down,
}

pub static PROMOTE_STEPS: Keys<Command> = Keys {
    title: "Promote to production",
    takes_text: false,
    bindings: &[
        bind(&[ENTER, ctrl('s')], Command::Save, "promote"),
        bind(
            &[RIGHT, k('l'), SPACE],
            Command::Right,
            "next candidate credential",
        ),
        bind(
            &[LEFT, k('h')],
            Command::Left,
            "previous candidate credential",
        ),
        bind(&[k('a')], Command::Add, "add a production credential here"),
        bind(&[k('m')], Command::Toggle, "move instead of copy"),
        bind(&[TAB], Command::NextField, "edit the copy's name"),
        bind(&[ESC], Command::Back, "cancel"),
        bind(&[UP, k('k')], Command::Up, "previous step"),
        bind(&[DOWN, k('j')], Command::Down, "next step"),
        app(&[k('?'), F1], Bound::Help, "help"),
    ],
};

/// While the promoted copy's name has the keyboard.
pub static PROMOTE_NAME: Keys<Command> = Keys {
    title: "Promote: name of the copy",
    takes_text: true,
    bindings: &[
        bind(&[TAB, BACKTAB], Command::NextField, "back to the steps"),
        bind(&[ENTER, ctrl('s')], Command::Save, "promote"),
        bind(&[ESC], Command::Back, "cancel"),
        app(&[F1], Bound::Help, "help"),
    ],
};
