//! What a screen is: one home owning its state, its key tables, its update (which returns
//! effects and a navigation request) and its view. Every screen under screens/ implements
//! `Screen`; the app drives them only through it, and a screen reaches nothing but its own state
//! and `Shared`.

use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use super::action::{Action, Clock, Effect, Stored};
use super::keys::{Bound, KeyHelp, Keys};
use super::nav::{Nav, Returned};
use super::shared::Shared;
use crate::core::RecordId;
use crate::vault::Changes;

/// What a screen's update asks for: effects for the edges to run, and where to go next.
#[derive(Debug, Default)]
#[must_use]
pub struct Update {
    pub effects: Vec<Effect>,
    pub nav: Option<Nav>,
}

impl Update {
    pub fn none() -> Update {
        Update::default()
    }

    pub fn effects(effects: Vec<Effect>) -> Update {
        Update { effects, nav: None }
    }

    pub fn effect(effect: Effect) -> Update {
        Update::effects(vec![effect])
    }

    pub fn nav(nav: Nav) -> Update {
        Update {
            effects: Vec::new(),
            nav: Some(nav),
        }
    }

    /// These effects, then `nav`.
    pub fn and(mut self, nav: Nav) -> Update {
        self.nav = Some(nav);
        self
    }
}

pub trait Screen {
    /// What this screen's keys mean.
    type Command: Copy + PartialEq + std::fmt::Debug + Sync + 'static;

    /// The key table in force (a screen may have several focus states, each with its own).
    fn keys(&self, shared: &Shared) -> &'static Keys<Self::Command>;

    fn command(&mut self, shared: &mut Shared, command: Self::Command) -> Update;

    /// The title line: where the user is.
    fn title(&self, shared: &Shared) -> String;

    /// Draws the screen into `area` (between the title line and the hint line).
    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect);

    /// The text field that has the keyboard, if the screen's table takes text.
    fn focused_input(&mut self) -> Option<&mut Input> {
        None
    }

    /// A printable key no binding took, on a table that does not take text: true gives the
    /// keyboard to the screen's text field (a filter) and the key is typed into it.
    fn start_typing(&mut self) -> bool {
        false
    }

    /// After the focused input changed (typed, pasted, deleted): inline checks, filter resets.
    fn edited(&mut self, _shared: &mut Shared) {}

    /// After a bracketed paste went into the focused input: as any edit, unless the screen
    /// takes a whole pasted text differently (the form's URL field fills the form from it).
    fn pasted(&mut self, shared: &mut Shared) {
        self.edited(shared)
    }

    /// An answer from the edges (a verification, a login step, a history read...). The app
    /// offers each to the screens from the top of the stack down; a screen takes what is its
    /// own and hands anything else back. (Handed back by value: it is moved, never copied, so
    /// its size does not matter.)
    #[allow(clippy::result_large_err)]
    fn on_action(&mut self, _shared: &mut Shared, action: Action) -> Result<Update, Action> {
        Err(action)
    }

    /// A write finished; `shared.vault` already holds the snapshot it left, and the notice
    /// saying so is set. Offered from the top down: Some takes it.
    fn on_stored(&mut self, _shared: &mut Shared, _event: &Stored) -> Option<Update> {
        None
    }

    /// A write failed; true takes it (the screen shows why), else the app sets a notice.
    fn on_store_failed(&mut self, _shared: &mut Shared, _event: &Stored, _message: &str) -> bool {
        false
    }

    /// The record the screen's cursor rests on, asked before other processes' changes are
    /// brought in, so `refreshed` can put the cursor back on it (by id, not by index).
    fn cursor_record(&self, _shared: &Shared) -> Option<RecordId> {
        None
    }

    /// Other processes changed the vault: `shared.vault` holds the snapshot as it is now,
    /// `changes` says what moved, `cursor` is what `cursor_record` said before. The effects it
    /// asks for (a history to read again) are run; a refresh never navigates.
    fn refreshed(
        &mut self,
        _shared: &mut Shared,
        _changes: &Changes,
        _cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        Vec::new()
    }

    /// The screen above this one closed, handing back `value`.
    fn returned(&mut self, _shared: &mut Shared, _value: Option<Returned>) -> Update {
        Update::none()
    }

    /// The user confirmed the discard dialog this screen asked for.
    fn discard_confirmed(&mut self, _shared: &mut Shared) -> Update {
        Update::none()
    }

    /// The user confirmed the reveal dialog this screen asked for.
    fn reveal_confirmed(&mut self, _shared: &mut Shared) {}

    /// Time passed (a revealed secret may have to hide again).
    fn tick(&mut self, _clock: Clock) {}

    /// When the screen must be drawn again even without input.
    fn wake_at(&self) -> Option<Instant> {
        None
    }

    /// Something on the screen moves (a spinner).
    fn animating(&self) -> bool {
        false
    }

    /// The screen leaves the stack (closed, replaced, reset, or the app quits): the effects that
    /// stop what it started and keep what it learned.
    fn closing(&mut self, _shared: &mut Shared) -> Vec<Effect> {
        Vec::new()
    }
}

/// A key press, as a screen's table reads it.
#[must_use]
pub enum Pressed {
    /// No binding: typed into the focused field, if the table takes text.
    Unbound,
    Quit,
    Help,
    Lock,
    CommandLine,
    Handled(Update),
}

/// `Screen` with its command type left out: what the navigation stack holds and drives.
pub trait AnyScreen {
    fn keys(&self, shared: &Shared) -> &'static dyn KeyHelp;
    fn key(&mut self, shared: &mut Shared, event: &KeyEvent) -> Pressed;
    fn title(&self, shared: &Shared) -> String;
    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect);
    fn focused_input(&mut self) -> Option<&mut Input>;
    fn start_typing(&mut self) -> bool;
    fn edited(&mut self, shared: &mut Shared);
    fn pasted(&mut self, shared: &mut Shared);
    #[allow(clippy::result_large_err)]
    fn on_action(&mut self, shared: &mut Shared, action: Action) -> Result<Update, Action>;
    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update>;
    fn on_store_failed(&mut self, shared: &mut Shared, event: &Stored, message: &str) -> bool;
    fn cursor_record(&self, shared: &Shared) -> Option<RecordId>;
    fn refreshed(
        &mut self,
        shared: &mut Shared,
        changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect>;
    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update;
    fn discard_confirmed(&mut self, shared: &mut Shared) -> Update;
    fn reveal_confirmed(&mut self, shared: &mut Shared);
    fn tick(&mut self, clock: Clock);
    fn wake_at(&self) -> Option<Instant>;
    fn animating(&self) -> bool;
    fn closing(&mut self, shared: &mut Shared) -> Vec<Effect>;
}

impl<S: Screen> AnyScreen for S {
    fn keys(&self, shared: &Shared) -> &'static dyn KeyHelp {
        Screen::keys(self, shared)
    }

    fn key(&mut self, shared: &mut Shared, event: &KeyEvent) -> Pressed {
        match Screen::keys(self, shared).command_for(event) {
            None => Pressed::Unbound,
            Some(Bound::Quit) => Pressed::Quit,
            Some(Bound::Help) => Pressed::Help,
            Some(Bound::Lock) => Pressed::Lock,
            Some(Bound::CommandLine) => Pressed::CommandLine,
            Some(Bound::Screen(command)) => Pressed::Handled(self.command(shared, command)),
        }
    }

    fn title(&self, shared: &Shared) -> String {
        Screen::title(self, shared)
    }
    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        Screen::view(self, shared, frame, area)
    }
    fn focused_input(&mut self) -> Option<&mut Input> {
        Screen::focused_input(self)
    }
    fn start_typing(&mut self) -> bool {
        Screen::start_typing(self)
    }
    fn edited(&mut self, shared: &mut Shared) {
        Screen::edited(self, shared)
    }
    fn pasted(&mut self, shared: &mut Shared) {
        Screen::pasted(self, shared)
    }
    fn on_action(&mut self, shared: &mut Shared, action: Action) -> Result<Update, Action> {
        Screen::on_action(self, shared, action)
    }
    fn on_stored(&mut self, shared: &mut Shared, event: &Stored) -> Option<Update> {
        Screen::on_stored(self, shared, event)
    }
    fn on_store_failed(&mut self, shared: &mut Shared, event: &Stored, message: &str) -> bool {
        Screen::on_store_failed(self, shared, event, message)
    }
    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        Screen::cursor_record(self, shared)
    }
    fn refreshed(
        &mut self,
        shared: &mut Shared,
        changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        Screen::refreshed(self, shared, changes, cursor)
    }
    fn returned(&mut self, shared: &mut Shared, value: Option<Returned>) -> Update {
        Screen::returned(self, shared, value)
    }
    fn discard_confirmed(&mut self, shared: &mut Shared) -> Update {
        Screen::discard_confirmed(self, shared)
    }
    fn reveal_confirmed(&mut self, shared: &mut Shared) {
        Screen::reveal_confirmed(self, shared)
    }
    fn tick(&mut self, clock: Clock) {
        Screen::tick(self, clock)
    }
    fn wake_at(&self) -> Option<Instant> {
        Screen::wake_at(self)
    }
    fn animating(&self) -> bool {
        Screen::animating(self)
    }
    fn closing(&mut self, shared: &mut Shared) -> Vec<Effect> {
        Screen::closing(self, shared)
    }
}
