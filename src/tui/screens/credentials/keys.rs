//! A component's credentials list: its keys.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, DELETE, DOWN, ENTER, ESC, F1, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `y`: the name to the clipboard; `Y`: a choice of the reason or the detail.
    Yank,
    YankMore,
    Up,
    Down,
    Add,
    Edit,
    Verify,
    Details,
    UsedBy,
    Delete,
    Back,
}

pub static CREDENTIALS: Keys<Command> = Keys {
    title: "Credentials",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous credential"),
        bind(&[DOWN, k('j')], Command::Down, "next credential"),
        bind(&[k('a'), k('n')], Command::Add, "add a credential"),
        bind(&[ENTER, k('e')], Command::Edit, "edit"),
        bind(&[k('v')], Command::Verify, "verify now"),
        bind(
            &[k('i')],
            Command::Details,
            "details and verification history",
        ),
        bind(&[k('u')], Command::UsedBy, "flows using it; rebind them"),
        bind(&[k('d'), DELETE], Command::Delete, "delete"),
        bind(&[ESC, k('h')], Command::Back, "back to the components"),
        bind(&[k('y')], Command::Yank, "copy its name to the clipboard").footer("copy name"),
        bind(&[k('Y')], Command::YankMore, "copy its reason or detail").minor(),
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
