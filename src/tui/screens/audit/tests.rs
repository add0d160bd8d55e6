//! The audit table, driven without a terminal.

use super::keys::{Command, AUDIT, AUDIT_FILTER};
use super::{rows, AuditColumn, AuditState};
use crate::core::Status;
use crate::tui::app::action::{Action, Effect};
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::{Modal, Shared};
use crate::tui::app::testing::*;

fn names(a: &AuditState, shared: &Shared) -> Vec<String> {
    rows(a, shared)
        .iter()
        .map(|r| r.credential.name.clone())
        .collect()
}

fn requests(fx: &[Effect]) -> Vec<(u64, crate::core::RecordId)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Verify {
                request,
                credential,
                ..
            } => Some((*request, credential.id.clone())),
            _ => None,
        })
        .collect()
}

fn finished(request: u64, status: Status) -> Action {
    Action::VerifyFinished {
        request,
        credential: Box::new(credential(
            "x",
            "w1",
            "postgresql",
            "x",
            Default::default(),
            None,
        )),
        outcome: outcome(status, "answer"),
    }
}

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&AUDIT, &AUDIT_FILTER]);
}

#[test]
fn the_sort_and_the_filters_stay_as_left_for_the_next_visit() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    assert_eq!(names(&a, &shared), ["billing", "legacy", "warehouse"]);
    // Name, then Env, then Status.
    quiet(a.command(&mut shared, Command::SortNext));
    quiet(a.command(&mut shared, Command::SortNext));
    assert_eq!(a.sort, AuditColumn::Status);
    assert_eq!(names(&a, &shared)[0], "legacy", "the worst first");
    quiet(a.command(&mut shared, Command::AttentionFilter));
    assert_eq!(names(&a, &shared), ["legacy", "billing"]);
    a.selected = 1;
    let _ = a.closing(&mut shared);
    let again = AuditState::open(&mut shared);
    assert_eq!(again.sort, AuditColumn::Status);
    assert!(again.attention_only);
    assert_eq!(again.selected, 0, "at the first row");
}

#[test]
fn verify_all_records_once_after_the_last_answer_and_says_how_it_went() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    let sent = requests(&a.command(&mut shared, Command::VerifyAll).effects);
    assert_eq!(sent.len(), 3);
    assert_eq!(shared.verifying.len(), 3);
    assert!(
        a.command(&mut shared, Command::VerifyAll)
            .effects
            .is_empty(),
        "one run at a time"
    );
    let (last, rest) = sent.split_last().unwrap();
    for (request, _) in rest {
        shared.verifying.remove(request);
        let update = a
            .on_action(&mut shared, finished(*request, Status::Verified))
            .unwrap();
        assert!(update.effects.is_empty());
    }
    shared.verifying.remove(&last.0);
    let update = a
        .on_action(&mut shared, finished(last.0, Status::Rejected))
        .unwrap();
    match update.effects.as_slice() {
        [Effect::RecordVerifications { results }] => assert_eq!(results.len(), 3),
        other => panic!("{other:?}"),
    }
    assert!(a.run.is_none());
    let notice = notice_text(&shared);
    assert!(notice.starts_with("Verified 3 credential(s)"), "{notice}");
    // Someone else's result is handed back.
    assert!(a
        .on_action(&mut shared, finished(99, Status::Verified))
        .is_err());
}

#[test]
fn esc_or_closing_during_a_run_cancels_the_rest_and_records_what_came_in() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    let sent = requests(&a.command(&mut shared, Command::VerifyAll).effects);
    shared.verifying.remove(&sent[0].0);
    let _ = a.on_action(&mut shared, finished(sent[0].0, Status::Verified));
    let fx = a.command(&mut shared, Command::Back).effects;
    let cancelled = fx
        .iter()
        .filter(|e| matches!(e, Effect::CancelVerify { .. }))
        .count();
    assert_eq!(cancelled, 2);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::RecordVerifications { results } if results.len() == 1)));
    assert!(shared.verifying.is_empty());
    assert!(notice_text(&shared).contains("1 of 3 checked"));
    // With no run, Esc leaves; the same holds when the screen is closed under a run.
    assert_eq!(
        nav_only(a.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
    let sent = requests(&a.command(&mut shared, Command::VerifyAll).effects);
    assert_eq!(sent.len(), 3);
    let fx = a.closing(&mut shared);
    assert_eq!(fx.len(), 3, "three cancelled, nothing to record: {fx:?}");
}

#[test]
fn details_open_the_selected_row() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    quiet(a.command(&mut shared, Command::Down));
    assert_eq!(
        nav_only(a.command(&mut shared, Command::Details)),
        Some(Nav::Open(Route::Detail {
            credential: id("c2")
        }))
    );
}

/// The fix where the problem shows: the selected row's credential is edited, verified again,
/// rebound, deleted (guarded) or shown in its list, from the audit itself.
#[test]
fn the_selected_row_is_edited_verified_rebound_deleted_or_shown_in_its_list() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    // billing, legacy, warehouse: legacy (rejected) is the second row.
    quiet(a.command(&mut shared, Command::Down));
    assert_eq!(names(&a, &shared)[a.selected], "legacy");
    match nav_only(a.command(&mut shared, Command::Edit)) {
        Some(Nav::Open(Route::Form {
            component, editing, ..
        })) => {
            assert_eq!(component, "postgresql");
            assert_eq!(editing, Some(id("c2")));
        }
        other => panic!("expected the form, got {other:?}"),
    }
    let fx = a.command(&mut shared, Command::Verify).effects;
    assert_eq!(requests(&fx).len(), 1, "{fx:?}");
    assert_eq!(requests(&fx)[0].1, id("c2"));
    assert_eq!(
        nav_only(a.command(&mut shared, Command::Rebind)),
        Some(Nav::Open(Route::UsedBy {
            credential: id("c2")
        }))
    );
    assert_eq!(
        nav_only(a.command(&mut shared, Command::Component)),
        Some(Nav::Open(Route::Credentials {
            component: "postgresql".into(),
            select: Some(id("c2")),
        }))
    );
    // warehouse is in the active flow "nightly": the delete dialog only explains.
    quiet(a.command(&mut shared, Command::Down));
    quiet(a.command(&mut shared, Command::Delete));
    match &shared.modal {
        Some(Modal::ConfirmDelete {
            refusal: Some(why), ..
        }) => assert!(why.contains("nightly"), "{why}"),
        other => panic!("expected a refused delete, got {other:?}"),
    }
}

#[test]
fn slash_filters_the_audit_and_n_and_shift_n_step_through_the_matches_wrapping() {
    let mut shared = unlocked();
    let mut a = AuditState::open(&mut shared);
    quiet(a.command(&mut shared, Command::Filter));
    assert!(std::ptr::eq(a.keys(&shared), &AUDIT_FILTER));
    // "prod" is the environment of both PostgreSQL credentials, not of Stripe's billing.
    for c in "prod".chars() {
        a.focused_input()
            .unwrap()
            .handle(tui_input::InputRequest::InsertChar(c));
        a.edited(&mut shared);
    }
    quiet(a.command(&mut shared, Command::KeepFilter));
    assert_eq!(names(&a, &shared), ["legacy", "warehouse"]);
    let selected = |a: &AuditState, shared: &Shared| names(a, shared)[a.selected].clone();
    assert_eq!(selected(&a, &shared), "legacy");
    quiet(a.command(&mut shared, Command::NextMatch));
    assert_eq!(selected(&a, &shared), "warehouse");
    quiet(a.command(&mut shared, Command::NextMatch));
    assert_eq!(selected(&a, &shared), "legacy", "wraps to the first");
    quiet(a.command(&mut shared, Command::PrevMatch));
    assert_eq!(selected(&a, &shared), "warehouse", "wraps to the last");
    // The row's edit opens the form on the match selected.
    match nav_only(a.command(&mut shared, Command::Edit)) {
        Some(Nav::Open(Route::Form { editing, .. })) => assert_eq!(editing, Some(id("c1"))),
        other => panic!("{other:?}"),
    }
    // Esc: the filter goes first, the cursor stays on warehouse; then back.
    assert_eq!(nav_only(a.command(&mut shared, Command::Back)), None);
    assert_eq!(names(&a, &shared).len(), 3);
    assert_eq!(selected(&a, &shared), "warehouse");
    assert_eq!(
        nav_only(a.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}
