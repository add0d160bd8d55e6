//! The flows list's keys.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, DELETE, DOWN, ENTER, ESC, F1, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `y`: the flow's name to the clipboard.
    Yank,
    Up,
    Down,
    Add,
    Edit,
    Activate,
    Deactivate,
    Promote,
    Delete,
    Back,
}

pub static FLOWS: Keys<Command> = Keys {
    title: "Flows",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous flow"),
        bind(&[DOWN, k('j')], Command::Down, "next flow"),
        bind(&[k('n')], Command::Add, "new flow (wizard)").footer("new"),
        bind(&[ENTER, k('e')], Command::Edit, "edit: rebind its steps").footer("edit"),
        bind(&[k('a')], Command::Activate, "activate"),
        bind(&[k('x')], Command::Deactivate, "deactivate"),
        bind(&[k('p')], Command::Promote, "promote to production").footer("promote"),
        bind(&[k('d'), DELETE], Command::Delete, "delete"),
        bind(&[ESC, k('h')], Command::Back, "back to the components").footer("back"),
        bind(&[k('y')], Command::Yank, "copy its name to the clipboard").footer("copy name"),
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
