//! The credential form's keys: the plain form's, the OAuth2 form's (which can log in), and the
//! pasted-address field's of a browser login.

use crate::tui::app::keys::{
    app, bind, ctrl, k, Binding, Bound, Keys, BACKTAB, DOWN, ENTER, ESC, F1, LEFT, RIGHT, SPACE,
    TAB, UP,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
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
    Back,
    /// The pasted address: exchange it.
    Confirm,
    /// The pasted address: give up the login.
    Cancel,
    /// The conflict dialog: take the vault's version into the form, dropping the edits.
    ReloadTheirs,
    /// The conflict dialog: write the form's version over the vault's.
    OverwriteMine,
    /// The conflict dialog: close it and go on editing. The host key dialog: do not trust it.
    KeepEditing,
    /// The host key dialog (an SSH server the credential pins no key of yet): pin the
    /// fingerprint shown into `host_key` and save, verified against it.
    TrustHostKey,
    /// While the check runs: stop it, keep the form as it was.
    CancelCheck,
    /// A pick list: the next or the previous value.
    NextChoice,
    PrevChoice,
    /// The form's `Y` (letters type here): copy the last reason or detail, or the revealed
    /// secret (after a confirmation).
    Yank,
}

// The form's keys, shared by the plain and the OAuth2 form lists.
const NEXT: Binding<Command> = bind(&[TAB, DOWN], Command::NextField, "next field");
const PREV: Binding<Command> = bind(&[BACKTAB, UP], Command::PrevField, "previous field");
const SUBMIT: Binding<Command> = bind(
    &[ENTER],
    Command::Submit,
    "next field; on the last one, save",
)
.minor();
const SAVE: Binding<Command> = bind(&[ctrl('s')], Command::Save, "verify and save");
const SAVE_UNVERIFIED: Binding<Command> = bind(
    &[ctrl('o')],
    Command::SaveUnverified,
    "save as unverified (after 'unreachable')",
)
.footer("save unverified");
const REVEAL: Binding<Command> = bind(
    &[ctrl('r')],
    Command::Reveal,
    "reveal the secret for 10 s (a stored one asks first)",
)
.footer("reveal");
const YANK: Binding<Command> = bind(
    &[ctrl('y')],
    Command::Yank,
    "copy the reason, the detail or the revealed secret",
)
.footer("copy")
.minor();
const HELP: Binding<Command> = app(&[F1], Bound::Help, "help");
/// Where nothing is typed (a pick list, a running check), `?` is help as on every screen.
const HELP_OR_QUESTION: Binding<Command> = app(&[k('?'), F1], Bound::Help, "help");

pub static FORM: Keys<Command> = Keys {
    title: "Credential form",
    takes_text: true,
    bindings: &[
        NEXT,
        PREV,
        SUBMIT,
        SAVE,
        SAVE_UNVERIFIED,
        REVEAL,
        YANK,
        bind(&[ESC], Command::Back, "close (asks when changed)"),
        HELP,
    ],
};

// Ctrl-b would be tmux's prefix, so the browser login is on Ctrl-p.
pub static OAUTH_FORM: Keys<Command> = Keys {
    title: "Credential form (OAuth2)",
    takes_text: true,
    bindings: &[
        NEXT,
        PREV,
        SUBMIT,
        SAVE,
        SAVE_UNVERIFIED,
        REVEAL,
        YANK,
        bind(
            &[ctrl('g')],
            Command::Login,
            "log in: device code (browser if no device URL)",
        ),
        bind(
            &[ctrl('p')],
            Command::LoginPaste,
            "log in in a browser, paste the address back",
        ),
        bind(
            &[ESC],
            Command::Back,
            "cancel the login; else close (asks when changed)",
        ),
        HELP,
    ],
};

/// While a browser login waits for the address the browser ended on (text).
pub static LOGIN_PASTE: Keys<Command> = Keys {
    title: "Log in: paste the address",
    takes_text: true,
    bindings: &[
        bind(
            &[ENTER],
            Command::Confirm,
            "exchange the pasted address for tokens",
        ),
        bind(&[ESC], Command::Cancel, "cancel the login"),
        HELP,
    ],
};

/// A field of fixed values has the focus: ←/→ and Space pick, nothing is typed.
pub static CHOICE: Keys<Command> = Keys {
    title: "Credential form (a pick list)",
    takes_text: false,
    bindings: &[
        bind(&[SPACE, RIGHT], Command::NextChoice, "next value").footer("pick"),
        bind(&[LEFT], Command::PrevChoice, "previous value").minor(),
        NEXT,
        PREV,
        SUBMIT,
        SAVE,
        SAVE_UNVERIFIED,
        REVEAL,
        YANK,
        bind(&[ESC], Command::Back, "close (asks when changed)").footer("close"),
        HELP_OR_QUESTION,
    ],
};

/// While the draft is being verified: the fields wait (the check is of what they held).
pub static VERIFYING: Keys<Command> = Keys {
    title: "Credential form (verifying)",
    takes_text: false,
    bindings: &[
        bind(
            &[ESC],
            Command::CancelCheck,
            "cancel the check; the form stays as it was",
        )
        .footer("cancel the check"),
        HELP_OR_QUESTION,
    ],
};

/// An SSH server presented a host key the credential pins none of yet: trust it, or not.
pub static HOST_KEY: Keys<Command> = Keys {
    title: "Trust this host key?",
    takes_text: false,
    bindings: &[
        bind(
            &[k('y')],
            Command::TrustHostKey,
            "trust it: pin it in host_key and save",
        ),
        bind(
            &[k('n'), ESC],
            Command::KeepEditing,
            "do not trust it; keep editing",
        ),
        app(&[F1, k('?')], Bound::Help, "help"),
    ],
};

/// The save met another process's change: whose version wins.
pub static CONFLICT: Keys<Command> = Keys {
    title: "Changed by another process",
    takes_text: false,
    bindings: &[
        bind(
            &[k('r')],
            Command::ReloadTheirs,
            "reload theirs (your changes are dropped)",
        ),
        bind(&[k('o')], Command::OverwriteMine, "overwrite with mine"),
        bind(&[ESC, k('k')], Command::KeepEditing, "keep editing"),
        app(&[F1, k('?')], Bound::Help, "help"),
    ],
};
