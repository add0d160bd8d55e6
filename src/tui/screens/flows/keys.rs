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
    /// `/`: the filter takes the keyboard; n/N step between its matches (wrapping).
    Filter,
    NextMatch,
    PrevMatch,
    /// While the filter is typed: Enter keeps it, Esc clears it.
    KeepFilter,
    ClearFilter,
}

pub static FLOWS: Keys<Command> = Keys {
    title: "Flows",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous flow"),
        bind(&[DOWN, k('j')], Command::Down, "next flow"),
        // `c`reate: n/N step between the filter's matches, as on every list.
        bind(&[k('c')], Command::Add, "create a flow (wizard)").footer("new"),
        bind(&[ENTER, k('e')], Command::Edit, "edit: rebind its steps").footer("edit"),
        bind(
            &[k('/')],
            Command::Filter,
            "filter by name, environment, step",
        )
        .footer("filter"),
        bind(&[k('n')], Command::NextMatch, "next match (wraps)").minor(),
        bind(&[k('N')], Command::PrevMatch, "previous match (wraps)").minor(),
        bind(&[k('a')], Command::Activate, "activate"),
        bind(&[k('x')], Command::Deactivate, "deactivate"),
        bind(&[k('p')], Command::Promote, "promote to production").footer("promote"),
        bind(&[k('d'), DELETE], Command::Delete, "delete"),
        bind(
            &[ESC, k('h')],
            Command::Back,
            "clear the filter; else back to the components",
        )
        .footer("back"),
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

/// While the filter has the keyboard.
pub static FLOWS_FILTER: Keys<Command> = Keys {
    title: "Flows (filtering)",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::KeepFilter, "keep the filter").footer("keep"),
        bind(&[ESC], Command::ClearFilter, "clear the filter"),
        bind(&[UP], Command::Up, "stop filtering, move up"),
        bind(&[DOWN], Command::Down, "stop filtering, move down"),
        app(&[F1], Bound::Help, "help"),
    ],
};
