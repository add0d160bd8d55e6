//! The detail view's keys.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, DELETE, ESC, F1};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `y`: the name to the clipboard; `Y`: a choice of the reason or the detail.
    Yank,
    YankMore,
    Back,
    Verify,
    UsedBy,
    Rotate,
    Edit,
    Delete,
    Component,
}

pub static DETAIL: Keys<Command> = Keys {
    title: "Credential detail",
    takes_text: false,
    bindings: &[
        bind(&[ESC, k('h')], Command::Back, "back"),
        bind(&[k('v')], Command::Verify, "verify now"),
        bind(&[k('e')], Command::Edit, "edit it").footer("edit"),
        bind(
            &[k('u'), k('b')],
            Command::UsedBy,
            "flows using it; rebind them",
        )
        .footer("flows/rebind"),
        bind(
            &[k('d'), DELETE],
            Command::Delete,
            "delete (refused while a flow uses it)",
        )
        .footer("delete"),
        bind(&[k('c')], Command::Component, "its component's list, on it").footer("component"),
        bind(&[k('R')], Command::Rotate, "rotate (a database password)").footer("rotate"),
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
