//! The flow wizard's keys, one table per step (two for step 2: the catalogue filter and the
//! chosen list).

use crate::tui::app::keys::{
    app, bind, ctrl, k, Bound, Keys, BACKSPACE, BACKTAB, DELETE, DOWN, ENTER, ESC, F1, LEFT, RIGHT,
    SPACE, TAB, UP,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Submit,
    NextField,
    PrevField,
    NextStep,
    Back,
    Add,
    Up,
    Down,
    MoveUp,
    MoveDown,
    Remove,
    Open,
    Toggle,
    Save,
    /// Step 2: give the keyboard to the catalogue filter.
    FocusFilter,
}

/// Step 1: name and environment (text).
pub static WIZARD_NAME: Keys<Command> = Keys {
    title: "New flow: name and environment",
    takes_text: true,
    bindings: &[
        bind(
            &[ENTER],
            Command::Submit,
            "next field; on the last one, next step",
        ),
        bind(
            &[TAB, BACKTAB, DOWN, UP],
            Command::NextField,
            "switch field",
        ),
        bind(&[ctrl('n')], Command::NextStep, "next step"),
        bind(&[ESC], Command::Back, "leave the wizard"),
        app(&[F1], Bound::Help, "help"),
    ],
};

/// Step 2, the catalogue pane, its filter not focused: `?` is help, `/` (or any other letter,
/// which is then typed) gives the keyboard to the filter.
pub static WIZARD_CATALOGUE: Keys<Command> = Keys {
    title: "New flow: components",
    takes_text: false,
    bindings: &[
        bind(&[ENTER], Command::Add, "add the highlighted component").footer("add"),
        bind(
            &[k('/')],
            Command::FocusFilter,
            "filter the catalogue (or just type)",
        )
        .footer("filter"),
        bind(
            &[ctrl('n')],
            Command::NextStep,
            "next step (two or more chosen)",
        ),
        bind(
            &[TAB],
            Command::NextField,
            "the chosen list: reorder, remove",
        ),
        bind(&[ESC], Command::Back, "previous step"),
        bind(&[UP], Command::Up, "previous component"),
        bind(&[DOWN], Command::Down, "next component"),
        app(&[k('?'), F1], Bound::Help, "help"),
    ],
};

/// Step 2, the catalogue filter focused: typing filters (a typed `?` is text; F1 is help).
pub static WIZARD_COMPONENTS: Keys<Command> = Keys {
    title: "New flow: components (filtering)",
    takes_text: true,
    bindings: &[
        bind(&[ENTER], Command::Add, "add the highlighted component"),
        bind(
            &[ctrl('n')],
            Command::NextStep,
            "next step (two or more chosen)",
        ),
        bind(
            &[TAB],
            Command::NextField,
            "the chosen list: reorder, remove",
        ),
        bind(&[ESC], Command::Back, "clear the filter and leave it"),
        bind(&[UP], Command::Up, "previous component"),
        bind(&[DOWN], Command::Down, "next component"),
        app(&[F1], Bound::Help, "help"),
    ],
};

/// Step 2, the chosen components pane: reorder and remove.
pub static WIZARD_CHOSEN: Keys<Command> = Keys {
    title: "New flow: chosen components",
    takes_text: false,
    bindings: &[
        bind(&[k('K')], Command::MoveUp, "move it earlier"),
        bind(&[k('J')], Command::MoveDown, "move it later"),
        bind(
            &[k('d'), k('x'), DELETE, BACKSPACE],
            Command::Remove,
            "remove it",
        ),
        bind(
            &[TAB, k('/')],
            Command::NextField,
            "back to the catalogue filter",
        ),
        bind(
            &[ENTER, ctrl('n')],
            Command::NextStep,
            "next step (two or more chosen)",
        ),
        bind(&[ESC], Command::Back, "previous step"),
        bind(&[UP, k('k')], Command::Up, "previous chosen component"),
        bind(&[DOWN, k('j')], Command::Down, "next chosen component"),
        app(&[k('?'), F1], Bound::Help, "help"),
    ],
};

pub static WIZARD_CREDENTIALS: Keys<Command> = Keys {
    title: "New flow: credentials",
    takes_text: false,
    bindings: &[
        bind(&[ENTER, SPACE], Command::Open, "use this credential"),
        bind(&[k('a'), k('n')], Command::Add, "add a new credential here"),
        bind(&[ctrl('n')], Command::NextStep, "review (every step bound)"),
        bind(
            &[TAB, RIGHT, k('l')],
            Command::NextField,
            "next step of the flow",
        ),
        bind(
            &[BACKTAB, LEFT, k('h')],
            Command::PrevField,
            "previous step of the flow",
        ),
        bind(&[ESC], Command::Back, "previous step"),
        bind(&[UP, k('k')], Command::Up, "previous credential"),
        bind(&[DOWN, k('j')], Command::Down, "next credential"),
        app(&[k('?'), F1], Bound::Help, "help"),
    ],
};

pub static WIZARD_REVIEW: Keys<Command> = Keys {
    title: "New flow: review",
    takes_text: false,
    bindings: &[
        bind(
            &[SPACE, k('t')],
            Command::Toggle,
            "save as active or inactive",
        ),
        bind(&[ENTER, ctrl('s')], Command::Save, "save the flow"),
        bind(&[ESC], Command::Back, "previous step"),
        app(&[k('?'), F1], Bound::Help, "help"),
    ],
};
