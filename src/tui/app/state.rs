//! The UI model: what every screen shares (`Shared`) and the navigation stack of screens, each
//! owning its own state. `update` changes it; `render` draws it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::action::Clock;
use super::dialogs;
use super::keys::KeyHelp;
use super::navigation::Navigation;
use super::pages::{Page, PageState, ScreenId};
use super::screen::AnyScreen;
use super::shared::{Shared, TICK};
use crate::catalog::Catalog;
use crate::tui::screens::unlock::UnlockState;
use crate::tui::widgets::theme::Theme;

/// What the caller knows at start-up.
pub struct StateInit {
    pub vault_path: PathBuf,
    pub vault_exists: bool,
    pub catalog: Catalog,
    pub theme: Theme,
    /// None disables the idle lock.
    pub auto_lock: Option<Duration>,
    pub clock: Clock,
}

#[derive(Debug)]
pub struct State {
    pub shared: Shared,
    pub(super) nav: Navigation,
}

impl State {
    pub fn new(init: StateInit) -> State {
        let unlock = UnlockState {
            creating: !init.vault_exists,
            ..UnlockState::default()
        };
        State {
            shared: Shared::new(
                init.vault_path,
                init.catalog,
                init.theme,
                init.auto_lock,
                init.clock,
            ),
            nav: Navigation::new(Page::Unlock(unlock)),
        }
    }

    /// The screen on top of the stack: the one shown.
    pub fn screen(&self) -> ScreenId {
        self.nav.top().id()
    }

    /// The topmost open screen with state `T` (`state.page::<FormState>()`).
    pub fn page<T: PageState>(&self) -> Option<&T> {
        self.nav.find::<T>()
    }

    pub fn page_mut<T: PageState>(&mut self) -> Option<&mut T> {
        self.nav.find_mut::<T>()
    }

    pub(super) fn top(&self) -> &dyn AnyScreen {
        self.nav.top().screen()
    }

    /// The key table in force: the dialog's, else the screen's.
    pub fn keys(&self) -> &'static dyn KeyHelp {
        match &self.shared.modal {
            Some(modal) => dialogs::keys(modal),
            None => self.top().keys(&self.shared),
        }
    }

    /// Something on screen moves: a verification, an unlock, a save.
    pub fn animating(&self) -> bool {
        !self.shared.verifying.is_empty() || self.nav.screens().any(|s| s.animating())
    }

    /// When the loop must wake up even without input: the next spinner frame, a reveal's end,
    /// the idle lock.
    pub fn next_deadline(&self) -> Option<Instant> {
        let shared = &self.shared;
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        if self.animating() {
            consider(shared.clock.mono + TICK);
        }
        for at in self.nav.screens().filter_map(|s| s.wake_at()) {
            consider(at);
        }
        if let (Some(after), Some(_)) = (shared.auto_lock, &shared.vault) {
            consider(shared.last_input + after);
        }
        next
    }
}
