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
    /// `/`: the filter takes the keyboard; n/N step between its matches (wrapping).
    Filter,
    NextMatch,
    PrevMatch,
    /// While the filter is typed: Enter keeps it, Esc clears it.
    KeepFilter,
    ClearFilter,
}

pub static CREDENTIALS: Keys<Command> = Keys {
    title: "Credentials",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous credential"),
        bind(&[DOWN, k('j')], Command::Down, "next credential"),
        bind(&[k('a')], Command::Add, "add a credential").footer("add"),
        bind(&[ENTER, k('e')], Command::Edit, "edit"),
        bind(&[k('v')], Command::Verify, "verify now").footer("verify"),
        bind(
            &[k('/')],
            Command::Filter,
            "filter by name, environment, status, reason",
        )
        .footer("filter"),
        bind(&[k('n')], Command::NextMatch, "next match (wraps)").minor(),
        bind(&[k('N')], Command::PrevMatch, "previous match (wraps)").minor(),
        bind(
            &[k('i')],
            Command::Details,
            "details and verification history",
        ),
        bind(&[k('u')], Command::UsedBy, "flows using it; rebind them"),
        bind(&[k('d'), DELETE], Command::Delete, "delete"),
        bind(
            &[ESC, k('h')],
            Command::Back,
            "clear the filter; else back to the components",
        ),
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

/// While the filter has the keyboard.
pub static CREDENTIALS_FILTER: Keys<Command> = Keys {
    title: "Credentials (filtering)",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::KeepFilter, "keep the filter").footer("keep"),
        bind(&[ESC], Command::ClearFilter, "clear the filter"),
        bind(&[UP], Command::Up, "stop filtering, move up"),
        bind(&[DOWN], Command::Down, "stop filtering, move down"),
        app(&[F1], Bound::Help, "help"),
    ],
};
