//! A team vault in the TUI's app state (issue 15): unlocking it starts the change feed, a lost
//! connection marks the status bar "offline, read-only" and asks the runtime to refuse writes
//! and retry with a doubling wait, reconnecting drops the mark and reloads, and locking
//! forgets it all. The state machine itself is core::liveness; this is its wiring.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keyway::catalog::Catalog;
use keyway::tui::app::action::Stored;
use keyway::tui::{Action, Clock, Effect, State, StateInit, Theme};

use super::harness::{id, snapshot, Harness, NOW};

const URL: &str = "postgresql://etl@127.0.0.1:5432/team?sslmode=disable";

/// Unlocked on a team vault, in workspace "acme"; and what unlocking asked for.
fn team() -> (Harness, Vec<Effect>) {
    let mono = Instant::now();
    let state = State::new(StateInit {
        vault_path: PathBuf::from(URL),
        vault_exists: true,
        catalog: Catalog::builtin().unwrap(),
        theme: Theme::PLAIN,
        auto_lock: None,
        clock: Clock { wall: NOW, mono },
    });
    let mut h = Harness { state, mono };
    h.act(Action::Resize(100, 24));
    let fx = h.act(Action::Unlocked {
        snapshot: snapshot(),
        remembered: Some(id("w1")),
    });
    (h, fx)
}

/// The wait of the retry `fx` asks for, and that it refuses writes meanwhile.
fn retry_after(fx: &[Effect]) -> Duration {
    assert!(
        fx.iter().any(|e| matches!(e, Effect::ReadOnly(true))),
        "{fx:?}"
    );
    fx.iter()
        .find_map(|e| match e {
            Effect::Listen {
                after,
                reconnecting: true,
            } => Some(*after),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no retry in {fx:?}"))
}

#[test]
fn a_team_vault_listens_goes_offline_read_only_and_comes_back_with_backoff() {
    let (mut h, fx) = team();
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Listen { after, reconnecting: false } if after.is_zero()
        )),
        "{fx:?}"
    );
    assert!(!h.screen(100, 24).contains("offline"));

    let fx = h.act(Action::FeedLost("the server closed the connection".into()));
    assert_eq!(retry_after(&fx), Duration::from_millis(500));
    let screen = h.screen(100, 24);
    assert!(screen.contains("offline, read-only"), "{screen}");
    assert!(screen.contains("cannot be reached"), "{screen}");
    // The last snapshot stays on screen.
    assert!(screen.contains("ws: acme"), "{screen}");

    h.act(Action::ReconnectStarted);
    assert!(h
        .screen(100, 24)
        .contains("offline, read-only · reconnecting"));
    let fx = h.act(Action::ReconnectFailed("connection refused".into()));
    assert_eq!(retry_after(&fx), Duration::from_secs(1));
    h.act(Action::ReconnectStarted);
    let fx = h.act(Action::ReconnectFailed("connection refused".into()));
    assert_eq!(retry_after(&fx), Duration::from_secs(2));

    h.act(Action::ReconnectStarted);
    let fx = h.act(Action::Reconnected);
    assert!(
        matches!(fx.as_slice(), [Effect::ReadOnly(false), Effect::Reload]),
        "{fx:?}"
    );
    let screen = h.screen(100, 24);
    assert!(!screen.contains("offline"), "{screen}");
    assert!(screen.contains("Back online"), "{screen}");
    // Lost again: the wait starts from the first.
    let fx = h.act(Action::FeedLost("gone".into()));
    assert_eq!(retry_after(&fx), Duration::from_millis(500));

    // Locked: nothing of the link is kept, and a late report asks for nothing.
    let fx = h.ctrl('l');
    assert!(fx.iter().any(|e| matches!(e, Effect::Lock)), "{fx:?}");
    assert!(h.state.shared.live.is_none());
    assert!(h.act(Action::FeedLost("late".into())).is_empty());
    assert!(h.act(Action::Reconnected).is_empty());
}

#[test]
fn a_write_that_found_the_server_gone_goes_offline_at_once_as_a_lost_feed_does() {
    let (mut h, _) = team();
    let lost = || Action::ServerLost {
        failure: Box::new(Action::StoreFailed {
            event: Stored::WorkspaceRenamed,
            message: "the team vault's server cannot be reached (postgresql://…): the \
                      connection was lost"
                .into(),
        }),
        why: "the connection was lost".into(),
    };
    let fx = h.act(lost());
    assert_eq!(retry_after(&fx), Duration::from_millis(500));
    let screen = h.screen(100, 24);
    assert!(screen.contains("offline, read-only"), "{screen}");
    assert!(screen.contains("the connection was lost"), "{screen}");
    // Another write finding the same: offline already, nothing more to do.
    assert!(h.act(lost()).is_empty());
    let fx = h.act(Action::Reconnected);
    assert!(
        matches!(fx.as_slice(), [Effect::ReadOnly(false), Effect::Reload]),
        "{fx:?}"
    );
}
