//! The team vault live (issue 15): every committing write NOTIFYs `keyway_changes` with the
//! vault's generation and nothing else (the server never sees a name), heard on a dedicated
//! LISTEN connection as a TUI holds it, and a read notifies nothing; `keyway unlock` sessions
//! on a team vault follow another member's re-key, and a removed member's session ends.

use std::time::Duration;

use keyway::vault::postgres::{ChangeFeed, FeedEvent};

use super::team_vault::Team;
use crate::support::pg::ETL_PASSWORD;
use crate::support::{code, stderr, stdout, PASS};

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
    let bob_key = stdout(&bob.ok(&["member", "keygen"]));
    t.ok(&["member", "add", "bob", bob_key.trim()]);
    assert_eq!(
        next_event(&rt, &mut feed),
        FeedEvent::Changed(Some(after_rename + 1))
    );
}

/// `keyway unlock` as `member` (passphrase given), its agent's socket in the member's own
/// runtime folder: the session token.
fn unlock(member: &Team) -> String {
    let o = member.v.keyway_with(
        &["unlock", "--for", "10m"],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("PGPASSWORD", ETL_PASSWORD),
            ("XDG_RUNTIME_DIR", &runtime_dir(member)),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "unlock: {}", stderr(&o));
    stdout(&o)
        .trim()
        .strip_prefix("export KEYWAY_SESSION=")
        .unwrap_or_else(|| panic!("{}", stdout(&o)))
        .to_string()
}

fn runtime_dir(member: &Team) -> String {
    let dir = member.v.dir.path().join("runtime");
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir.to_string_lossy().into_owned()
}

/// A command with the session token and no passphrase anywhere.
fn with_session(member: &Team, token: &str, args: &[&str]) -> std::process::Output {
    member.v.keyway_with(
        args,
        &[
            ("KEYWAY_SESSION", token),
            ("PGPASSWORD", ETL_PASSWORD),
            ("XDG_RUNTIME_DIR", &runtime_dir(member)),
        ],
        None,
    )
}

#[test]
fn a_members_session_follows_a_rekey_and_a_removed_members_session_ends() {
    let alice = Team::new();
    alice.ok(&["init", "--url", &alice.url(), "--member", "alice"]);
    alice.ok(&["workspace", "add", "acme"]);
    let (bob, carol) = (alice.join(), alice.join());
    for (name, member) in [("bob", &bob), ("carol", &carol)] {
        let key = stdout(&member.ok(&["member", "keygen"]));
        alice.ok(&["member", "add", name, key.trim()]);
    }
    let (bob_token, carol_token) = (unlock(&bob), unlock(&carol));
    for (member, token) in [(&bob, &bob_token), (&carol, &carol_token)] {
        let o = with_session(member, token, &["workspace", "list"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stdout(&o).contains("acme"), "{}", stdout(&o));
    }

    alice.ok(&["member", "rm", "carol"]);
    // Bob's session follows the re-key: his agent unwraps the new data key from his own new
    // slot; no passphrase is asked, and what he writes is under the new key.
    let o = with_session(&bob, &bob_token, &["workspace", "add", "after-rekey"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("cannot be used"), "{}", stderr(&o));
    let listed = stdout(&alice.ok(&["workspace", "list"]));
    assert!(listed.contains("after-rekey"), "{listed}");
    // Carol's session stops: exit 3, saying she was removed; nothing is shown.
    let o = with_session(&carol, &carol_token, &["workspace", "list"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("you were removed"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    // Her agent has ended: the token is of no use any more.
    let o = with_session(&carol, &carol_token, &["workspace", "list"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("no session agent"), "{}", stderr(&o));

    let o = bob.v.keyway_with(
        &["lock"],
        &[
            ("PGPASSWORD", ETL_PASSWORD),
            ("XDG_RUNTIME_DIR", &runtime_dir(&bob)),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Ended the session"), "{}", stdout(&o));
}
