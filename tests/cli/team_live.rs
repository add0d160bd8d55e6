//! The team vault's change feed (issue 15): every committing write NOTIFYs `keyway_changes`
//! with the vault's generation and nothing else (the server never sees a name), heard on a
//! dedicated LISTEN connection as a TUI holds it; a read notifies nothing.

use std::time::Duration;

use keyway::vault::postgres::{ChangeFeed, FeedEvent};

use super::team_vault::Team;
use crate::support::pg::ETL_PASSWORD;

/// The next event of `feed`, waited for with a generous deadline.
fn next_event(rt: &tokio::runtime::Runtime, feed: &mut ChangeFeed) -> FeedEvent {
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), feed.next()).await })
        .expect("a notification within 60 s")
        .expect("the feed is still connected")
}

fn generation(t: &Team) -> u64 {
    t.sql("SELECT generation FROM keyway_meta")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn every_committing_write_notifies_the_generation_and_nothing_else() {
    let t = Team::new();
    t.ok(&["init", "--url", &t.url(), "--member", "alice"]);
    let options = keyway::vault::Options {
        db_password: Some(ETL_PASSWORD.to_string().into()),
        ..Default::default()
    };
    let link = keyway::vault::change_link(&t.v.path, &options).expect("a team vault's link");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut feed = rt.block_on(ChangeFeed::listen(&link)).expect("listen");

    t.ok(&["workspace", "add", "ws_SENTINEL_live"]);
    // The payload is the generation after the commit: a number, no name.
    assert_eq!(
        next_event(&rt, &mut feed),
        FeedEvent::Changed(Some(generation(&t)))
    );
    // Reads notify nothing: the next notification is the next write's.
    t.ok(&["workspace", "list"]);
    t.ok(&["credential", "list"]);
    t.ok(&["workspace", "rename", "ws_SENTINEL_live", "renamed"]);
    let after_rename = generation(&t);
    assert_eq!(
        next_event(&rt, &mut feed),
        FeedEvent::Changed(Some(after_rename))
    );
    // A member added (a key-slot write) notifies as well.
    let bob = t.join();
    let bob_key = String::from_utf8(bob.ok(&["member", "keygen"]).stdout).unwrap();
    t.ok(&["member", "add", "bob", bob_key.trim()]);
    assert_eq!(
        next_event(&rt, &mut feed),
        FeedEvent::Changed(Some(after_rename + 1))
    );
}
