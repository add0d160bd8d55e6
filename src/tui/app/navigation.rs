//! The one navigation stack: the screens open, the top one shown and given the keys. It applies
//! the screens' requests (Open, Back, Replace, Reset); a screen leaving it is told first
//! (`closing`), so what it started stops and what it learned is kept.

use std::iter::once;

use super::action::{Action, Effect, Stored};
use super::nav::Nav;
use super::pages::{Page, PageState};
use super::screen::{AnyScreen, Update};
use super::shared::Shared;

#[derive(Debug)]
pub struct Navigation {
    /// The first screen; the stack is never empty.
    bottom: Page,
    /// The screens opened over it, the top one last.
    above: Vec<Page>,
}

impl Navigation {
    pub fn new(bottom: Page) -> Navigation {
        Navigation {
            bottom,
            above: Vec::new(),
        }
    }

    pub fn top(&self) -> &Page {
        self.above.last().unwrap_or(&self.bottom)
    }

    pub fn top_mut(&mut self) -> &mut Page {
        self.above.last_mut().unwrap_or(&mut self.bottom)
    }

    /// How many screens are open.
    fn depth(&self) -> usize {
        self.above.len() + 1
    }

    /// The screen `depth` below the top (0: the top).
    fn at_depth(&mut self, depth: usize) -> &mut Page {
        match self.above.len().checked_sub(depth + 1) {
            Some(i) => &mut self.above[i],
            None => &mut self.bottom,
        }
    }

    /// The screens from the top down.
    pub fn top_down(&self) -> impl Iterator<Item = &Page> {
        self.above.iter().rev().chain(once(&self.bottom))
    }

    fn top_down_mut(&mut self) -> impl Iterator<Item = &mut Page> {
        self.above.iter_mut().rev().chain(once(&mut self.bottom))
    }

    /// The topmost screen with state `T`.
    pub fn find<T: PageState>(&self) -> Option<&T> {
        self.top_down().find_map(T::of)
    }

    pub fn find_mut<T: PageState>(&mut self) -> Option<&mut T> {
        self.top_down_mut().find_map(T::of_mut)
    }

    /// Runs `update` (from the screen on top): its effects, then its navigation request, and
    /// whatever the screen beneath asks when it gets a closing screen's return value.
    pub fn apply(&mut self, shared: &mut Shared, update: Update) -> Vec<Effect> {
        let mut fx = update.effects;
        let mut next = update.nav;
        while let Some(nav) = next.take() {
            match nav {
                Nav::Open(route) => {
                    if let Some((page, opened)) = Page::open(route, shared) {
                        fx.extend(opened);
                        self.above.push(page);
                    }
                }
                Nav::Back(value) => {
                    let Some(mut closed) = self.above.pop() else {
                        continue; // the first screen has nowhere to go back to
                    };
                    fx.extend(closed.screen_mut().closing(shared));
                    let back = self.top_mut().screen_mut().returned(shared, value);
                    fx.extend(back.effects);
                    next = back.nav;
                }
                Nav::Replace(route) => {
                    if let Some((page, opened)) = Page::open(route, shared) {
                        fx.extend(self.top_mut().screen_mut().closing(shared));
                        fx.extend(opened);
                        *self.top_mut() = page;
                    }
                }
                Nav::Reset(route) => {
                    if let Some((page, opened)) = Page::open(route, shared) {
                        fx.extend(self.close_all(shared));
                        fx.extend(opened);
                        self.above.clear();
                        self.bottom = page;
                    }
                }
            }
        }
        fx
    }

    /// Tells every screen, from the top down, that it is leaving (a lock, quitting).
    pub fn close_all(&mut self, shared: &mut Shared) -> Vec<Effect> {
        self.top_down_mut()
            .flat_map(|page| page.screen_mut().closing(shared))
            .collect()
    }

    /// Offers an answer from the edges to the screens from the top down until one takes it.
    /// Only the screen on top navigates: a request from one beneath (which cannot see the
    /// user's focus) is dropped, its effects kept.
    #[allow(clippy::result_large_err)] // the action is moved back, never copied
    pub fn offer_action(
        &mut self,
        shared: &mut Shared,
        action: Action,
    ) -> Result<Vec<Effect>, Action> {
        let mut unclaimed = action;
        for depth in 0..self.depth() {
            match self
                .at_depth(depth)
                .screen_mut()
                .on_action(shared, unclaimed)
            {
                Ok(update) => return Ok(self.settle(shared, depth, update)),
                Err(action) => unclaimed = action,
            }
        }
        Err(unclaimed)
    }

    /// Offers a finished write to the screens from the top down; None when none took it.
    pub fn offer_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Vec<Effect>> {
        for depth in 0..self.depth() {
            if let Some(update) = self.at_depth(depth).screen_mut().on_stored(shared, event) {
                return Some(self.settle(shared, depth, update));
            }
        }
        None
    }

    /// Offers a failed write to the screens from the top down; false when none took it.
    pub fn offer_store_failed(
        &mut self,
        shared: &mut Shared,
        event: &Stored,
        message: &str,
    ) -> bool {
        self.top_down_mut()
            .any(|page| page.screen_mut().on_store_failed(shared, event, message))
    }

    /// Brings other processes' changes in: each screen says where its cursor rests, the
    /// snapshot is replaced, and each screen puts its cursor back and says what it needs.
    pub fn refreshed(
        &mut self,
        shared: &mut Shared,
        snapshot: crate::core::Snapshot,
        changes: &crate::vault::Changes,
    ) -> Vec<Effect> {
        let cursors: Vec<_> = self
            .top_down()
            .map(|page| page.screen().cursor_record(shared))
            .collect();
        let Some(view) = shared.vault.as_mut() else {
            return Vec::new(); // locked meanwhile
        };
        view.replace(snapshot);
        let mut fx = Vec::new();
        for (page, cursor) in self.top_down_mut().zip(cursors) {
            fx.extend(page.screen_mut().refreshed(shared, changes, cursor));
        }
        fx
    }

    fn settle(&mut self, shared: &mut Shared, depth: usize, mut update: Update) -> Vec<Effect> {
        if depth > 0 {
            update.nav = None;
        }
        self.apply(shared, update)
    }

    /// Every screen on the stack, for what any of them may need (a tick, a deadline).
    pub fn screens(&self) -> impl Iterator<Item = &dyn AnyScreen> {
        self.top_down().map(Page::screen)
    }

    pub fn screens_mut(&mut self) -> impl Iterator<Item = &mut dyn AnyScreen> {
        self.top_down_mut().map(Page::screen_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::nav::{Returned, Route};
    use crate::tui::app::pages::ScreenId;
    use crate::tui::app::testing::*;
    use crate::tui::screens::credentials::CredentialsState;
    use crate::tui::screens::form::{FormPhase, FormState};
    use crate::tui::screens::wizard::WizardState;

    fn ids(nav: &Navigation) -> Vec<ScreenId> {
        let mut ids: Vec<ScreenId> = nav.top_down().map(Page::id).collect();
        ids.reverse();
        ids
    }

    fn open(nav: &mut Navigation, shared: &mut Shared, route: Route) -> Vec<Effect> {
        nav.apply(shared, Update::nav(Nav::Open(route)))
    }

    fn form_route() -> Route {
        Route::Form {
            component: "postgresql".into(),
            editing: None,
            environment: "staging".into(),
            title: "t".into(),
        }
    }

    #[test]
    fn open_and_back_walk_the_stack_and_the_first_screen_stays() {
        let mut shared = unlocked();
        let mut nav = Navigation::new(Page::Grid(Default::default()));
        let component = "postgresql".to_string();
        open(
            &mut nav,
            &mut shared,
            Route::Credentials {
                component,
                select: None,
            },
        );
        open(
            &mut nav,
            &mut shared,
            Route::Detail {
                credential: id("c1"),
            },
        );
        assert_eq!(
            ids(&nav),
            [ScreenId::Grid, ScreenId::Credentials, ScreenId::Detail]
        );
        nav.apply(&mut shared, Update::nav(Nav::BACK));
        nav.apply(&mut shared, Update::nav(Nav::BACK));
        nav.apply(&mut shared, Update::nav(Nav::BACK));
        assert_eq!(ids(&nav), [ScreenId::Grid]);
        // A route that cannot open (a flow that is gone) leaves the stack as it is.
        open(&mut nav, &mut shared, Route::Promote { flow: id("gone") });
        assert_eq!(ids(&nav), [ScreenId::Grid]);
    }

    #[test]
    fn a_closing_screen_stops_its_work_and_hands_its_result_beneath() {
        let mut shared = unlocked();
        let mut nav = Navigation::new(Page::Grid(Default::default()));
        let component = "postgresql".to_string();
        open(
            &mut nav,
            &mut shared,
            Route::Credentials {
                component,
                select: None,
            },
        );
        open(&mut nav, &mut shared, form_route());
        let form = nav.find_mut::<FormState>().unwrap();
        form.phase = FormPhase::Verifying { request: 7 };
        let fx = nav.apply(
            &mut shared,
            Update::nav(Nav::Back(Some(Returned::CredentialSaved(id("c1"))))),
        );
        assert!(matches!(
            fx.as_slice(),
            [Effect::CancelVerify { request: 7 }]
        ));
        assert_eq!(nav.find::<CredentialsState>().unwrap().selected, 1);
        assert!(nav.find::<FormState>().is_none());
    }

    #[test]
    fn replace_swaps_the_top_and_reset_closes_everything() {
        let mut shared = unlocked();
        let mut nav = Navigation::new(Page::Unlock(Default::default()));
        nav.apply(&mut shared, Update::nav(Nav::Replace(Route::Grid)));
        assert_eq!(ids(&nav), [ScreenId::Grid]);
        open(&mut nav, &mut shared, Route::Audit);
        open(
            &mut nav,
            &mut shared,
            Route::Detail {
                credential: id("c2"),
            },
        );
        nav.apply(&mut shared, Update::nav(Nav::Replace(Route::Flows)));
        assert_eq!(
            ids(&nav),
            [ScreenId::Grid, ScreenId::Audit, ScreenId::Flows]
        );
        let unlock = Route::Unlock { message: None };
        nav.apply(&mut shared, Update::nav(Nav::Reset(unlock)));
        assert_eq!(ids(&nav), [ScreenId::Unlock]);
    }

    /// Another process added "aardvark" (sorted first) and recorded a result for "legacy": the
    /// counters move, each list's cursor stays on its credential, the detail view reads its
    /// history again.
    #[test]
    fn other_processes_changes_keep_every_cursor_on_its_record() {
        use crate::core::{Environment, Status};
        use crate::tui::screens::audit::AuditState;
        use crate::tui::screens::detail::DetailState;
        let mut shared = unlocked();
        let mut nav = Navigation::new(Page::Grid(Default::default()));
        let component = "postgresql".to_string();
        open(
            &mut nav,
            &mut shared,
            Route::Credentials {
                component,
                select: None,
            },
        );
        nav.find_mut::<CredentialsState>().unwrap().selected = 1; // warehouse
        open(&mut nav, &mut shared, Route::Audit);
        nav.find_mut::<AuditState>().unwrap().selected = 2; // warehouse
        let fx = open(
            &mut nav,
            &mut shared,
            Route::Detail {
                credential: id("c2"),
            },
        );
        assert_eq!(fx.len(), 1, "the history is read on open");
        let mut snapshot = shared.vault.as_ref().unwrap().snapshot.clone();
        snapshot.credentials.push(credential(
            "c9",
            "w1",
            "postgresql",
            "aardvark",
            Environment::Staging,
            None,
        ));
        snapshot.credentials[1].last_verification = Some(checked(Status::Verified, "fixed"));
        let changes = crate::vault::Changes {
            credentials: vec![id("c9")],
            results: vec![id("c2")],
            ..Default::default()
        };
        let fx = nav.refreshed(&mut shared, snapshot, &changes);
        assert!(
            matches!(fx.as_slice(), [Effect::LoadHistory { credential }] if *credential == id("c2")),
            "{fx:?}"
        );
        let view = shared.vault.as_ref().unwrap();
        assert_eq!(view.count("postgresql"), 3);
        let credentials = nav.find::<CredentialsState>().unwrap();
        assert_eq!(view.row(credentials.selected).unwrap().name, "warehouse");
        let audit = nav.find::<AuditState>().unwrap();
        assert_eq!(audit.selected, 3, "aardvark, billing, legacy, warehouse");
        assert!(nav.find::<DetailState>().is_some());
        // Nothing about the detail's credential: no second read.
        let snapshot = shared.vault.as_ref().unwrap().snapshot.clone();
        let unrelated = crate::vault::Changes {
            credentials: vec![id("c3")],
            ..Default::default()
        };
        assert!(nav.refreshed(&mut shared, snapshot, &unrelated).is_empty());
    }

    #[test]
    fn only_the_screen_on_top_navigates() {
        let mut shared = unlocked();
        let mut nav = Navigation::new(Page::Flows(Default::default()));
        let mut wizard = WizardState::new_flow();
        wizard.saving = true;
        nav.above.push(Page::Wizard(wizard));
        open(&mut nav, &mut shared, form_route());
        // The wizard beneath the form takes its saved flow, but cannot close the form.
        let event = Stored::FlowSaved { name: "x".into() };
        assert!(nav.offer_stored(&mut shared, &event).is_some());
        assert_eq!(
            ids(&nav),
            [ScreenId::Flows, ScreenId::Wizard, ScreenId::Form]
        );
    }
}
