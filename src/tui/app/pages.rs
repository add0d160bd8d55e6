//! The app's list of screens: one line each, naming the screen, its state, the route that
//! opens it and how. A new screen is its own module under screens/, a line here, and its
//! variant in `Route` (nav.rs); nothing else changes.

use super::action::Effect;
use super::nav::Route;
use super::screen::AnyScreen;
use super::shared::Shared;
use crate::tui::screens::audit::AuditState;
use crate::tui::screens::credentials::CredentialsState;
use crate::tui::screens::detail::DetailState;
use crate::tui::screens::flows::FlowsState;
use crate::tui::screens::form::FormState;
use crate::tui::screens::grid::GridState;
use crate::tui::screens::promote::PromoteState;
use crate::tui::screens::unlock::UnlockState;
use crate::tui::screens::used_by::UsedByState;
use crate::tui::screens::wizard::WizardState;
use crate::tui::screens::workspaces::WorkspacesState;

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
    Unlock(UnlockState) = Route::Unlock { message } => alone(UnlockState::open(message));
    Workspaces(WorkspacesState) = Route::Workspaces => alone(WorkspacesState::open(shared));
    Grid(GridState) = Route::Grid => alone(GridState::default());
    Credentials(CredentialsState) = Route::Credentials { component } => alone(CredentialsState::open(shared, component));
    Form(FormState) = Route::Form { component, editing, environment, title } => FormState::open(shared, &component, editing.as_ref(), &environment, title).and_then(alone);
    Flows(FlowsState) = Route::Flows => alone(FlowsState::open(shared));
    Wizard(WizardState) = Route::Wizard { editing } => WizardState::open(shared, editing.as_ref()).and_then(alone);
    Promote(PromoteState) = Route::Promote { flow } => PromoteState::open(shared, &flow).and_then(alone);
    UsedBy(UsedByState) = Route::UsedBy { credential } => alone(UsedByState::open(shared, credential));
    Audit(AuditState) = Route::Audit => alone(AuditState::open(shared));
    Detail(DetailState) = Route::Detail { credential } => Some(DetailState::open(shared, credential));
}
