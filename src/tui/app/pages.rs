//! The app's list of screens: one line each, naming the screen, its state, the route that
//! opens it and how. A new screen is its own module under screens/ (declared in
//! screens/mod.rs), a line here (and its module's name in the `use` above the list), and its
//! variant in `Route` (nav.rs); nothing else changes.

use super::action::Effect;
use super::nav::Route;
use super::screen::AnyScreen;
use super::shared::Shared;
use crate::tui::screens::{
    audit, credentials, detail, flows, form, grid, promote, unlock, used_by, wizard, workspaces,
};

/// A screen's state that is a page of its own, for finding it on the stack.
pub trait PageState: Sized {
    fn of(page: &Page) -> Option<&Self>;
    fn of_mut(page: &mut Page) -> Option<&mut Self>;
}

macro_rules! screens {
    ($shared:ident; $($id:ident($state:ty) = $route:pat => $open:expr;)*) => {
        /// Which screen a page is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ScreenId {
            $($id,)*
        }

        /// A screen on the navigation stack, with its state.
        #[derive(Debug)]
        pub enum Page {
            $($id($state),)*
        }

        impl Page {
            pub fn id(&self) -> ScreenId {
                match self {
                    $(Page::$id(_) => ScreenId::$id,)*
                }
            }

            pub fn screen(&self) -> &dyn AnyScreen {
                match self {
                    $(Page::$id(s) => s,)*
                }
            }

            pub fn screen_mut(&mut self) -> &mut dyn AnyScreen {
                match self {
                    $(Page::$id(s) => s,)*
                }
            }

            /// The screen `route` names, and what opening it asks of the edges; None when it
            /// cannot open (what it would show is gone, or it said why not in a notice).
            pub fn open(route: Route, $shared: &mut Shared) -> Option<(Page, Vec<Effect>)> {
                match route {
                    $($route => {
                        let (state, effects) = $open?;
                        Some((Page::$id(state), effects))
                    })*
                }
            }
        }

        $(impl PageState for $state {
            fn of(page: &Page) -> Option<&Self> {
                match page {
                    Page::$id(s) => Some(s),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }

            fn of_mut(page: &mut Page) -> Option<&mut Self> {
                match page {
                    Page::$id(s) => Some(s),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        })*
    };
}

/// A screen that opens with nothing to ask of the edges.
fn alone<S>(state: S) -> Option<(S, Vec<Effect>)> {
    Some((state, Vec::new()))
}

screens! { shared;
    Unlock(unlock::UnlockState) = Route::Unlock { message } => alone(unlock::UnlockState::open(message));
    Workspaces(workspaces::WorkspacesState) = Route::Workspaces => alone(workspaces::WorkspacesState::open(shared));
    Grid(grid::GridState) = Route::Grid => alone(grid::GridState::default());
    Credentials(credentials::CredentialsState) = Route::Credentials { component, select } => alone(credentials::CredentialsState::open(shared, component, select.as_ref()));
    Form(form::FormState) = Route::Form { component, editing, environment, title } => form::FormState::open(shared, &component, editing.as_ref(), &environment, title).and_then(alone);
    Flows(flows::FlowsState) = Route::Flows => alone(flows::FlowsState::open(shared));
    Wizard(wizard::WizardState) = Route::Wizard { editing } => wizard::WizardState::open(shared, editing.as_ref()).and_then(alone);
    Promote(promote::PromoteState) = Route::Promote { flow } => promote::PromoteState::open(shared, &flow).and_then(alone);
    UsedBy(used_by::UsedByState) = Route::UsedBy { credential } => alone(used_by::UsedByState::open(shared, credential));
    Audit(audit::AuditState) = Route::Audit => alone(audit::AuditState::open(shared));
    Detail(detail::DetailState) = Route::Detail { credential } => Some(detail::DetailState::open(shared, credential));
}
