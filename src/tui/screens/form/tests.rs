//! The credential form, driven without a terminal.

use std::time::Duration;

use secrecy::SecretString;
use tui_input::Input;

use super::keys::{Command, CHOICE, CONFLICT, FORM, HOST_KEY, LOGIN_PASTE, OAUTH_FORM, VERIFYING};
use super::{FieldKey, FormPhase, FormState};
use crate::core::time::Timestamp;
use crate::core::{AnyRecord, Conflict, Revision, RuleError, Status};
use crate::store::StoreError;
use crate::tui::app::action::{Action, Clock, Effect, Stored};
use crate::tui::app::nav::{Nav, Returned};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::{Modal, Shared};
use crate::tui::app::testing::*;
use crate::verify::TokenUpdate;

fn new_form(shared: &mut Shared, component: &str) -> FormState {
    FormState::open(shared, component, None, "staging", "the form".into())
        .expect("in the catalogue")
}

fn set(form: &mut FormState, key: FieldKey, value: &str) {
    let field = form
        .fields
        .iter_mut()
        .find(|f| f.key == key)
        .expect("a field");
    field.input = Input::new(value.to_string());
}

fn field(name: &str) -> FieldKey {
    FieldKey::Field(name.into())
}

/// Where the component's field `name` is in the form.
fn at(form: &FormState, name: &str) -> usize {
    form.fields
        .iter()
        .position(|f| f.key == field(name))
        .expect("a field")
}

/// A new PostgreSQL form with valid values.
fn filled(shared: &mut Shared) -> FormState {
    let mut form = new_form(shared, "postgresql");
    set(&mut form, FieldKey::Name, "analytics");
    set(&mut form, field("host"), "127.0.0.1");
    set(&mut form, field("user"), "etl");
    set(&mut form, field("password"), "pw");
    form
}

/// Saves `form`; the request its verification runs under.
fn save(form: &mut FormState, shared: &mut Shared) -> u64 {
    match form.command(shared, Command::Save).effects.as_slice() {
        [Effect::PrepareAndVerify { request, .. }] => *request,
        other => panic!("expected a verification, got {other:?}"),
    }
}

fn answered(
    form: &mut FormState,
    shared: &mut Shared,
    request: u64,
    outcome: crate::verify::Outcome,
) -> Vec<Effect> {
    let action = Action::VerifyFinished {
        request,
        credential: Box::new(credential(
            "new",
            "w1",
            "postgresql",
            "analytics",
            Default::default(),
            None,
        )),
        outcome,
    };
    form.on_action(shared, action)
        .expect("its own answer")
        .effects
}

#[test]
fn the_key_tables_are_well_formed_and_only_oauth2_forms_log_in() {
    assert_tables_well_formed(&[
        &FORM,
        &OAUTH_FORM,
        &LOGIN_PASTE,
        &CONFLICT,
        &VERIFYING,
        &CHOICE,
        &HOST_KEY,
    ]);
    let mut shared = unlocked();
    let pg = new_form(&mut shared, "postgresql");
    assert!(std::ptr::eq(pg.keys(&shared), &FORM));
    let oauth = new_form(&mut shared, "generic_oauth2");
    assert!(std::ptr::eq(oauth.keys(&shared), &OAUTH_FORM));
    assert!(FormState::open(&mut shared, "gone", None, "", String::new()).is_none());
}

#[test]
fn nothing_leaves_a_form_with_invalid_fields() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "postgresql");
    set(&mut form, FieldKey::Name, "warehouse");
    set(&mut form, field("port"), "70000");
    form.focus = at(&form, "user");
    assert!(form.command(&mut shared, Command::Save).effects.is_empty());
    assert_eq!(form.focus, 0, "on the first marked field");
    assert!(form.fields[0]
        .error
        .as_deref()
        .unwrap()
        .contains("already has"));
    assert!(form.fields[at(&form, "port")].error.is_some());
    assert!(shared.verifying.is_empty());
}

#[test]
fn a_verified_credential_is_saved_with_the_tokens_its_check_obtained() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    let request = save(&mut form, &mut shared);
    assert_eq!(shared.verifying[&request].label, "analytics");
    assert!(
        form.command(&mut shared, Command::Save).effects.is_empty(),
        "one at a time"
    );
    let mut ok = outcome(Status::Verified, "accepted");
    ok.tokens = Some(TokenUpdate {
        access_token: SecretString::from("at_new"),
        refresh_token: None,
        expires_at: Some(Timestamp(NOW.0 + 60)),
        refresh_expires_at: None,
    });
    let fx = answered(&mut form, &mut shared, request, ok);
    match fx.as_slice() {
        [Effect::SaveCredential { credential }] => {
            assert_eq!(
                credential.last_verification.as_ref().unwrap().status,
                Status::Verified
            );
            assert_eq!(credential.secrets.expose("access_token"), Some("at_new"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(form.phase, FormPhase::Saving));
    let update = form
        .on_stored(&mut shared, &Stored::CredentialSaved(id("new")))
        .expect("its save");
    assert_eq!(
        nav_only(update),
        Some(Nav::Back(Some(Returned::CredentialSaved(id("new")))))
    );
}

#[test]
fn refused_and_unreachable_answers_save_nothing_until_the_user_says_so() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    let request = save(&mut form, &mut shared);
    assert!(answered(
        &mut form,
        &mut shared,
        request,
        outcome(Status::Rejected, "bad password")
    )
    .is_empty());
    assert!(matches!(&form.phase, FormPhase::Refused { reason, .. } if reason == "bad password"));
    assert!(form
        .command(&mut shared, Command::SaveUnverified)
        .effects
        .is_empty());
    let request = save(&mut form, &mut shared);
    assert!(answered(
        &mut form,
        &mut shared,
        request,
        outcome(Status::Unreachable, "refused")
    )
    .is_empty());
    assert!(matches!(form.phase, FormPhase::Unreachable { .. }));
    // An edit makes the prepared credential stale.
    form.edited(&mut shared);
    assert!(matches!(form.phase, FormPhase::Editing));
    let request = save(&mut form, &mut shared);
    answered(
        &mut form,
        &mut shared,
        request,
        outcome(Status::Unreachable, "refused"),
    );
    match form
        .command(&mut shared, Command::SaveUnverified)
        .effects
        .as_slice()
    {
        [Effect::SaveCredential { credential }] => {
            let v = credential.last_verification.as_ref().unwrap();
            assert_eq!(v.status, Status::Unverified);
            assert_eq!(v.reason, "Saved unverified: refused");
            assert_eq!(v.latency_ms, Some(40));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rule_refusal_lands_on_the_field_it_is_about() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    let request = save(&mut form, &mut shared);
    form.focus = at(&form, "database");
    let refused = Action::DraftRefused {
        request,
        error: StoreError::Rule(RuleError::CredentialExists {
            workspace: "acme".into(),
            component: "postgresql".into(),
            name: "analytics".into(),
        }),
    };
    assert!(form.on_action(&mut shared, refused).is_ok());
    assert_eq!(form.focus, 0);
    assert!(form.fields[0].error.is_some());
    assert!(matches!(form.phase, FormPhase::Editing));
    // An answer to a request that is not the form's is handed back.
    let stale = Action::DraftRefused {
        request: 999,
        error: StoreError::UnknownComponent("x".into()),
    };
    assert!(form.on_action(&mut shared, stale).is_err());
}

#[test]
fn closing_stops_the_verification_and_changes_are_kept_unless_discarded() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    assert_eq!(nav_only(form.command(&mut shared, Command::Back)), None);
    assert!(matches!(shared.modal, Some(Modal::ConfirmDiscard(_))));
    assert_eq!(
        nav_only(form.discard_confirmed(&mut shared)),
        Some(Nav::BACK)
    );
    let request = save(&mut form, &mut shared);
    let fx = form.closing(&mut shared);
    assert!(matches!(fx.as_slice(), [Effect::CancelVerify { request: r }] if *r == request));
    assert!(shared.verifying.is_empty());
    // An untouched form just closes.
    let mut untouched = new_form(&mut shared, "postgresql");
    assert_eq!(
        nav_only(untouched.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}

#[test]
fn a_revealed_secret_hides_again_after_ten_seconds() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    let password = at(&form, "password");
    form.focus = password;
    quiet(form.command(&mut shared, Command::Reveal));
    assert!(form.is_revealed(password));
    // The countdown moves: the screen is drawn again on every tick while it is shown.
    assert!(form.animating());
    let until = form.wake_at().expect("a deadline");
    form.tick(Clock {
        wall: NOW,
        mono: until - Duration::from_millis(1),
    });
    assert!(form.is_revealed(password));
    form.tick(Clock {
        wall: NOW,
        mono: until,
    });
    assert!(!form.is_revealed(password) && form.wake_at().is_none() && !form.animating());
    // A plain field is never "revealed".
    form.focus = at(&form, "host");
    quiet(form.command(&mut shared, Command::Reveal));
    assert!(form.revealed.is_none());
}

// ---- other processes (issue 11) --------------------------------------------------------------

/// The vault as another process left it: "warehouse" (c1) at revision 4 by bob, its host moved.
fn changed_by_bob(shared: &mut Shared) -> crate::vault::Changes {
    let mut snapshot = shared.vault.as_ref().unwrap().snapshot.clone();
    let c1 = snapshot
        .credentials
        .iter_mut()
        .find(|c| c.id == id("c1"))
        .unwrap();
    c1.public.insert("host".into(), "db2.internal".into());
    c1.revision = Revision {
        number: 4,
        changed_by: "bob@ops1 (keyway credential edit)".into(),
        changed_at: Timestamp(NOW.0 + 5),
    };
    shared.vault.as_mut().unwrap().replace(snapshot);
    crate::vault::Changes {
        credentials: vec![id("c1")],
        ..Default::default()
    }
}

/// An edit form of "warehouse" opened at revision 3.
fn editing_warehouse(shared: &mut Shared) -> FormState {
    let view = shared.vault.as_mut().unwrap();
    let mut snapshot = view.snapshot.clone();
    for c in snapshot.credentials.iter_mut() {
        c.revision.number = 3;
    }
    view.replace(snapshot);
    FormState::open(shared, "postgresql", Some(&id("c1")), "", "edit".into()).unwrap()
}

#[test]
fn a_form_whose_credential_changed_underneath_says_who_and_saves_from_its_own_revision() {
    let mut shared = unlocked();
    let mut form = editing_warehouse(&mut shared);
    assert!(form.underneath.is_none());
    // A change to another credential says nothing.
    let other = crate::vault::Changes {
        credentials: vec![id("c2")],
        ..Default::default()
    };
    assert!(form.refreshed(&mut shared, &other, None).is_empty());
    assert!(form.underneath.is_none());
    let changes = changed_by_bob(&mut shared);
    assert!(form.refreshed(&mut shared, &changes, None).is_empty());
    let banner = form.underneath.clone().expect("a banner");
    // Who and from which host, as the CLI's conflict message says it (core's Author).
    assert!(
        banner.starts_with("Changed by bob@ops1 at 2026-"),
        "{banner}"
    );
    // The form keeps what it showed: its save is based on revision 3, not bob's 4.
    set(&mut form, field("port"), "6432");
    match form.command(&mut shared, Command::Save).effects.as_slice() {
        [Effect::PrepareAndVerify {
            base: Some(base), ..
        }] => {
            assert_eq!(base.revision.number, 3);
            assert_eq!(base.public["host"], "db.internal");
        }
        other => panic!("expected a verification, got {other:?}"),
    }
    // Deleted underneath: the banner says so.
    let mut snapshot = shared.vault.as_ref().unwrap().snapshot.clone();
    snapshot.credentials.retain(|c| c.id != id("c1"));
    shared.vault.as_mut().unwrap().replace(snapshot);
    let removed = crate::vault::Changes {
        removed: vec![id("c1")],
        ..Default::default()
    };
    let _ = form.refreshed(&mut shared, &removed, None);
    assert!(form.underneath.as_deref().unwrap().starts_with("Deleted"));
}

/// The form after its save met bob's change: the conflict dialog is up.
fn in_conflict(shared: &mut Shared) -> FormState {
    let mut form = editing_warehouse(shared);
    let _ = changed_by_bob(shared);
    set(&mut form, field("port"), "6432");
    let mut mine = form.base.clone().unwrap();
    mine.public.insert("port".into(), "6432".into());
    let theirs = shared
        .vault
        .as_ref()
        .unwrap()
        .snapshot
        .credential(&id("c1"))
        .cloned()
        .unwrap();
    form.phase = FormPhase::Saving;
    let conflict = Conflict {
        based_on: 3,
        mine: Some(AnyRecord::Credential(*mine)),
        theirs: Some(AnyRecord::Credential(theirs)),
    };
    let update = form
        .on_action(
            shared,
            Action::StoreConflict {
                event: Stored::CredentialSaved(id("c1")),
                conflict: Box::new(conflict),
            },
        )
        .expect("the form's own save");
    quiet(update);
    assert!(matches!(form.phase, FormPhase::Conflict { .. }));
    assert!(std::ptr::eq(form.keys(shared), &CONFLICT));
    form
}

#[test]
fn a_conflict_offers_theirs_mine_or_more_editing() {
    let mut shared = unlocked();
    // Overwrite with mine: written over bob's revision, with the form's values.
    let mut form = in_conflict(&mut shared);
    match form
        .command(&mut shared, Command::OverwriteMine)
        .effects
        .as_slice()
    {
        [Effect::SaveCredential { credential }] => {
            assert_eq!(credential.revision.number, 4);
            assert_eq!(credential.public["port"], "6432");
            assert_eq!(credential.public["host"], "db.internal");
        }
        other => panic!("expected a save, got {other:?}"),
    }
    assert!(matches!(form.phase, FormPhase::Saving));

    // Reload theirs: the form shows bob's version and is based on it.
    let mut shared = unlocked();
    let mut form = in_conflict(&mut shared);
    quiet(form.command(&mut shared, Command::ReloadTheirs));
    assert!(matches!(form.phase, FormPhase::Editing));
    let host = form.fields.iter().find(|f| f.key == field("host")).unwrap();
    assert_eq!(host.input.value(), "db2.internal");
    assert_eq!(form.base.as_ref().unwrap().revision.number, 4);
    assert!(form.underneath.is_none());
    assert!(!form.changed());

    // Keep editing: the edits stay, the banner says why the next save asks again.
    let mut shared = unlocked();
    let mut form = in_conflict(&mut shared);
    quiet(form.command(&mut shared, Command::KeepEditing));
    assert!(matches!(form.phase, FormPhase::Editing));
    let port = form.fields.iter().find(|f| f.key == field("port")).unwrap();
    assert_eq!(port.input.value(), "6432");
    assert!(form.underneath.as_deref().unwrap().contains("bob@ops1"));
}

#[test]
fn the_conflict_dialog_masks_both_secrets() {
    let mut shared = unlocked();
    let form = in_conflict(&mut shared);
    let backend = ratatui::backend::TestBackend::new(100, 30);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| Screen::view(&form, &shared, f, f.area()))
        .unwrap();
    let text = format!("{:?}", terminal.backend().buffer());
    assert!(text.contains("Changed by another process"));
    assert!(
        text.contains("Saved meanwhile by bob@ops1 at 2026-"),
        "{text}"
    );
    assert!(text.contains("db2.internal") && text.contains("6432"));
    assert!(!text.contains("pw_SENTINEL"), "a secret was drawn");
}

#[test]
fn esc_during_a_verification_cancels_the_check_and_keeps_the_form() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    let request = save(&mut form, &mut shared);
    assert!(std::ptr::eq(form.keys(&shared), &VERIFYING));
    assert!(shared.verifying.contains_key(&request));
    let fx = form.command(&mut shared, Command::CancelCheck).effects;
    assert!(
        matches!(fx.as_slice(), [Effect::CancelVerify { request: r }] if *r == request),
        "{fx:?}"
    );
    assert!(matches!(form.phase, FormPhase::Editing));
    assert!(shared.modal.is_none(), "no discard question");
    assert!(shared.verifying.is_empty());
    let name = form
        .fields
        .iter()
        .find(|f| f.key == FieldKey::Name)
        .unwrap();
    assert_eq!(name.input.value(), "analytics", "the form is as it was");
    assert!(form.changed());
    // A late answer to the cancelled check is not the form's any more.
    let late = Action::VerifyFinished {
        request,
        credential: Box::new(credential(
            "new",
            "w1",
            "postgresql",
            "analytics",
            Default::default(),
            None,
        )),
        outcome: outcome(Status::Verified, "ok"),
    };
    assert!(form.on_action(&mut shared, late).is_err());
}

#[test]
fn a_choice_field_is_a_pick_list_that_cycles() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "postgresql");
    let at = form
        .fields
        .iter()
        .position(|f| f.key == field("sslmode"))
        .unwrap();
    form.focus = at;
    assert!(
        std::ptr::eq(form.keys(&shared), &CHOICE),
        "nothing is typed into it"
    );
    let value = |form: &FormState| form.fields[at].input.value().to_string();
    assert_eq!(value(&form), "verify-full");
    quiet(form.command(&mut shared, Command::NextChoice));
    assert_eq!(value(&form), "verify-ca");
    quiet(form.command(&mut shared, Command::PrevChoice));
    quiet(form.command(&mut shared, Command::PrevChoice));
    assert_eq!(value(&form), "disable", "wraps around");
    quiet(form.command(&mut shared, Command::NextChoice));
    assert_eq!(value(&form), "verify-full");
    // Space picks too; the other fields still type.
    let space = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(' '),
        crossterm::event::KeyModifiers::NONE,
    );
    assert_eq!(
        CHOICE.command_for(&space),
        Some(crate::tui::app::keys::Bound::Screen(Command::NextChoice))
    );
    form.focus = 0;
    assert!(std::ptr::eq(form.keys(&shared), &FORM));
}

#[test]
fn on_a_team_vault_the_banner_names_the_member_and_the_host_they_wrote_from() {
    let mut shared = unlocked();
    let mut form = editing_warehouse(&mut shared);
    let changes = changed_by_bob(&mut shared);
    let mut snapshot = shared.vault.as_ref().unwrap().snapshot.clone();
    let c1 = snapshot
        .credentials
        .iter_mut()
        .find(|c| c.id == id("c1"))
        .unwrap();
    c1.revision.changed_by = "bob, etl@ops-2 (tui)".into();
    shared.vault.as_mut().unwrap().replace(snapshot);
    assert!(form.refreshed(&mut shared, &changes, None).is_empty());
    let banner = form.underneath.clone().expect("a banner");
    assert!(
        banner.starts_with("Changed by bob (etl@ops-2) at 2026-"),
        "{banner}"
    );
}

#[test]
fn an_unknown_ssh_host_key_asks_to_be_trusted_and_y_pins_it_and_saves() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "sftp");
    set(&mut form, FieldKey::Name, "dropbox");
    set(&mut form, field("host"), "127.0.0.1");
    set(&mut form, field("user"), "files");
    set(&mut form, field("password"), "pw_SENTINEL_sftp");
    let fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
    let host_key = |form: &FormState| {
        form.fields
            .iter()
            .find(|f| f.key == field("host_key"))
            .map(|f| f.input.value().to_string())
            .expect("a host_key field")
    };
    let unpinned = |shared: &mut Shared, form: &mut FormState| {
        let request = save(form, shared);
        let mut o = outcome(Status::Misconfigured, "The server presents a host key");
        o.host_key_to_confirm = Some(fingerprint.to_string());
        assert!(
            answered(form, shared, request, o).is_empty(),
            "nothing saved"
        );
        assert!(matches!(
            &form.phase,
            FormPhase::ConfirmHostKey { fingerprint: f, .. } if f == fingerprint
        ));
        assert!(std::ptr::eq(form.keys(shared), &HOST_KEY));
    };
    // The dialog shows the fingerprint and asks; no secret is drawn.
    unpinned(&mut shared, &mut form);
    let backend = ratatui::backend::TestBackend::new(100, 30);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| Screen::view(&form, &shared, f, f.area()))
        .unwrap();
    let text = format!("{:?}", terminal.backend().buffer());
    assert!(text.contains("Trust this host key?"), "{text}");
    assert!(text.contains(fingerprint), "{text}");
    assert!(!text.contains("pw_SENTINEL"), "a secret was drawn");
    // n: not trusted, nothing pinned, nothing saved, back to editing.
    let update = form.command(&mut shared, Command::KeepEditing);
    assert!(update.effects.is_empty());
    assert!(matches!(form.phase, FormPhase::Editing));
    assert_eq!(host_key(&form), "");
    // y: pinned into host_key and verified again against that pin.
    unpinned(&mut shared, &mut form);
    let update = form.command(&mut shared, Command::TrustHostKey);
    let [Effect::PrepareAndVerify { request, draft, .. }] = update.effects.as_slice() else {
        panic!("expected a verification, got {:?}", update.effects);
    };
    assert!(draft.changes.iter().any(|(k, v)| k == "host_key"
        && matches!(v, crate::core::input::FieldValue::Plain(p) if p == fingerprint)));
    assert_eq!(host_key(&form), fingerprint);
    // The check against the pin verifies: now it is saved.
    let request = *request;
    let effects = answered(
        &mut form,
        &mut shared,
        request,
        outcome(Status::Verified, "Logged in and opened SFTP"),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::SaveCredential { .. }]),
        "{effects:?}"
    );
}

// ---- a connection URL (issue 17) -------------------------------------------------------------

fn url_field(form: &FormState) -> usize {
    form.fields
        .iter()
        .position(|f| f.key == FieldKey::Url)
        .expect("a URL field")
}

/// What a bracketed paste does: the text into the focused input, then `pasted`.
fn paste(form: &mut FormState, shared: &mut Shared, text: &str) {
    let input = form.focused_input().expect("a text field");
    *input = Input::new(format!("{}{text}", input.value()));
    form.pasted(shared);
}

fn value(form: &FormState, name: &str) -> String {
    form.fields[at(form, name)].input.value().to_string()
}

const URL_SECRET: &str = "p@ss+SENTINEL";

#[test]
fn a_pasted_url_fills_the_form_and_its_password_goes_to_the_password_field() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "postgresql");
    assert_eq!(url_field(&form), 2, "after the name and the environment");
    assert!(
        new_form(&mut shared, "stripe")
            .fields
            .iter()
            .all(|f| f.key != FieldKey::Url),
        "an API key has no connection URL"
    );
    set(&mut form, FieldKey::Name, "analytics");
    form.focus = url_field(&form);
    paste(
        &mut form,
        &mut shared,
        "postgresql://etl:p%40ss+SENTINEL@db.internal:5433/dwh?sslmode=require",
    );
    assert_eq!(value(&form, "user"), "etl");
    assert_eq!(value(&form, "password"), URL_SECRET);
    assert_eq!(value(&form, "host"), "db.internal");
    assert_eq!(value(&form, "port"), "5433");
    assert_eq!(value(&form, "database"), "dwh");
    assert_eq!(value(&form, "sslmode"), "require");
    // The URL field keeps the URL, without its password.
    let url = &form.fields[url_field(&form)];
    assert_eq!(
        url.input.value(),
        "postgresql://etl@db.internal:5433/dwh?sslmode=require"
    );
    assert!(url.error.is_none());
    assert!(form
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("Filled from the URL: User, Password, Host, Port, Database, SSL mode"));
    assert!(!format!("{form:?}").contains("SENTINEL"), "Debug redacts");
    // The save verifies the fields; the URL itself is no field of the credential.
    match form.command(&mut shared, Command::Save).effects.as_slice() {
        [Effect::PrepareAndVerify { draft, .. }] => {
            let keys: Vec<&str> = draft.changes.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                ["host", "port", "database", "user", "password", "sslmode"]
            );
        }
        other => panic!("expected a verification, got {other:?}"),
    }
}

#[test]
fn a_url_of_another_engine_is_the_url_fields_error_and_fills_nothing() {
    let mut shared = unlocked();
    let mut form = filled(&mut shared);
    form.focus = url_field(&form);
    paste(&mut form, &mut shared, "mysql://root:SENTINEL@db:3306/shop");
    let error = form.fields[url_field(&form)]
        .error
        .clone()
        .expect("an error");
    assert!(
        error.contains("mysql:// URL, which is not for PostgreSQL"),
        "{error}"
    );
    assert!(!error.contains("SENTINEL"));
    assert_eq!(value(&form, "host"), "127.0.0.1", "nothing filled");
    assert_eq!(value(&form, "password"), "pw");
    // Enter stays on it, so the error is seen; a save is refused while it stands.
    quiet(form.command(&mut shared, Command::Submit));
    assert_eq!(form.focus, url_field(&form));
    assert!(form.command(&mut shared, Command::Save).effects.is_empty());
    assert_eq!(form.focus, url_field(&form), "the first marked field");
    // Emptied, it is no error.
    form.fields[2].input = Input::default();
    form.edited(&mut shared);
    quiet(form.command(&mut shared, Command::NextField));
    assert!(form.fields[2].error.is_none());
    assert!(matches!(
        form.command(&mut shared, Command::Save).effects.as_slice(),
        [Effect::PrepareAndVerify { .. }]
    ));
}

#[test]
fn a_typed_url_fills_the_form_when_the_field_is_left() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "mysql");
    form.focus = url_field(&form);
    for c in "mysql://app:pw@db.example.com/shop".chars() {
        let input = form.focused_input().unwrap();
        *input = Input::new(format!("{}{c}", input.value()));
        form.edited(&mut shared);
        assert!(
            form.fields[2].error.is_none(),
            "no error while it is being typed"
        );
    }
    assert_eq!(value(&form, "host"), "", "nothing filled yet");
    quiet(form.command(&mut shared, Command::NextField));
    assert_eq!(value(&form, "host"), "db.example.com");
    assert_eq!(value(&form, "port"), "3306", "the default stays");
    assert_eq!(value(&form, "database"), "shop");
    assert_eq!(value(&form, "password"), "pw");
    assert_eq!(form.focus, 3);
    // A URL naming what the component lacks is refused, and says what.
    form.focus = 2;
    paste(&mut form, &mut shared, "?application_name=x");
    let error = form.fields[2].error.as_deref().unwrap();
    assert!(
        error.contains("'application_name', which is no field"),
        "{error}"
    );
}

#[test]
fn a_rediss_url_turns_tls_on_and_names_the_database_number() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "redis");
    form.focus = url_field(&form);
    paste(
        &mut form,
        &mut shared,
        "rediss://worker:SENTINEL@cache.internal:6380/2",
    );
    assert_eq!(value(&form, "tls"), "on");
    assert_eq!(value(&form, "database"), "2");
    assert_eq!(value(&form, "user"), "worker");
    assert_eq!(value(&form, "password"), "SENTINEL");
    assert_eq!(
        form.fields[2].input.value(),
        "rediss://worker@cache.internal:6380/2"
    );
}

#[test]
fn an_sftp_url_fills_user_host_and_port() {
    let mut shared = unlocked();
    let mut form = new_form(&mut shared, "sftp");
    form.focus = url_field(&form);
    paste(
        &mut form,
        &mut shared,
        "sftp://files:SENTINEL@drop.example.com:2222/inbox",
    );
    assert_eq!(value(&form, "user"), "files");
    assert_eq!(value(&form, "host"), "drop.example.com");
    assert_eq!(value(&form, "port"), "2222");
    assert_eq!(value(&form, "password"), "SENTINEL");
    assert!(form.fields[url_field(&form)].error.is_none());
    assert!(!form.fields[url_field(&form)]
        .input
        .value()
        .contains("SENTINEL"));
}
