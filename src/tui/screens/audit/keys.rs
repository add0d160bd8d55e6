//! The audit table's keys.

use crate::tui::app::keys::{app, bind, ctrl, k, Bound, Keys, DELETE, DOWN, ENTER, ESC, F1, UP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `y`: the name to the clipboard; `Y`: a choice of the reason or the detail.
    Yank,
    YankMore,
    Up,
    Down,
    VerifyAll,
    SortNext,
    SortReverse,
    AttentionFilter,
    AllWorkspaces,
    Details,
    Rotate,
    /// The selected row's credential: the form, a check, its flows, the delete, its list.
    Edit,
    Verify,
    Rebind,
    Delete,
    Component,
    Back,
    /// `/`: the filter takes the keyboard; n/N step between its matches (wrapping).
    Filter,
    NextMatch,
    PrevMatch,
    /// While the filter is typed: Enter keeps it, Esc clears it.
    KeepFilter,
    ClearFilter,
}

pub static AUDIT: Keys<Command> = Keys {
    title: "Audit",
    takes_text: false,
    bindings: &[
        bind(&[UP, k('k')], Command::Up, "previous row"),
        bind(&[DOWN, k('j')], Command::Down, "next row"),
        bind(&[k('e')], Command::Edit, "edit the selected credential").footer("edit"),
        bind(
            &[k('v')],
            Command::Verify,
            "verify the selected credential again",
        )
        .footer("verify"),
        bind(
            &[k('/')],
            Command::Filter,
            "filter by name, component, environment, status, reason",
        )
        .footer("filter"),
        bind(&[k('n')], Command::NextMatch, "next match (wraps)").minor(),
        bind(&[k('N')], Command::PrevMatch, "previous match (wraps)").minor(),
        bind(&[k('V')], Command::VerifyAll, "verify all (Esc cancels)"),
        bind(
            &[k('b')],
            Command::Rebind,
            "the flows using it: rebind them",
        )
        .footer("rebind"),
        bind(
            &[k('d'), DELETE],
            Command::Delete,
            "delete (refused while a flow uses it)",
        )
        .footer("delete"),
        bind(&[k('c')], Command::Component, "its component's list, on it").footer("component"),
        bind(&[k('s')], Command::SortNext, "sort by the next column").footer("sort"),
        bind(&[k('r')], Command::SortReverse, "reverse the sort").footer("reverse"),
        bind(
            &[k('f')],
            Command::AttentionFilter,
            "only what needs attention",
        )
        .footer("attention"),
        // Not `w`: on the grid that opens the workspace picker.
        bind(
            &[k('a')],
            Command::AllWorkspaces,
            "all workspaces, or this one again",
        )
        .footer("all workspaces"),
        bind(&[ENTER, k('i')], Command::Details, "details and history").footer("details"),
        bind(
            &[k('R')],
            Command::Rotate,
            "rotate (the row's database password)",
        )
        .footer("rotate"),
        bind(
            &[ESC],
            Command::Back,
            "cancel verify all; else clear the filter; else back",
        )
        .footer("back"),
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
pub static AUDIT_FILTER: Keys<Command> = Keys {
    title: "Audit (filtering)",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::KeepFilter, "keep the filter").footer("keep"),
        bind(&[ESC], Command::ClearFilter, "clear the filter"),
        bind(&[UP], Command::Up, "stop filtering, move up"),
        bind(&[DOWN], Command::Down, "stop filtering, move down"),
        app(&[F1], Bound::Help, "help"),
    ],
};
