//! The one event loop: it selects over terminal input, the effect runner's replies (a team
//! vault's change feed among them), the verifier pool's events, a timer (only armed when
//! something animates, a secret is revealed, or the idle lock is due), the poll for other
//! processes' changes (only while a file vault is unlocked) and SIGTERM/SIGHUP;
//! feeds each as an Action to the pure `update`; hands the returned effects to the effect runner
//! (effects.rs); and redraws.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::backend::Backend;
use ratatui::Terminal;
use secrecy::SecretString;
use tokio::signal::unix::{signal, SignalKind};

use super::effects::{Channels, Edges};
use crate::tui::app::action::Action;
use crate::tui::app::action::Clock;
use crate::tui::app::frame::render;
use crate::tui::app::state::State;
use crate::tui::app::update::update;
use crate::tui::TuiError;

/// How often an unlocked UI looks for other processes' changes: they show within about this
/// long (the issue asks for 2 s), at the price of one cheap read when nothing changed.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Runs until the user quits, a signal arrives or the vault cannot be used.
pub(crate) async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    mut state: State,
    mut edges: Edges,
    mut channels: Channels,
    passphrase: Option<SecretString>,
) -> Result<State, TuiError>
where
    B::Error: Send + Sync + 'static,
{
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let size = terminal.size().map_err(TuiError::backend)?;
    let mut pending = vec![Action::Resize(size.width, size.height)];
    if let Some(p) = passphrase {
        pending.push(Action::AutoUnlock(p));
    }
    let mut poll = tokio::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        for action in pending.drain(..) {
            for effect in update(&mut state, action) {
                edges.run(effect);
            }
        }
        if state.shared.quit {
            break Ok(());
        }
        if let Err(e) = terminal.draw(|f| render(&state, f)) {
            break Err(TuiError::backend(e));
        }
        let deadline = state.next_deadline();
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
                Some(Ok(Event::Paste(text))) => Some(Action::Paste(text.into())),
                Some(Ok(Event::Resize(w, h))) => Some(Action::Resize(w, h)),
                Some(Ok(_)) => None,
                Some(Err(e)) => break Err(TuiError::Terminal(e)),
                // The terminal went away (stdin closed): leave as on SIGHUP.
                None => Some(Action::Terminate),
            },
            Some(message) = channels.inbox.recv() => edges.on_inbox(message),
            Some(event) = channels.pool.recv() => edges.on_pool(event),
            () = timer => None,
            // A team vault's changes come on its change feed (LISTEN/NOTIFY) instead, and
            // while it is offline the reconnection reads them.
            _ = poll.tick(), if state.shared.vault.is_some() && state.shared.live.is_none() => {
                edges.poll();
                None
            }
            _ = sigterm.recv() => Some(Action::Terminate),
            _ = sighup.recv() => Some(Action::Terminate),
        };
        // Every action sees the current time first: expiries and the idle lock follow it.
        pending.push(Action::Clock(Clock::now()));
        pending.extend(action);
    };
    edges.shut_down().await;
    result.map(|()| state)
}
