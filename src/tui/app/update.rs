//! The pure state machine: `update(state, action)` changes the model and returns the effects
//! the edges must run. No I/O, no clock reads, no randomness: every input arrives in an action.
//!
//! This file routes: keys to the dialog or the screen on top, typed text to its focused field,
//! answers from the edges to the screens that asked, time to the idle lock. Each screen's own
//! handling lives in its module under screens/.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use secrecy::ExposeSecret;
use tui_input::backend::crossterm::to_input_request;
use tui_input::Input;

use super::action::{Action, Clock, Effect, Stored};
use super::command_line;
use super::dialogs::{self, Answer};
use super::keys::{self, Bound};
use super::nav::{Nav, Route};
use super::navigation::Navigation;
use super::screen::{Pressed, Update};
use super::shared::{CommandLine, InFlight, Modal, Shared};
use super::state::State;
use super::stored;
use crate::core::liveness::{Liveness, Next};
use crate::core::Credential;
use crate::tui::widgets::notice::Notice;
use crate::verify::Outcome;

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let action = match action {
        Action::ServerLost { failure, why } => {
            let mut fx = update(state, *failure);
            fx.extend(update(state, Action::FeedLost(why)));
            return fx;
        }
        action => action,
    };
    let State { shared, nav } = state;
    match action {
        Action::Clock(clock) => on_clock(shared, nav, clock),
        Action::Resize(w, h) => {
            shared.size = (w, h);
            Vec::new()
        }
        Action::Key(key) => on_key(shared, nav, key),
        Action::Paste(text) => {
            shared.last_input = shared.clock.mono;
            on_paste(shared, nav, text.expose_secret());
            Vec::new()
        }
        Action::Stored { snapshot, event } => {
            let Some(view) = shared.vault.as_mut() else {
                return Vec::new(); // locked meanwhile
            };
            view.replace(snapshot);
            if let Some(notice) = stored::notice(view, &event) {
                shared.notice = Some(notice);
            }
            nav.offer_stored(shared, &event).unwrap_or_default()
        }
        Action::StoreFailed { event, message } => {
            store_failed(shared, nav, &event, message);
            Vec::new()
        }
        Action::StoreConflict { event, conflict } => {
            // The screen that asked shows both versions; any other takes it as a failure.
            let message = conflict.to_string();
            match nav.offer_action(shared, Action::StoreConflict { event, conflict }) {
                Ok(fx) => fx,
                Err(Action::StoreConflict { event, .. }) => {
                    store_failed(shared, nav, &event, message);
                    Vec::new()
                }
                Err(_) => Vec::new(),
            }
        }
        Action::Refreshed { snapshot, changes } => nav.refreshed(shared, snapshot, &changes),
        Action::RefreshFailed(why) => {
            if shared.vault.is_some() {
                shared.notice = Some(Notice::error(format!(
                    "Cannot read other processes' changes: {why}"
                )));
            }
            Vec::new()
        }
        Action::Relock(why) => lock(shared, nav, why),
        Action::Unlocked {
            snapshot,
            remembered,
        } => {
            let unlocked = Action::Unlocked {
                snapshot,
                remembered,
            };
            let mut fx = nav.offer_action(shared, unlocked).unwrap_or_default();
            // A team vault: its changes arrive on a connection of their own (LISTEN/NOTIFY).
            if shared.vault.is_some() && crate::vault::is_team_vault(&shared.vault_path) {
                shared.live = Some(Liveness::online());
                fx.push(Effect::Listen {
                    after: std::time::Duration::ZERO,
                    reconnecting: false,
                });
            }
            fx
        }
        Action::FeedLost(why) => {
            let was_online = shared.live.as_ref().is_some_and(|l| !l.read_only());
            let fx = live_next(shared, |live| live.lost(why.clone()));
            if was_online {
                shared.notice = Some(Notice::error(format!(
                    "The team vault's server cannot be reached ({why}): offline, read-only; \
                     keyway reconnects by itself"
                )));
            }
            fx
        }
        Action::ReconnectStarted => {
            if let Some(live) = shared.live.as_mut() {
                live.attempt_started();
            }
            Vec::new()
        }
        Action::ReconnectFailed(why) => live_next(shared, |live| live.attempt_failed(why)),
        Action::Reconnected => {
            let fx = live_next(shared, Liveness::connected);
            if !fx.is_empty() {
                shared.notice = Some(Notice::info(
                    "Back online: the team vault's server is reachable again".to_string(),
                ));
            }
            fx
        }
        Action::VerifyFinished {
            request,
            credential,
            outcome,
        } => {
            let Some(flight) = shared.verifying.remove(&request) else {
                return Vec::new(); // superseded or abandoned: the result is stale
            };
            let action = Action::VerifyFinished {
                request,
                credential,
                outcome,
            };
            match nav.offer_action(shared, action) {
                Ok(fx) => fx,
                Err(Action::VerifyFinished {
                    credential,
                    outcome,
                    ..
                }) => recheck_finished(shared, flight, &credential, outcome),
                Err(_) => Vec::new(),
            }
        }
        Action::DraftRefused { request, error } => {
            if shared.verifying.remove(&request).is_none() {
                return Vec::new(); // abandoned
            }
            let action = Action::DraftRefused { request, error };
            nav.offer_action(shared, action).unwrap_or_default()
        }
        Action::RotationProgress { name, step } => {
            shared.notice = Some(Notice::info(format!(
                "Rotating '{name}': step {}/5 {}…",
                step.number(),
                step.describe()
            )));
            Vec::new()
        }
        Action::RotationFinished {
            credential,
            snapshot,
            result,
        } => {
            let Some(view) = shared.vault.as_mut() else {
                return Vec::new(); // locked meanwhile
            };
            if let Some(snapshot) = snapshot {
                view.replace(snapshot);
            }
            shared.notice = Some(match result {
                Ok(text) => Notice::info(text),
                Err(text) => Notice::error(text),
            });
            nav.offer_stored(shared, &Stored::CredentialSaved(credential))
                .unwrap_or_default()
        }
        Action::RotationsResolved { snapshot, notes } => {
            let Some(view) = shared.vault.as_mut() else {
                return Vec::new();
            };
            view.replace(snapshot);
            if !notes.is_empty() {
                shared.notice = Some(Notice::info(notes.join("; ")));
            }
            Vec::new()
        }
        Action::Terminate => quit(shared, nav),
        // Unlocking, logins, history reads: the screen that asked takes its answer; a late
        // one for a screen since closed is dropped.
        other => nav.offer_action(shared, other).unwrap_or_default(),
    }
}

/// What the link's state machine asks for, as effects for the runtime. Nothing while locked.
fn live_next(shared: &mut Shared, event: impl FnOnce(&mut Liveness) -> Next) -> Vec<Effect> {
    let Some(live) = shared.live.as_mut() else {
        return Vec::new();
    };
    match event(live) {
        Next::Nothing => Vec::new(),
        Next::RetryAfter(after) => vec![
            Effect::ReadOnly(true),
            Effect::Listen {
                after,
                reconnecting: true,
            },
        ],
        Next::Reload => vec![Effect::ReadOnly(false), Effect::Reload],
    }
}

/// A failed write: the screen that asked says why, else the notice does.
fn store_failed(shared: &mut Shared, nav: &mut Navigation, event: &Stored, message: String) {
    if !nav.offer_store_failed(shared, event, &message) {
        shared.notice = Some(stored::failure(event, message));
    }
}

// ---- time ------------------------------------------------------------------------------------

/// A secret's copy is offered only while it is revealed: when the reveal ends, `Y`'s offer
/// keeps the reason and detail, and its confirmation closes without copying.
fn end_secret_offer(shared: &mut Shared, clock: Clock) {
    let ended = match &shared.modal {
        Some(Modal::YankWithSecret { secret, .. } | Modal::ConfirmYankSecret(secret)) => {
            secret.until <= clock.mono
        }
        _ => false,
    };
    if !ended {
        return;
    }
    shared.modal = match shared.modal.take() {
        Some(Modal::YankWithSecret { choices, .. }) if !choices.is_empty() => {
            Some(Modal::Yank(choices))
        }
        _ => None,
    };
    shared.notice = Some(Notice::info(
        "The secret is hidden again, so it is no longer offered: reveal it (Ctrl-r) to copy it",
    ));
}

fn on_clock(shared: &mut Shared, nav: &mut Navigation, clock: Clock) -> Vec<Effect> {
    shared.clock = clock;
    for screen in nav.screens_mut() {
        screen.tick(clock);
    }
    end_secret_offer(shared, clock);
    if let (Some(after), Some(_)) = (shared.auto_lock, &shared.vault) {
        if clock.mono.saturating_duration_since(shared.last_input) >= after {
            let minutes = after.as_secs().div_ceil(60);
            return lock(
                shared,
                nav,
                format!("Locked after {minutes} minute(s) without input: enter the passphrase"),
            );
        }
    }
    Vec::new()
}

/// Forgets everything decrypted and returns to Unlock: every screen closes (a "verify all"
/// still running records what it learned first), and the edges drop the store with the keys.
fn lock(shared: &mut Shared, nav: &mut Navigation, why: String) -> Vec<Effect> {
    let unlock = Route::Unlock {
        message: Some(Notice::info(why)),
    };
    let mut fx = nav.apply(shared, Update::nav(Nav::Reset(unlock)));
    shared.vault = None;
    shared.live = None;
    shared.modal = None;
    shared.verifying.clear();
    shared.notice = None;
    fx.push(Effect::Lock);
    fx
}

/// Leaves the UI; every screen closes first, so a "verify all" still running records what it
/// has learned.
fn quit(shared: &mut Shared, nav: &mut Navigation) -> Vec<Effect> {
    let fx = nav.close_all(shared);
    shared.quit = true;
    fx
}

// ---- keys ------------------------------------------------------------------------------------

fn on_key(shared: &mut Shared, nav: &mut Navigation, key: KeyEvent) -> Vec<Effect> {
    shared.last_input = shared.clock.mono;
    if keys::is_interrupt(&key) {
        return quit(shared, nav);
    }
    if matches!(shared.modal, Some(Modal::CommandLine(_))) {
        return command_line_key(shared, nav, &key);
    }
    if let Some(modal) = &shared.modal {
        let Some(Bound::Screen(command)) = dialogs::keys(modal).command_for(&key) else {
            return Vec::new();
        };
        let Some(modal) = shared.modal.take() else {
            return Vec::new();
        };
        return match dialogs::answer(modal, command) {
            Answer::Closed => Vec::new(),
            Answer::Effect(effect) => vec![effect],
            Answer::Discard => {
                let update = nav.top_mut().screen_mut().discard_confirmed(shared);
                nav.apply(shared, update)
            }
            Answer::Reveal => {
                nav.top_mut().screen_mut().reveal_confirmed(shared);
                Vec::new()
            }
            Answer::Next(modal) => {
                shared.modal = Some(modal);
                Vec::new()
            }
            Answer::CopySecret { effect, label } => {
                shared.notice = Some(Notice::info(format!(
                    "Copied the secret of '{label}' to the clipboard"
                )));
                vec![effect]
            }
        };
    }
    let top = nav.top_mut().screen_mut();
    match top.key(shared, &key) {
        Pressed::Quit => quit(shared, nav),
        Pressed::Help => {
            shared.modal = Some(Modal::Help {
                keys: top.keys(shared),
            });
            Vec::new()
        }
        Pressed::Lock => lock(shared, nav, "Locked: enter the passphrase".into()),
        Pressed::CommandLine => {
            shared.modal = Some(Modal::CommandLine(CommandLine::default()));
            Vec::new()
        }
        Pressed::Handled(update) => nav.apply(shared, update),
        Pressed::Unbound => {
            let printable = matches!(key.code, KeyCode::Char(_))
                && (key.modifiers - KeyModifiers::SHIFT).is_empty();
            if top.keys(shared).takes_text() || (printable && top.start_typing()) {
                if let Some(request) = to_input_request(&Event::Key(key)) {
                    if let Some(input) = top.focused_input() {
                        input.handle(request);
                        top.edited(shared);
                    }
                }
            }
            Vec::new()
        }
    }
}

/// A key while the command line is open: Enter runs it, Tab completes, Esc closes, anything
/// else edits it.
fn command_line_key(shared: &mut Shared, nav: &mut Navigation, key: &KeyEvent) -> Vec<Effect> {
    let command = dialogs::COMMAND_LINE.command_for(key);
    let Some(Modal::CommandLine(line)) = shared.modal.as_mut() else {
        return Vec::new();
    };
    match command {
        Some(Bound::Screen(dialogs::Command::Cancel)) => {
            shared.modal = None;
            Vec::new()
        }
        Some(Bound::Screen(dialogs::Command::Complete)) => {
            let typed = line.input.value().to_string();
            let view_only: &Shared = shared;
            let (completed, candidates) = command_line::complete(view_only, &typed);
            if let Some(Modal::CommandLine(line)) = shared.modal.as_mut() {
                line.input = Input::new(completed);
                line.note = (!candidates.is_empty()).then(|| candidates.join("  "));
            }
            Vec::new()
        }
        Some(Bound::Screen(_)) => {
            let typed = line.input.value().to_string();
            match command_line::parse(shared, &typed) {
                Err(why) => {
                    if let Some(Modal::CommandLine(line)) = shared.modal.as_mut() {
                        line.note = Some(why);
                    }
                    Vec::new()
                }
                Ok(run) => {
                    shared.modal = None;
                    let (mut fx, navs) = command_line::apply(shared, run);
                    for step in navs {
                        fx.extend(nav.apply(shared, Update::nav(step)));
                    }
                    fx
                }
            }
        }
        _ => {
            if let Some(request) = to_input_request(&Event::Key(*key)) {
                line.input.handle(request);
                line.note = None;
            }
            Vec::new()
        }
    }
}

fn on_paste(shared: &mut Shared, nav: &mut Navigation, text: &str) {
    // Single-line fields: line breaks and other control characters are dropped, so a pasted
    // key with a trailing newline is the key.
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() || shared.modal.is_some() {
        return;
    }
    let top = nav.top_mut().screen_mut();
    let Some(input) = top.focused_input() else {
        return;
    };
    let cursor = input.cursor();
    let mut value: String = input.value().chars().take(cursor).collect();
    value.push_str(&clean);
    value.extend(input.value().chars().skip(cursor));
    let at = cursor + clean.chars().count();
    *input = Input::new(value).with_cursor(at);
    top.pasted(shared);
}

// ---- verification ----------------------------------------------------------------------------

/// A re-check of a stored credential that no screen took (a list's or the detail view's `v`):
/// its result is recorded like any other, and the notice says what it found.
fn recheck_finished(
    shared: &mut Shared,
    flight: InFlight,
    credential: &Credential,
    outcome: Outcome,
) -> Vec<Effect> {
    let Some(id) = flight.credential else {
        return Vec::new(); // a form's draft whose form has gone
    };
    let style = if outcome.status == crate::core::Status::Verified {
        Notice::info
    } else {
        Notice::error
    };
    shared.notice = Some(style(format!(
        "'{}': {} ({})",
        credential.name,
        outcome.status.as_str(),
        outcome.reason
    )));
    vec![Effect::RecordVerification {
        id,
        revision: credential.revision.number,
        outcome,
        at: shared.clock.wall,
    }]
}
