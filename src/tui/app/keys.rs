//! The keys machinery every screen's key table is built with. A screen owns its tables (its
//! keys.rs): one typed list per focus state, each binding a key set to a command and a help
//! text. The same list drives dispatch (`Keys::command_for`), the help overlay and the hint
//! line, so what the help says is exactly what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

pub const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
pub const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
pub const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

pub const UP: Key = code(KeyCode::Up);
pub const DOWN: Key = code(KeyCode::Down);
pub const LEFT: Key = code(KeyCode::Left);
pub const RIGHT: Key = code(KeyCode::Right);
pub const ENTER: Key = code(KeyCode::Enter);
pub const ESC: Key = code(KeyCode::Esc);
pub const TAB: Key = code(KeyCode::Tab);
pub const BACKTAB: Key = code(KeyCode::BackTab);
pub const F1: Key = code(KeyCode::F(1));
pub const SPACE: Key = k(' ');
pub const DELETE: Key = code(KeyCode::Delete);
pub const BACKSPACE: Key = code(KeyCode::Backspace);

/// What a binding does: one of the app's own commands, which mean the same on every screen, or
/// the screen's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound<C> {
    Quit,
    Help,
    /// Drop the keys now and return to Unlock.
    Lock,
    /// The `:` command line.
    CommandLine,
    Screen(C),
}

pub struct Binding<C: 'static> {
    pub keys: &'static [Key],
    pub command: Bound<C>,
    /// What the help overlay says.
    pub help: &'static str,
    /// What the footer says (shorter); None: the help's first clause.
    pub label: Option<&'static str>,
    /// Shown in the footer only after every other key, when there is room (moving the cursor:
    /// the arrows need no reminder).
    pub minor: bool,
}

/// A binding of one of the screen's own commands.
pub const fn bind<C>(keys: &'static [Key], command: C, help: &'static str) -> Binding<C> {
    Binding {
        keys,
        command: Bound::Screen(command),
        help,
        label: None,
        minor: false,
    }
}

/// A binding of one of the app's commands (quit, help, lock).
pub const fn app<C>(keys: &'static [Key], command: Bound<C>, help: &'static str) -> Binding<C> {
    Binding {
        keys,
        command,
        help,
        label: None,
        minor: false,
    }
}

impl<C: Copy> Binding<C> {
    /// The footer's word for it.
    pub const fn footer(self, label: &'static str) -> Binding<C> {
        Binding {
            label: Some(label),
            ..self
        }
    }

    /// Last in the footer, only when there is room.
    pub const fn minor(self) -> Binding<C> {
        Binding {
            minor: true,
            ..self
        }
    }
}

/// One binding as the footer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FooterEntry {
    pub keys: &'static [Key],
    pub label: &'static str,
    pub minor: bool,
    /// The binding opens help: the footer ends with it ("? more" when keys were left out).
    pub help: bool,
}

/// Arrow keys (and Tab) move the cursor: every user knows them, so the footer shows them last.
fn moves_the_cursor(keys: &[Key]) -> bool {
    keys.first().is_some_and(|k| {
        k.mods.is_empty()
            && matches!(
                k.code,
                KeyCode::Up
                    | KeyCode::Down
                    | KeyCode::Left
                    | KeyCode::Right
                    | KeyCode::Tab
                    | KeyCode::BackTab
            )
    })
}

/// The first clause of a help text, for the footer.
pub fn first_clause(help: &str) -> &str {
    help.split([';', '(']).next().unwrap_or(help).trim_end()
}

/// One key table: what the keyboard does while a screen (or a dialog) is in one focus state.
pub struct Keys<C: 'static> {
    /// Names the table in the help overlay ("Help: Credentials").
    pub title: &'static str,
    /// A text field has the focus: unbound printable keys are typed into it.
    pub takes_text: bool,
    pub bindings: &'static [Binding<C>],
}

impl<C: Copy> Keys<C> {
    pub fn command_for(&self, event: &KeyEvent) -> Option<Bound<C>> {
        self.bindings
            .iter()
            .find(|b| b.keys.iter().any(|key| matches(key, event)))
            .map(|b| b.command)
    }
}

/// A key table with its command type left out: what the hint line and the help overlay read,
/// whichever screen it belongs to.
pub trait KeyHelp: Sync {
    fn title(&self) -> &'static str;
    fn takes_text(&self) -> bool;
    /// Each binding's keys and help text, in the table's order (its priority).
    fn entries(&self) -> Vec<(&'static [Key], &'static str)>;
    /// Each binding as the footer shows it, in the table's order.
    fn footer_entries(&self) -> Vec<FooterEntry>;
}

impl<C: Sync> KeyHelp for Keys<C> {
    fn title(&self) -> &'static str {
        self.title
    }
    fn takes_text(&self) -> bool {
        self.takes_text
    }
    fn entries(&self) -> Vec<(&'static [Key], &'static str)> {
        self.bindings.iter().map(|b| (b.keys, b.help)).collect()
    }
    fn footer_entries(&self) -> Vec<FooterEntry> {
        self.bindings
            .iter()
            .map(|b| FooterEntry {
                keys: b.keys,
                label: b.label.unwrap_or_else(|| first_clause(b.help)),
                minor: b.minor || moves_the_cursor(b.keys) || matches!(b.command, Bound::Lock),
                help: matches!(b.command, Bound::Help),
            })
            .collect()
    }
}

impl std::fmt::Debug for dyn KeyHelp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({:?})", self.title())
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
        KeyCode::Backspace => "Backspace".into(),
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
pub fn keys_label(keys: &[Key]) -> String {
    keys.iter().map(key_label).collect::<Vec<_>>().join("/")
}

/// What is wrong with a screen's key tables: a key bound twice in one table, or a plain
/// printable key bound in a table whose text field would then never receive it. Each screen's
/// tests run it over its tables.
pub fn table_problems(tables: &[&dyn KeyHelp]) -> Vec<String> {
    let mut problems = Vec::new();
    for table in tables {
        let keys: Vec<&Key> = table
            .entries()
            .into_iter()
            .flat_map(|(keys, _)| keys.iter())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            if keys[i + 1..].contains(a) {
                problems.push(format!("{}: {a:?} bound twice", table.title()));
            }
        }
        if table.takes_text() {
            for key in &keys {
                if matches!(key.code, KeyCode::Char(_)) && key.mods.is_empty() {
                    problems.push(format!(
                        "{} would swallow typed '{:?}'",
                        table.title(),
                        key.code
                    ));
                }
            }
        }
    }
    problems
}
