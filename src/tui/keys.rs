//! Key bindings: one typed list per context. The same list drives dispatch (`command_for`) and
//! the help overlay and hint line, so what the help says is exactly what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key means, independent of which key it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    Up,
    Down,
    Left,
    Right,
    Open,
    Back,
    Filter,
    Add,
    Edit,
    Verify,
    Delete,
    Rename,
    Workspaces,
    Lock,
    NextField,
    PrevField,
    Submit,
    Save,
    SaveUnverified,
    Reveal,
    Login,
    Confirm,
    Cancel,
}

/// Where the keyboard focus is; each context has its own binding list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Unlock,
    Workspaces,
    Grid,
    GridFilter,
    Credentials,
    Form,
    Prompt,
    ConfirmDelete,
    ConfirmDiscard,
    Help,
}

impl Context {
    /// Contexts with a focused text field: unbound printable keys are typed into it.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::Unlock | Context::GridFilter | Context::Form | Context::Prompt
        )
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Unlock => "Unlock",
            Context::Workspaces => "Workspaces",
            Context::Grid => "Components",
            Context::GridFilter => "Components (filtering)",
            Context::Credentials => "Credentials",
            Context::Form => "Credential form",
            Context::Prompt => "Prompt",
            Context::ConfirmDelete => "Confirm delete",
            Context::ConfirmDiscard => "Discard changes",
            Context::Help => "Help",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const UP: Key = code(KeyCode::Up);
const DOWN: Key = code(KeyCode::Down);
const LEFT: Key = code(KeyCode::Left);
const RIGHT: Key = code(KeyCode::Right);
const ENTER: Key = code(KeyCode::Enter);
const ESC: Key = code(KeyCode::Esc);
const TAB: Key = code(KeyCode::Tab);
const BACKTAB: Key = code(KeyCode::BackTab);
const F1: Key = code(KeyCode::F(1));

pub struct Binding {
    pub keys: &'static [Key],
    pub command: Command,
    pub help: &'static str,
}

const fn b(keys: &'static [Key], command: Command, help: &'static str) -> Binding {
    Binding {
        keys,
        command,
        help,
    }
}

// Ctrl-C quits from every context; it is handled before these lists and listed in help.
pub const UNLOCK: &[Binding] = &[
    b(&[ENTER], Command::Submit, "unlock (or create) the vault"),
    b(
        &[TAB, BACKTAB, DOWN, UP],
        Command::NextField,
        "switch between passphrase fields",
    ),
    b(&[F1], Command::Help, "help"),
    b(&[ESC], Command::Quit, "quit"),
];

pub const WORKSPACES: &[Binding] = &[
    b(&[UP, k('k')], Command::Up, "previous workspace"),
    b(&[DOWN, k('j')], Command::Down, "next workspace"),
    b(&[ENTER, k('l')], Command::Open, "open the workspace"),
    b(&[k('n'), k('a')], Command::Add, "new workspace"),
    b(&[k('r')], Command::Rename, "rename"),
    b(&[k('d'), code(KeyCode::Delete)], Command::Delete, "delete"),
    b(&[ESC], Command::Back, "back to the components"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const GRID: &[Binding] = &[
    b(&[LEFT, k('h')], Command::Left, "move left"),
    b(&[DOWN, k('j')], Command::Down, "move down"),
    b(&[UP, k('k')], Command::Up, "move up"),
    b(&[RIGHT, k('l')], Command::Right, "move right"),
    b(&[ENTER], Command::Open, "open the component's credentials"),
    b(&[k('/')], Command::Filter, "filter by name"),
    b(&[k('w')], Command::Workspaces, "switch workspace"),
    b(&[ESC], Command::Back, "clear the filter"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const GRID_FILTER: &[Binding] = &[
    b(&[ENTER], Command::Confirm, "keep the filter"),
    b(&[ESC], Command::Cancel, "clear the filter"),
    b(&[UP], Command::Up, "stop filtering, move up"),
    b(&[DOWN], Command::Down, "stop filtering, move down"),
    b(&[LEFT], Command::Left, "stop filtering, move left"),
    b(&[RIGHT], Command::Right, "stop filtering, move right"),
    b(&[F1], Command::Help, "help"),
];

pub const CREDENTIALS: &[Binding] = &[
    b(&[UP, k('k')], Command::Up, "previous credential"),
    b(&[DOWN, k('j')], Command::Down, "next credential"),
    b(&[k('a'), k('n')], Command::Add, "add a credential"),
    b(&[ENTER, k('e')], Command::Edit, "edit"),
    b(&[k('v')], Command::Verify, "verify now"),
    b(&[k('d'), code(KeyCode::Delete)], Command::Delete, "delete"),
    b(&[ESC, k('h')], Command::Back, "back to the components"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const FORM: &[Binding] = &[
    b(&[TAB, DOWN], Command::NextField, "next field"),
    b(&[BACKTAB, UP], Command::PrevField, "previous field"),
    b(
        &[ENTER],
        Command::Submit,
        "next field; on the last one, save",
    ),
    b(&[ctrl('s')], Command::Save, "verify and save"),
    b(
        &[ctrl('o')],
        Command::SaveUnverified,
        "save as unverified (after 'unreachable')",
    ),
    b(
        &[ctrl('r')],
        Command::Reveal,
        "reveal the secret field for 10 s",
    ),
    b(&[ctrl('g')], Command::Login, "OAuth2: log in"),
    b(&[ESC], Command::Back, "close (asks when changed)"),
    b(&[F1], Command::Help, "help"),
];

pub const PROMPT: &[Binding] = &[
    b(&[ENTER], Command::Confirm, "confirm"),
    b(&[ESC], Command::Cancel, "cancel"),
    b(&[F1], Command::Help, "help"),
];

pub const CONFIRM_DELETE: &[Binding] = &[
    b(&[k('y')], Command::Confirm, "delete"),
    b(&[k('n'), ESC], Command::Cancel, "keep it"),
];

pub const CONFIRM_DISCARD: &[Binding] = &[
    b(&[k('y')], Command::Confirm, "discard the changes"),
    b(&[k('n'), ESC], Command::Cancel, "keep editing"),
];

pub const HELP: &[Binding] = &[b(&[ESC, k('?'), k('q'), F1], Command::Back, "close help")];

pub fn bindings(context: Context) -> &'static [Binding] {
    match context {
        Context::Unlock => UNLOCK,
        Context::Workspaces => WORKSPACES,
        Context::Grid => GRID,
        Context::GridFilter => GRID_FILTER,
        Context::Credentials => CREDENTIALS,
        Context::Form => FORM,
        Context::Prompt => PROMPT,
        Context::ConfirmDelete => CONFIRM_DELETE,
        Context::ConfirmDiscard => CONFIRM_DISCARD,
        Context::Help => HELP,
    }
}

fn matches(key: &Key, event: &KeyEvent) -> bool {
    // Terminals report Shift with capital letters, '?' and Shift-Tab inconsistently, so Shift
    // is ignored for those; every other modifier must match exactly.
    let mods = match event.code {
        KeyCode::Char(_) | KeyCode::BackTab => event.modifiers - KeyModifiers::SHIFT,
        _ => event.modifiers,
    };
    key.code == event.code && key.mods == mods
}

/// Ctrl-C: quit from anywhere.
pub fn is_interrupt(event: &KeyEvent) -> bool {
    matches(&ctrl('c'), event)
}

pub fn command_for(context: Context, event: &KeyEvent) -> Option<Command> {
    bindings(context)
        .iter()
        .find(|b| b.keys.iter().any(|key| matches(key, event)))
        .map(|b| b.command)
}

pub fn key_label(key: &Key) -> String {
    let name = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    if key.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

/// "a/n" style label of all keys of a binding.
pub fn binding_label(binding: &Binding) -> String {
    binding
        .keys
        .iter()
        .map(key_label)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for ctx in [
            Context::Unlock,
            Context::Workspaces,
            Context::Grid,
            Context::GridFilter,
            Context::Credentials,
            Context::Form,
            Context::Prompt,
            Context::ConfirmDelete,
            Context::ConfirmDiscard,
            Context::Help,
        ] {
            let keys: Vec<&Key> = bindings(ctx).iter().flat_map(|b| b.keys.iter()).collect();
            for (i, a) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(a), "{ctx:?}: {a:?} bound twice");
            }
        }
    }

    #[test]
    fn text_contexts_bind_no_plain_printable_keys() {
        for ctx in [
            Context::Unlock,
            Context::GridFilter,
            Context::Form,
            Context::Prompt,
        ] {
            for b in bindings(ctx) {
                for key in b.keys {
                    let printable = matches!(key.code, KeyCode::Char(_)) && key.mods.is_empty();
                    assert!(!printable, "{ctx:?} would swallow typed '{:?}'", key.code);
                }
            }
        }
    }
}
