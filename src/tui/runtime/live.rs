//! The team vault's change feed, driven for the UI: a task that (after the backoff the link's
//! state machine asked for) connects a dedicated LISTEN connection, says whether that worked,
//! and then hands every NOTIFY to the effect runner, which reads what changed. When the
//! connection ends (the server stopped, the network dropped) it says so and ends: the state
//! machine (core::liveness) decides when the next attempt comes.

use std::time::Duration;

use super::login_tasks::AbortOnDrop;
use crate::tui::app::action::Action;
use crate::vault::postgres::{ChangeFeed, FeedEvent, Link};

/// What the feed's task reports.
pub(super) enum Heard {
    /// For the UI (ReconnectStarted, Reconnected, ReconnectFailed, FeedLost).
    Action(Action),
    /// A commit was notified: read what changed.
    Changed,
}

/// Starts the feed's task; dropping the handle stops it and closes its connection.
pub(super) fn listen(
    link: Link,
    report: impl Fn(Heard) + Send + Sync + 'static,
    after: Duration,
    reconnecting: bool,
) -> AbortOnDrop {
    AbortOnDrop::spawn(async move {
        let send = |heard: Heard| report(heard);
        if !after.is_zero() {
            tokio::time::sleep(after).await;
        }
        if reconnecting {
            send(Heard::Action(Action::ReconnectStarted));
        }
        let mut feed = match ChangeFeed::listen(&link).await {
            Ok(feed) => feed,
            Err(e) => {
                let why = e.to_string();
                send(Heard::Action(if reconnecting {
                    Action::ReconnectFailed(why)
                } else {
                    Action::FeedLost(why)
                }));
                return;
            }
        };
        if reconnecting {
            send(Heard::Action(Action::Reconnected));
        } else {
            // A commit between the unlock's read and this LISTEN was notified to no one: read
            // once now, so the feed misses nothing from the unlock on.
            send(Heard::Changed);
        }
        while let Some(event) = feed.next().await {
            match event {
                FeedEvent::Changed(_) => send(Heard::Changed),
                FeedEvent::Lost(why) => {
                    send(Heard::Action(Action::FeedLost(why)));
                    return;
                }
            }
        }
    })
}
