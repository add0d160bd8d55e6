//! The audit table and the detail view (issue 6).

use crossterm::event::KeyCode;
use keyway::core::time::Timestamp;
use keyway::core::Snapshot;
use keyway::core::{Status, Verification};
use keyway::tui::app::action::Stored;
use keyway::tui::app::pages::ScreenId as Screen;
use keyway::tui::{Action, Effect};
use ratatui::style::Color;

use super::harness::*;

fn audit_snapshot() -> Snapshot {
    let mut s = flow_snapshot();
    let day = 86_400;
    for c in s.credentials.iter_mut() {
        let expires = match c.id.0.as_str() {
            "c1" => Some(NOW.0 - 2 * day),  // expired 2 days ago
            "c5" => Some(NOW.0 + 3 * day),  // within the 14-day window
            "c3" => Some(NOW.0 + 40 * day), // fine
            _ => None,
        };
        if let Some(e) = expires {
            c.public.insert("expires_at".into(), Timestamp(e).rfc3339());
        }
        c.created_at = Timestamp(NOW.0 - 30 * day);
        c.updated_at = Timestamp(NOW.0 - 5 * day);
    }
    s
}

fn audit_names(h: &Harness) -> Vec<String> {
    keyway::tui::screens::audit::rows(h.audit(), &h.state.shared)
        .iter()
        .map(|r| r.credential.name.clone())
        .collect()
}

#[test]
fn audit_table_sorts_filters_and_summarises() {
    use keyway::tui::screens::audit::AuditColumn;
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.key(KeyCode::Char('A'));
    assert_eq!(h.state.screen(), Screen::Audit);
    let screen = h.screen(150, 20);
    assert!(screen.contains("expired 2d ago"), "{screen}");
    assert!(screen.contains("⚠ in 3d"), "{screen}");
    assert!(screen.contains("2 expire within 14d"), "{screen}");
    assert_screen!("audit", screen);
    let t = h.draw(150, 20);
    assert!(fg_of(&t, "rejected").contains(&Color::Red));
    assert_eq!(fg_of(&t, "⚠ in 3d").first(), Some(&Color::Yellow));
    // Only this workspace's six credentials, by name.
    assert_eq!(
        audit_names(&h),
        [
            "billing",
            "billing-test",
            "legacy",
            "replica",
            "scratch",
            "warehouse"
        ]
    );
    // s cycles the sort column: Name -> Env -> Status (worst first).
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Char('s'));
    assert_eq!(h.audit().sort, AuditColumn::Status);
    assert_eq!(audit_names(&h)[0], "legacy");
    h.key(KeyCode::Char('r'));
    assert_eq!(audit_names(&h).last().unwrap(), "legacy");
    // Needs attention: not verified, or expiring within the window.
    h.key(KeyCode::Char('f'));
    let mut names = audit_names(&h);
    names.sort();
    assert_eq!(
        names,
        ["billing", "legacy", "replica", "scratch", "warehouse"]
    );
    // All workspaces adds the other workspace's credentials.
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('a'));
    assert_eq!(audit_names(&h).len(), 8);
}

#[test]
fn audit_verify_all_updates_rows_and_can_be_cancelled() {
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.key(KeyCode::Char('A'));
    let fx = h.key(KeyCode::Char('V'));
    let requests: Vec<(u64, String)> = fx
        .iter()
        .map(|e| match e {
            Effect::Verify {
                request,
                credential,
                ..
            } => (*request, credential.name.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(requests.len(), 6);
    assert!(h.key(KeyCode::Char('V')).is_empty(), "one run at a time");
    // One result arrives: its row updates at once; the UI keeps taking keys.
    let (first, name) = requests
        .iter()
        .find(|(_, n)| n == "legacy")
        .cloned()
        .unwrap();
    let fx = h.act(Action::VerifyFinished {
        request: first,
        credential: Box::new(cred("c2", "w1", "postgresql", &name, None)),
        outcome: outcome(Status::Verified, "password accepted"),
    });
    assert!(fx.is_empty(), "recorded in batches");
    h.key(KeyCode::Down);
    let screen = h.screen(150, 20);
    assert!(screen.contains("verifying 1/6"), "{screen}");
    assert!(screen.contains("password accepted"), "{screen}");
    assert_screen!("audit_verifying", screen);
    // Esc cancels the other five and records what came in.
    let fx = h.key(KeyCode::Esc);
    let cancelled = fx
        .iter()
        .filter(|e| matches!(e, Effect::CancelVerify { .. }))
        .count();
    assert_eq!(cancelled, 5);
    let recorded: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::RecordVerifications { results } => Some(results.len()),
            _ => None,
        })
        .collect();
    assert_eq!(recorded, [1]);
    assert!(h.audit().run.is_none());
    assert!(h.state.shared.verifying.is_empty());
    assert_eq!(
        h.state.screen(),
        Screen::Audit,
        "Esc cancelled, did not leave"
    );
    assert!(h.screen(150, 20).contains("cancelled: 1 of 6 checked"));
    // A late result of a cancelled request is dropped.
    assert!(h
        .act(Action::VerifyFinished {
            request: requests[5].0,
            credential: Box::new(cred("c1", "w1", "postgresql", "x", None)),
            outcome: outcome(Status::Verified, "ok"),
        })
        .is_empty());
}

#[test]
fn audit_run_finishes_with_one_record_per_batch_and_a_summary() {
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.key(KeyCode::Char('A'));
    let fx = h.key(KeyCode::Char('V'));
    let mut all = Vec::new();
    for e in fx {
        if let Effect::Verify {
            request,
            credential,
            ..
        } = e
        {
            all.extend(h.act(Action::VerifyFinished {
                request,
                credential,
                outcome: outcome(Status::Verified, "ok"),
            }));
        }
    }
    match all.as_slice() {
        [Effect::RecordVerifications { results }] => assert_eq!(results.len(), 6),
        other => panic!("{other:?}"),
    }
    assert!(h.audit().run.is_none());
    assert!(h
        .screen(150, 20)
        .contains("Verified 6 credential(s): ✓ 6 verified"));
}

#[test]
fn detail_view_shows_the_verification_history() {
    let history = vec![
        verification(
            Status::Rejected,
            7200,
            "PostgreSQL rejected the password for user 'etl'",
        ),
        verification(
            Status::Unreachable,
            86_400,
            "Connection refused by db.internal:5432",
        ),
        // A run: the same result from 14 checks, the first 30 days ago.
        Verification {
            run: Some(keyway::core::Run {
                first: Timestamp(NOW.0 - 86_400 * 30),
                count: 14,
            }),
            detail: Some("acct_9".into()),
            ..verification(Status::Verified, 86_400 * 9, "ok")
        },
    ];
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.open_postgres();
    // The history lives in the vault: opening the view asks for it.
    let fx = h.key(KeyCode::Char('i'));
    assert_eq!(h.state.screen(), Screen::Detail);
    assert!(
        matches!(fx.as_slice(), [Effect::LoadHistory { credential }] if *credential == id("c2")),
        "{fx:?}"
    );
    assert!(h.screen(100, 24).contains("Reading the history"));
    // A late answer for another credential is not shown here.
    h.act(Action::HistoryLoaded {
        credential: id("c1"),
        result: Ok(vec![verification(Status::Verified, 60, "other credential")]),
    });
    assert!(!h.screen(100, 24).contains("other credential"));
    h.act(Action::HistoryLoaded {
        credential: id("c2"),
        result: Ok(history),
    });
    let screen = h.screen(100, 24);
    assert!(!screen.contains(SECRET));
    assert!(screen.contains("Connection refused"));
    assert!(screen.contains("ok (acct_9) · first 30d ago"), "{screen}");
    assert_screen!("detail", screen);
    // `v` re-verifies the credential on show, from the view itself.
    let fx = h.key(KeyCode::Char('v'));
    assert!(
        matches!(fx.as_slice(), [Effect::Verify { credential, .. }] if credential.id == id("c2")),
        "{fx:?}"
    );
    assert_eq!(h.state.screen(), Screen::Detail);
    // A result stored for another credential (an audit running meanwhile) leaves it be.
    let with_result_for = |cred: &str| {
        let mut s = audit_snapshot();
        let c = s.credentials.iter_mut().find(|c| c.id == id(cred)).unwrap();
        c.last_verification = Some(verification(Status::Verified, 1, "ok"));
        s
    };
    let fx = h.act(Action::Stored {
        snapshot: with_result_for("c1"),
        event: Stored::VerificationsRecorded,
    });
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadHistory { .. })),
        "{fx:?}"
    );
    // Once its own result is stored, the history is read again.
    let fx = h.act(Action::Stored {
        snapshot: with_result_for("c2"),
        event: Stored::VerificationRecorded,
    });
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadHistory { credential } if *credential == id("c2"))),
        "{fx:?}"
    );
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen(), Screen::Credentials);
}

#[test]
fn detail_view_says_when_the_history_cannot_be_read_or_is_empty() {
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.open_postgres();
    h.key(KeyCode::Char('i'));
    h.act(Action::HistoryLoaded {
        credential: id("c2"),
        result: Err("history entry 3 of credential c2 failed authentication".into()),
    });
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("The history cannot be read: history entry 3"),
        "{screen}"
    );
    // An empty history says so.
    h.act(Action::HistoryLoaded {
        credential: id("c2"),
        result: Ok(Vec::new()),
    });
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("Verification history (0 kept, newest first)")
            && screen.contains("Never verified."),
        "{screen}"
    );
}

/// Starts "verify all" in the audit of `snapshot`; the requests it sent, with their credentials.
fn start_verify_all(h: &mut Harness) -> Vec<(u64, Box<keyway::core::Credential>)> {
    h.key(KeyCode::Char('A'));
    h.key(KeyCode::Char('V'))
        .into_iter()
        .filter_map(|e| match e {
            Effect::Verify {
                request,
                credential,
                ..
            } => Some((request, credential)),
            _ => None,
        })
        .collect()
}

fn recorded(fx: &[Effect]) -> Vec<usize> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::RecordVerifications { results } => Some(results.len()),
            _ => None,
        })
        .collect()
}

/// "Verify all" records as `keyway audit` does (crate::audit): once, after the last answer,
/// however many results there are (the TUI used to commit every 25).
#[test]
fn verify_all_records_once_after_the_last_answer() {
    let mut s = audit_snapshot();
    for i in 0..30 {
        let name = format!("key-{i:02}");
        s.credentials
            .push(staging(cred(&format!("x{i}"), "w1", "stripe", &name, None)));
    }
    let mut h = Harness::with_snapshot(s);
    let mut requests = start_verify_all(&mut h);
    assert_eq!(requests.len(), 36);
    let (last, credential) = requests.pop().unwrap();
    for (request, credential) in requests {
        let fx = h.act(Action::VerifyFinished {
            request,
            credential,
            outcome: outcome(Status::Verified, "ok"),
        });
        assert!(fx.is_empty(), "recorded before the last answer: {fx:?}");
    }
    let fx = h.act(Action::VerifyFinished {
        request: last,
        credential,
        outcome: outcome(Status::Verified, "ok"),
    });
    assert_eq!(recorded(&fx), [36]);
}

/// Quitting or locking while "verify all" runs still records what came in, before the keys go.
#[test]
fn quitting_or_locking_during_verify_all_records_what_came_in() {
    for lock in [false, true] {
        let mut h = Harness::with_snapshot(audit_snapshot());
        let mut requests = start_verify_all(&mut h);
        let (request, credential) = requests.remove(0);
        h.act(Action::VerifyFinished {
            request,
            credential,
            outcome: outcome(Status::Verified, "ok"),
        });
        let fx = if lock {
            h.ctrl('l')
        } else {
            h.key(KeyCode::Char('q'))
        };
        assert_eq!(recorded(&fx), [1], "lock: {lock}; {fx:?}");
        if lock {
            assert!(matches!(fx.last(), Some(Effect::Lock)), "{fx:?}");
        } else {
            assert!(h.state.shared.quit);
        }
    }
}
