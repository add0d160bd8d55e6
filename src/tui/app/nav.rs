//! Navigation requests. A screen never opens or closes another: its update returns one of these,
//! and the app's one navigation stack (navigation.rs) applies it. A route carries what the
//! screen it names needs to open, as plain data.

use crate::core::RecordId;
use crate::tui::widgets::notice::Notice;

/// What a screen asks of the navigation stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nav {
    /// Open a screen over this one; Back returns here.
    Open(Route),
    /// Close this screen; the one beneath takes `Returned`, if any (`Screen::returned`).
    Back(Option<Returned>),
    /// Close this screen and open another in its place.
    Replace(Route),
    /// Close every screen and open this one alone (a workspace chosen, the vault locked).
    Reset(Route),
}

impl Nav {
    pub const BACK: Nav = Nav::Back(None);
}

/// A screen to open, with what it opens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The passphrase screen, saying why it is back (locked, and after how long).
    Unlock {
        message: Option<Notice>,
    },
    Workspaces,
    /// The component grid of the open workspace.
    Grid,
    /// A component's credentials in the open workspace.
    Credentials {
        component: String,
        /// The credential to put the cursor on (coming from the audit or a detail view).
        select: Option<RecordId>,
    },
    /// The credential form: a new credential of `component` (in `environment`), or an edit.
    Form {
        component: String,
        editing: Option<RecordId>,
        environment: String,
        /// The title line: where the form was opened from.
        title: String,
    },
    Flows,
    /// The flow wizard: a new flow, or an edit of this one.
    Wizard {
        editing: Option<RecordId>,
    },
    /// Promotion of a flow to production.
    Promote {
        flow: RecordId,
    },
    /// The flows using a credential, with "rebind to another credential".
    UsedBy {
        credential: RecordId,
    },
    Audit,
    /// A credential's detail view with its verification history.
    Detail {
        credential: RecordId,
    },
}

/// What a closing screen hands the one beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// The form saved this credential (a new one, or the edit).
    CredentialSaved(RecordId),
    /// The wizard saved the flow named so.
    FlowSaved { name: String },
    /// The promotion saved the production flow named so.
    FlowPromoted { name: String },
}

/// A credential being added inline for one step of a multi-step screen (the wizard's
/// credentials step, promotion): the credential form opens over the screen, and the step
/// remembered here takes what it saved when it closes.
#[derive(Debug, Default)]
pub struct InlineAdd {
    step: Option<usize>,
}

impl InlineAdd {
    /// Opens the form for a new `component` credential (in `environment`) for `step`; `crumb`
    /// is the screen's place in the title ("flows › wizard").
    pub fn open(&mut self, step: usize, component: String, environment: &str, crumb: &str) -> Nav {
        self.step = Some(step);
        Nav::Open(Route::Form {
            title: format!("{crumb} › new {component} credential"),
            component,
            editing: None,
            environment: environment.to_string(),
        })
    }

    /// The form closed, handing back `value`: the step and the credential it saved, if it did.
    pub fn finished(&mut self, value: Option<Returned>) -> Option<(usize, RecordId)> {
        match (self.step.take(), value) {
            (Some(step), Some(Returned::CredentialSaved(id))) => Some((step, id)),
            _ => None,
        }
    }
}
