//! The detail view's state, driven without a terminal.

use super::keys::{Command, DETAIL};
use super::{DetailState, HistoryView};
use crate::core::Status;
use crate::tui::app::action::{Action, Effect, Stored};
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::testing::*;

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&DETAIL]);
}

#[test]
fn opening_asks_for_the_history_and_takes_only_its_own() {
    let mut shared = unlocked();
    let (mut detail, fx) = DetailState::open(&shared, id("c2"));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadHistory { credential }] if *credential == id("c2"))
    );
    let other = Action::HistoryLoaded {
        credential: id("c1"),
        result: Ok(Vec::new()),
    };
    assert!(detail.on_action(&mut shared, other).is_err());
    assert_eq!(detail.history, HistoryView::Loading);
    let own = Action::HistoryLoaded {
        credential: id("c2"),
        result: Err("damaged".into()),
    };
    assert!(detail.on_action(&mut shared, own).is_ok());
    assert_eq!(detail.history, HistoryView::Failed("damaged".into()));
}

#[test]
fn the_history_is_read_again_only_when_its_credentials_newest_result_changed() {
    let mut shared = unlocked();
    let (mut detail, _) = DetailState::open(&shared, id("c2"));
    // Another credential's result (an audit running meanwhile).
    let mut s = snapshot();
    s.credentials[0].last_verification = Some(checked(Status::Rejected, "now rejected"));
    shared.vault.as_mut().unwrap().replace(s.clone());
    assert!(detail
        .on_stored(&mut shared, &Stored::VerificationsRecorded)
        .is_none());
    // Its own.
    s.credentials[1].last_verification = Some(checked(Status::Verified, "accepted"));
    shared.vault.as_mut().unwrap().replace(s);
    let update = detail
        .on_stored(&mut shared, &Stored::VerificationRecorded)
        .expect("its own result");
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::LoadHistory { .. }]
    ));
    // Read for that result: the same answer again does not read it a third time.
    assert!(detail
        .on_stored(&mut shared, &Stored::VerificationRecorded)
        .is_none());
}

#[test]
fn verify_and_used_by_act_on_the_credential_shown() {
    let mut shared = unlocked();
    let (mut detail, _) = DetailState::open(&shared, id("c2"));
    let update = detail.command(&mut shared, Command::Verify);
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::Verify { credential, .. }] if credential.id == id("c2")
    ));
    assert_eq!(
        nav_only(detail.command(&mut shared, Command::UsedBy)),
        Some(Nav::Open(Route::UsedBy {
            credential: id("c2")
        }))
    );
    assert_eq!(
        nav_only(detail.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}

#[test]
fn rotate_asks_first_naming_the_server_the_user_and_the_active_flows() {
    use crate::tui::app::dialogs::{self, Answer};
    use crate::tui::app::shared::Modal;
    let mut shared = unlocked();
    let (mut detail, _) = DetailState::open(&shared, id("c1"));
    assert!(detail
        .command(&mut shared, Command::Rotate)
        .effects
        .is_empty());
    let Some(Modal::ConfirmRotate(confirm)) = &shared.modal else {
        panic!("no rotation dialog: {:?}", shared.modal);
    };
    assert_eq!(confirm.name, "warehouse");
    assert_eq!(confirm.server, "db.internal:5432");
    assert_eq!(confirm.user, "etl");
    assert_eq!(confirm.active_flows, vec!["nightly".to_string()]);
    let modal = shared.modal.take().expect("dialog");
    assert!(matches!(
        dialogs::answer(modal, dialogs::Command::Confirm),
        Answer::Effect(Effect::RotatePassword { credential }) if credential == id("c1")
    ));
}

#[test]
fn rotate_is_refused_for_a_credential_without_a_database_password() {
    let mut shared = unlocked();
    // c3 is Stripe's "billing": an API key, nothing to rotate.
    let (mut detail, _) = DetailState::open(&shared, id("c3"));
    assert!(detail
        .command(&mut shared, Command::Rotate)
        .effects
        .is_empty());
    assert!(shared.modal.is_none());
    let notice = shared.notice.as_ref().expect("a notice");
    assert!(notice.text.contains("cannot be rotated"), "{notice:?}");
}
