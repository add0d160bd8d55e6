//! The component grid's keys, and its filter's.

use crate::tui::app::keys::{
    app, bind, ctrl, k, Bound, Keys, DOWN, ENTER, ESC, F1, LEFT, RIGHT, UP,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Left,
    Down,
    Up,
    Right,
    Open,
    Filter,
    /// n/N: the next or previous match of the filter (wrapping).
    NextMatch,
    PrevMatch,
    Workspaces,
    Flows,
    Audit,
    /// Clears the filter.
    Back,
    /// Keeps the filter and leaves it.
    Confirm,
    /// Clears the filter and leaves it.
    Cancel,
}

pub static GRID: Keys<Command> = Keys {
    title: "Components",
    takes_text: false,
    bindings: &[
        bind(&[LEFT, k('h')], Command::Left, "move left"),
        bind(&[DOWN, k('j')], Command::Down, "move down"),
        bind(&[UP, k('k')], Command::Up, "move up"),
        bind(&[RIGHT, k('l')], Command::Right, "move right"),
        bind(&[ENTER], Command::Open, "open the component's credentials").footer("open"),
        bind(&[k('/')], Command::Filter, "filter by name").footer("filter"),
        bind(&[k('n')], Command::NextMatch, "next match (wraps)").minor(),
        bind(&[k('N')], Command::PrevMatch, "previous match (wraps)").minor(),
        bind(&[k('w')], Command::Workspaces, "switch workspace").footer("workspace"),
        bind(&[k('f')], Command::Flows, "the workspace's flows").footer("flows"),
        bind(&[k('A')], Command::Audit, "audit every credential").footer("audit"),
        bind(&[ESC], Command::Back, "clear the filter").minor(),
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
pub static GRID_FILTER: Keys<Command> = Keys {
    title: "Components (filtering)",
    takes_text: true,
    bindings: &[
        bind(
            &[ENTER],
            Command::Confirm,
            "keep the filter and open the selected component",
        )
        .footer("open"),
        bind(&[ESC], Command::Cancel, "clear the filter"),
        bind(&[UP], Command::Up, "stop filtering, move up"),
        bind(&[DOWN], Command::Down, "stop filtering, move down"),
        bind(&[LEFT], Command::Left, "stop filtering, move left"),
        bind(&[RIGHT], Command::Right, "stop filtering, move right"),
        app(&[F1], Bound::Help, "help"),
    ],
};
