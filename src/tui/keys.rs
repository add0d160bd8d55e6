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
    /// OAuth2: log in with the device grant (or the browser flow when there is no device
    /// endpoint).
    Login,
    /// OAuth2: log in through a browser and paste the address it ended on.
    LoginPaste,
    Confirm,
    Cancel,
    /// The workspace's flows (from the grid).
    Flows,
    /// The audit table (from the grid).
    Audit,
    /// A credential's detail view with its verification history.
    Details,
    /// The flows using a credential, with "rebind to another credential".
    UsedBy,
    NextStep,
    /// Flip a yes/no choice (active, all workspaces, move instead of copy...).
    Toggle,
    Activate,
    Deactivate,
    Promote,
    MoveUp,
    MoveDown,
    Remove,
    SortNext,
    SortReverse,
    AttentionFilter,
    AllWorkspaces,
    VerifyAll,
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
    /// The form of an OAuth2 component: the form's keys plus "log in".
    OAuthForm,
    /// The pasted-address field of a browser login (text).
    LoginPaste,
    Prompt,
    ConfirmDelete,
    ConfirmDiscard,
    Help,
    Flows,
    /// Wizard step 1: name and environment (text).
    WizardName,
    /// Wizard step 2, the catalogue pane: typing filters it.
    WizardComponents,
    /// Wizard step 2, the chosen components pane: reorder and remove.
    WizardChosen,
    WizardCredentials,
    WizardReview,
    PromoteSteps,
    /// The promoted copy's name (text).
    PromoteName,
    UsedBy,
    Audit,
    Detail,
}

/// Every context, for the checks below and the help tests.
pub const ALL_CONTEXTS: &[Context] = &[
    Context::Unlock,
    Context::Workspaces,
    Context::Grid,
    Context::GridFilter,
    Context::Credentials,
    Context::Form,
    Context::OAuthForm,
    Context::LoginPaste,
    Context::Prompt,
    Context::ConfirmDelete,
    Context::ConfirmDiscard,
    Context::Help,
    Context::Flows,
    Context::WizardName,
    Context::WizardComponents,
    Context::WizardChosen,
    Context::WizardCredentials,
    Context::WizardReview,
    Context::PromoteSteps,
    Context::PromoteName,
    Context::UsedBy,
    Context::Audit,
    Context::Detail,
];

impl Context {
    /// Contexts with a focused text field: unbound printable keys are typed into it.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::Unlock
                | Context::GridFilter
                | Context::Form
                | Context::OAuthForm
                | Context::LoginPaste
                | Context::Prompt
                | Context::WizardName
                | Context::WizardComponents
                | Context::PromoteName
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
            Context::OAuthForm => "Credential form (OAuth2)",
            Context::LoginPaste => "Log in: paste the address",
            Context::Prompt => "Prompt",
            Context::ConfirmDelete => "Confirm delete",
            Context::ConfirmDiscard => "Discard changes",
            Context::Help => "Help",
            Context::Flows => "Flows",
            Context::WizardName => "New flow: name and environment",
            Context::WizardComponents => "New flow: components (filtering)",
            Context::WizardChosen => "New flow: chosen components",
            Context::WizardCredentials => "New flow: credentials",
            Context::WizardReview => "New flow: review",
            Context::PromoteSteps => "Promote to production",
            Context::PromoteName => "Promote: name of the copy",
            Context::UsedBy => "Used by",
            Context::Audit => "Audit",
            Context::Detail => "Credential detail",
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
const SPACE: Key = k(' ');

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
    b(&[k('f')], Command::Flows, "the workspace's flows"),
    b(&[k('A')], Command::Audit, "audit every credential"),
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
    b(
        &[k('i')],
        Command::Details,
        "details and verification history",
    ),
    b(&[k('u')], Command::UsedBy, "flows using it; rebind them"),
    b(&[k('d'), code(KeyCode::Delete)], Command::Delete, "delete"),
    b(&[ESC, k('h')], Command::Back, "back to the components"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

// The form's keys, shared by the plain and the OAuth2 form lists.
const FORM_NEXT: Binding = b(&[TAB, DOWN], Command::NextField, "next field");
const FORM_PREV: Binding = b(&[BACKTAB, UP], Command::PrevField, "previous field");
const FORM_SUBMIT: Binding = b(
    &[ENTER],
    Command::Submit,
    "next field; on the last one, save",
);
const FORM_SAVE: Binding = b(&[ctrl('s')], Command::Save, "verify and save");
const FORM_SAVE_UNVERIFIED: Binding = b(
    &[ctrl('o')],
    Command::SaveUnverified,
    "save as unverified (after 'unreachable')",
);
const FORM_REVEAL: Binding = b(
    &[ctrl('r')],
    Command::Reveal,
    "reveal the secret field for 10 s",
);
const FORM_BACK: Binding = b(&[ESC], Command::Back, "close (asks when changed)");
const FORM_HELP: Binding = b(&[F1], Command::Help, "help");

pub const FORM: &[Binding] = &[
    FORM_NEXT,
    FORM_PREV,
    FORM_SUBMIT,
    FORM_SAVE,
    FORM_SAVE_UNVERIFIED,
    FORM_REVEAL,
    FORM_BACK,
    FORM_HELP,
];

// Ctrl-b would be tmux's prefix, so the browser login is on Ctrl-p.
pub const OAUTH_FORM: &[Binding] = &[
    FORM_NEXT,
    FORM_PREV,
    FORM_SUBMIT,
    FORM_SAVE,
    FORM_SAVE_UNVERIFIED,
    FORM_REVEAL,
    b(
        &[ctrl('g')],
        Command::Login,
        "log in: device code (browser if no device URL)",
    ),
    b(
        &[ctrl('p')],
        Command::LoginPaste,
        "log in in a browser, paste the address back",
    ),
    b(
        &[ESC],
        Command::Back,
        "cancel the login; else close (asks when changed)",
    ),
    FORM_HELP,
];

pub const LOGIN_PASTE: &[Binding] = &[
    b(
        &[ENTER],
        Command::Confirm,
        "exchange the pasted address for tokens",
    ),
    b(&[ESC], Command::Cancel, "cancel the login"),
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

pub const FLOWS: &[Binding] = &[
    b(&[UP, k('k')], Command::Up, "previous flow"),
    b(&[DOWN, k('j')], Command::Down, "next flow"),
    b(&[k('n')], Command::Add, "new flow (wizard)"),
    b(&[ENTER, k('e')], Command::Edit, "edit: rebind its steps"),
    b(&[k('a')], Command::Activate, "activate"),
    b(&[k('x')], Command::Deactivate, "deactivate"),
    b(&[k('p')], Command::Promote, "promote to production"),
    b(&[k('d'), code(KeyCode::Delete)], Command::Delete, "delete"),
    b(&[ESC, k('h')], Command::Back, "back to the components"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const WIZARD_NAME: &[Binding] = &[
    b(
        &[ENTER],
        Command::Submit,
        "next field; on the last one, next step",
    ),
    b(
        &[TAB, BACKTAB, DOWN, UP],
        Command::NextField,
        "switch field",
    ),
    b(&[ctrl('n')], Command::NextStep, "next step"),
    b(&[ESC], Command::Back, "leave the wizard"),
    b(&[F1], Command::Help, "help"),
];

pub const WIZARD_COMPONENTS: &[Binding] = &[
    b(&[ENTER], Command::Add, "add the highlighted component"),
    b(
        &[ctrl('n')],
        Command::NextStep,
        "next step (two or more chosen)",
    ),
    b(
        &[TAB],
        Command::NextField,
        "the chosen list: reorder, remove",
    ),
    b(&[ESC], Command::Back, "previous step"),
    b(&[UP], Command::Up, "previous component"),
    b(&[DOWN], Command::Down, "next component"),
    b(&[F1], Command::Help, "help"),
];

pub const WIZARD_CHOSEN: &[Binding] = &[
    b(&[k('K')], Command::MoveUp, "move it earlier"),
    b(&[k('J')], Command::MoveDown, "move it later"),
    b(
        &[
            k('d'),
            k('x'),
            code(KeyCode::Delete),
            code(KeyCode::Backspace),
        ],
        Command::Remove,
        "remove it",
    ),
    b(
        &[TAB, k('/')],
        Command::NextField,
        "back to the catalogue filter",
    ),
    b(
        &[ENTER, ctrl('n')],
        Command::NextStep,
        "next step (two or more chosen)",
    ),
    b(&[ESC], Command::Back, "previous step"),
    b(&[UP, k('k')], Command::Up, "previous chosen component"),
    b(&[DOWN, k('j')], Command::Down, "next chosen component"),
    b(&[k('?'), F1], Command::Help, "help"),
];

pub const WIZARD_CREDENTIALS: &[Binding] = &[
    b(&[ENTER, SPACE], Command::Open, "use this credential"),
    b(&[k('a'), k('n')], Command::Add, "add a new credential here"),
    b(&[ctrl('n')], Command::NextStep, "review (every step bound)"),
    b(
        &[TAB, RIGHT, k('l')],
        Command::NextField,
        "next step of the flow",
    ),
    b(
        &[BACKTAB, LEFT, k('h')],
        Command::PrevField,
        "previous step of the flow",
    ),
    b(&[ESC], Command::Back, "previous step"),
    b(&[UP, k('k')], Command::Up, "previous credential"),
    b(&[DOWN, k('j')], Command::Down, "next credential"),
    b(&[k('?'), F1], Command::Help, "help"),
];

pub const WIZARD_REVIEW: &[Binding] = &[
    b(
        &[SPACE, k('t')],
        Command::Toggle,
        "save as active or inactive",
    ),
    b(&[ENTER, ctrl('s')], Command::Save, "save the flow"),
    b(&[ESC], Command::Back, "previous step"),
    b(&[k('?'), F1], Command::Help, "help"),
];

pub const PROMOTE_STEPS: &[Binding] = &[
    b(&[ENTER, ctrl('s')], Command::Save, "promote"),
    b(
        &[RIGHT, k('l'), SPACE],
        Command::Right,
        "next candidate credential",
    ),
    b(
        &[LEFT, k('h')],
        Command::Left,
        "previous candidate credential",
    ),
    b(&[k('a')], Command::Add, "add a production credential here"),
    b(&[k('m')], Command::Toggle, "move instead of copy"),
    b(&[TAB], Command::NextField, "edit the copy's name"),
    b(&[ESC], Command::Back, "cancel"),
    b(&[UP, k('k')], Command::Up, "previous step"),
    b(&[DOWN, k('j')], Command::Down, "next step"),
    b(&[k('?'), F1], Command::Help, "help"),
];

pub const PROMOTE_NAME: &[Binding] = &[
    b(&[TAB, BACKTAB], Command::NextField, "back to the steps"),
    b(&[ENTER, ctrl('s')], Command::Save, "promote"),
    b(&[ESC], Command::Back, "cancel"),
    b(&[F1], Command::Help, "help"),
];

pub const USED_BY: &[Binding] = &[
    b(&[UP, k('k')], Command::Up, "previous replacement"),
    b(&[DOWN, k('j')], Command::Down, "next replacement"),
    b(
        &[ENTER],
        Command::Confirm,
        "rebind every flow to the highlighted credential",
    ),
    b(&[ESC, k('h')], Command::Back, "back to the credentials"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const AUDIT: &[Binding] = &[
    b(&[UP, k('k')], Command::Up, "previous row"),
    b(&[DOWN, k('j')], Command::Down, "next row"),
    b(&[k('v')], Command::VerifyAll, "verify all (Esc cancels)"),
    b(&[k('s')], Command::SortNext, "sort by the next column"),
    b(&[k('r')], Command::SortReverse, "reverse the sort"),
    b(
        &[k('f')],
        Command::AttentionFilter,
        "only what needs attention",
    ),
    b(&[k('w')], Command::AllWorkspaces, "this workspace or all"),
    b(&[ENTER, k('i')], Command::Details, "details and history"),
    b(&[ESC], Command::Back, "cancel verify all; else back"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
];

pub const DETAIL: &[Binding] = &[
    b(&[ESC, k('h')], Command::Back, "back"),
    b(&[k('v')], Command::Verify, "verify now"),
    b(&[k('u')], Command::UsedBy, "flows using it; rebind them"),
    b(&[ctrl('l')], Command::Lock, "lock now"),
    b(&[k('?'), F1], Command::Help, "help"),
    b(&[k('q')], Command::Quit, "quit"),
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
        Context::OAuthForm => OAUTH_FORM,
        Context::LoginPaste => LOGIN_PASTE,
        Context::Prompt => PROMPT,
        Context::ConfirmDelete => CONFIRM_DELETE,
        Context::ConfirmDiscard => CONFIRM_DISCARD,
        Context::Help => HELP,
        Context::Flows => FLOWS,
        Context::WizardName => WIZARD_NAME,
        Context::WizardComponents => WIZARD_COMPONENTS,
        Context::WizardChosen => WIZARD_CHOSEN,
        Context::WizardCredentials => WIZARD_CREDENTIALS,
        Context::WizardReview => WIZARD_REVIEW,
        Context::PromoteSteps => PROMOTE_STEPS,
        Context::PromoteName => PROMOTE_NAME,
        Context::UsedBy => USED_BY,
        Context::Audit => AUDIT,
        Context::Detail => DETAIL,
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
        for &ctx in ALL_CONTEXTS {
            let keys: Vec<&Key> = bindings(ctx).iter().flat_map(|b| b.keys.iter()).collect();
            for (i, a) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(a), "{ctx:?}: {a:?} bound twice");
            }
        }
    }

    #[test]
    fn text_contexts_bind_no_plain_printable_keys() {
        for &ctx in ALL_CONTEXTS.iter().filter(|c| c.takes_text()) {
            for b in bindings(ctx) {
                for key in b.keys {
                    let printable = matches!(key.code, KeyCode::Char(_)) && key.mods.is_empty();
                    assert!(!printable, "{ctx:?} would swallow typed '{:?}'", key.code);
                }
            }
        }
    }
}
