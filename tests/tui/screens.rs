//! Render snapshots of every screen, and the behaviour behind them.

use crossterm::event::KeyCode;
use keyway::core::Status;
use keyway::store::StoreError;
use keyway::tui::app::action::Stored;
use keyway::tui::app::pages::ScreenId as Screen;
use keyway::tui::app::shared::Modal;
use keyway::tui::screens::form::FormPhase;
use keyway::tui::{Action, Effect, Theme};
use keyway::vault::VaultError;
use ratatui::style::Color;
use std::time::Duration;

use super::harness::*;

#[test]
fn unlock_screen_masks_the_passphrase() {
    let mut h = Harness::new(Theme::COLOR);
    h.typed("hunter2-SENTINEL");
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"));
    assert_screen!("unlock", screen);
}

#[test]
fn a_team_vault_asks_for_the_members_own_identity_passphrase() {
    let mut h = Harness::new(Theme::COLOR);
    h.state.shared.vault_path = "postgresql://keyway@db.internal:5432/keyway".into();
    let screen = h.screen(80, 24);
    assert!(
        screen.contains("Unlock the team vault: your identity's passphrase"),
        "{screen}"
    );
    assert!(screen.contains("postgresql://keyway@db.internal:5432/keyway"));
    let file = Harness::new(Theme::COLOR);
    assert!(file.screen(80, 24).contains(" Unlock the vault "));
}

#[test]
fn unlock_wrong_passphrase_lets_the_user_retry() {
    let mut h = Harness::new(Theme::COLOR);
    h.typed("nope");
    let fx = h.key(KeyCode::Enter);
    assert!(matches!(fx.as_slice(), [Effect::OpenVault { .. }]));
    assert!(h.unlock().busy);
    assert_screen!("unlock_busy", h.screen(80, 24));
    h.act(Action::UnlockFailed(VaultError::WrongPassphrase(
        "/v".into(),
    )));
    assert!(!h.unlock().busy);
    assert_eq!(h.unlock().passphrase.value(), "");
    assert_screen!("unlock_wrong", h.screen(80, 24));
    h.typed("right");
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::OpenVault { .. }]
    ));
}

#[test]
fn missing_vault_offers_to_create_with_the_passphrase_twice() {
    let mut h = Harness::new(Theme::COLOR);
    h.act(Action::UnlockFailed(VaultError::Missing("/v".into())));
    assert!(h.unlock().creating);
    // Too short: said at once, before the confirmation is asked for.
    h.typed("abc");
    assert!(h.key(KeyCode::Enter).is_empty());
    assert_eq!(h.unlock().focus, 0);
    let shown = format!("{:?}", h.unlock().message);
    assert!(shown.contains("at least 8 characters"), "{shown}");
    h.typed("defgh");
    assert!(h.key(KeyCode::Enter).is_empty()); // moves to the confirmation
    h.typed("other pass");
    assert!(h.key(KeyCode::Enter).is_empty());
    assert_screen!("unlock_create_mismatch", h.screen(80, 24));
    h.typed("abcdefgh");
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::CreateVault { .. }]
    ));
}

#[test]
fn damaged_vault_quits_with_the_error() {
    let mut h = Harness::new(Theme::COLOR);
    h.act(Action::UnlockFailed(VaultError::InUse("/v".into())));
    assert!(h.state.shared.quit);
    assert!(matches!(h.state.shared.fatal, Some(VaultError::InUse(_))));
}

#[test]
fn workspace_picker_lists_wide_unicode_names() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('w'));
    assert_eq!(h.state.screen(), Screen::Workspaces);
    assert_screen!("workspaces", h.screen(80, 24));
}

#[test]
fn grid_counters_take_the_health_of_their_worst_credential() {
    let h = Harness::unlocked();
    assert_screen!("grid", h.screen(80, 24));
    // All 27 cards fit at 100x40. Stripe's one credential is verified: green ✓. One of
    // PostgreSQL's four was rejected: the tile is red ✗, though the others are fine.
    let t = h.draw(100, 40);
    let screen = t.backend().to_string();
    assert_screen!("grid_counters", screen);
    assert!(fg_of(&t, "✓ 1").contains(&Color::Green));
    assert!(fg_of(&t, "✗ 4").contains(&Color::Red));
    assert!(
        !screen.contains("✓ 0") && !screen.contains("○ 0"),
        "zero is drawn dim, without a glyph"
    );
    // The status bar counts the workspace's credentials by health, each in its colour.
    assert!(screen.contains("✗1 !1 ○1 ✓2"), "{screen}");
    assert!(fg_of(&t, "✗1").contains(&Color::Red));
    // At 80x24 not every tile fits: the grid says where it is.
    let components = keyway::catalog::Catalog::builtin().unwrap().len();
    assert!(h
        .screen(80, 24)
        .contains(&format!("1–15 of {components} ↓")));
}

#[test]
fn grid_filter_narrows_as_you_type() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('/'));
    h.typed("git");
    let names: Vec<&str> = h
        .grid()
        .visible_components(&h.state.shared.catalog)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert!(names.contains(&"github") && names.contains(&"gitlab"));
    assert!(!names.contains(&"stripe"));
    assert_screen!("grid_filtered", h.screen(80, 24));
}

#[test]
fn no_color_draws_without_colours() {
    let mut h = Harness::unlocked();
    h.state.shared.theme = Theme::PLAIN;
    let t = h.draw(80, 24);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset);
        assert_eq!(cell.bg, Color::Reset);
    }
}

#[test]
fn credentials_list_colours_statuses_and_shows_verification_in_progress() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    // Rows are sorted: legacy, replica, scratch, warehouse; verify "scratch".
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    let fx = h.key(KeyCode::Char('v'));
    assert!(matches!(fx.as_slice(), [Effect::Verify { .. }]));
    assert_eq!(h.state.shared.verifying.len(), 1);
    let t = h.draw(90, 24);
    let screen = t.backend().to_string();
    assert!(!screen.contains("SENTINEL"));
    assert_screen!("credentials", screen);
    assert!(fg_of(&t, "verified").contains(&Color::Green));
    assert!(fg_of(&t, "rejected").contains(&Color::Red));
    assert!(fg_of(&t, "unverified").contains(&Color::Yellow));
}

#[test]
fn form_validates_inline_and_masks_secrets() {
    let mut h = Harness::unlocked();
    h.filled_form();
    // Back to the port, make it invalid.
    for _ in 0..3 {
        h.key(KeyCode::BackTab);
    }
    h.key(KeyCode::End);
    h.typed("99");
    assert!(h.form().unwrap().fields[4].error.is_some(), "the port");
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"), "a secret was drawn");
    assert_screen!("form_invalid_port", screen);
    // Save is gated while a field is invalid.
    assert!(h.ctrl('s').is_empty());
    assert!(matches!(h.form().unwrap().phase, FormPhase::Editing));
}

#[test]
fn revealed_secret_is_drawn_and_hidden_after_ten_seconds() {
    let mut h = Harness::unlocked();
    h.filled_form();
    h.ctrl('r');
    assert!(h.screen(80, 24).contains(SECRET));
    h.advance(Duration::from_secs(9));
    assert!(h.screen(80, 24).contains(SECRET));
    h.advance(Duration::from_secs(2));
    assert!(!h.screen(80, 24).contains(SECRET));
}

#[test]
fn verification_in_progress_then_rejection_saves_nothing() {
    let mut h = Harness::unlocked();
    h.filled_form();
    let request = h.save();
    assert_screen!("form_verifying", h.screen(100, 24));
    // The UI stays live: keys still move the focus while verifying, but save is gated.
    h.key(KeyCode::Tab);
    assert!(h.ctrl('s').is_empty());
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(
            Status::Rejected,
            "PostgreSQL rejected the password for user 'etl'",
        ),
    });
    assert!(fx.is_empty(), "nothing is saved on rejection");
    assert_screen!("form_rejected", h.screen(100, 24));
    assert_screen!("form_rejected_narrow", h.screen(60, 24));
}

#[test]
fn verified_draft_is_saved_with_its_result_and_the_counter_moves() {
    let mut h = Harness::unlocked();
    h.filled_form();
    let request = h.save();
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(Status::Verified, "ok"),
    });
    let saved = match fx.as_slice() {
        [Effect::SaveCredential { credential }] => credential.clone(),
        other => panic!("expected a save, got {other:?}"),
    };
    assert_eq!(
        saved.last_verification.as_ref().unwrap().status,
        Status::Verified
    );
    let mut snap = snapshot();
    snap.credentials.push(*saved.clone());
    h.act(Action::Stored {
        snapshot: snap,
        event: Stored::CredentialSaved(saved.id.clone()),
    });
    assert_eq!(h.state.screen(), Screen::Credentials);
    assert!(h.form().is_none());
    assert_eq!(
        h.state.shared.vault.as_ref().unwrap().count("postgresql"),
        5
    );
    assert_screen!("credentials_after_save", h.screen(90, 24));
}

#[test]
fn unreachable_offers_save_as_unverified() {
    let mut h = Harness::unlocked();
    h.filled_form();
    assert!(h.ctrl('o').is_empty(), "not offered before a result");
    let request = h.save();
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(Status::Unreachable, "Connection refused by 127.0.0.1:5432"),
    });
    assert!(fx.is_empty());
    assert_screen!("form_unreachable", h.screen(100, 24));
    let fx = h.ctrl('o');
    match fx.as_slice() {
        [Effect::SaveCredential { credential }] => {
            let v = credential.last_verification.as_ref().unwrap();
            assert_eq!(v.status, Status::Unverified);
            assert!(v.reason.contains("refused"));
        }
        other => panic!("expected a save, got {other:?}"),
    }
}

/// The save rule is the CLI's (core::save): a credential saved unverified keeps what the check
/// found, the reason (marked "Saved unverified"), its latency and its detail.
#[test]
fn saved_unverified_records_the_checks_reason_latency_and_detail() {
    let mut h = Harness::unlocked();
    h.filled_form();
    let request = h.save();
    h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(Status::Unreachable, "Connection refused by 127.0.0.1:5432"),
    });
    let saved = match h.ctrl('o').as_slice() {
        [Effect::SaveCredential { credential }] => credential.clone(),
        other => panic!("expected a save, got {other:?}"),
    };
    let v = saved.last_verification.as_ref().unwrap();
    assert_eq!(v.status, Status::Unverified);
    assert_eq!(
        v.reason,
        "Saved unverified: Connection refused by 127.0.0.1:5432"
    );
    assert_eq!(v.latency_ms, Some(40));
    assert_eq!(v.detail.as_deref(), Some("PostgreSQL 15.8"));
}

#[test]
fn stale_and_refused_results_are_handled() {
    let mut h = Harness::unlocked();
    h.filled_form();
    let request = h.save();
    // Esc cancels the verification and keeps the form; its late result is dropped.
    let fx = h.key(KeyCode::Esc);
    assert!(matches!(fx.as_slice(), [Effect::CancelVerify { request: r }] if *r == request));
    assert!(h.state.shared.modal.is_none());
    assert_eq!(h.state.screen(), Screen::Form);
    assert!(h
        .screen(80, 24)
        .contains("Check cancelled; nothing was saved"));
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(Status::Verified, "ok"),
    });
    assert!(fx.is_empty(), "a stale result must not be saved");
    // Esc again closes the form, asking first.
    h.key(KeyCode::Esc);
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmDiscard(_))
    ));
    assert!(h.key(KeyCode::Char('y')).is_empty());
    // A rule refusal before verification lands on the name field.
    h.key(KeyCode::Char('a'));
    h.typed("warehouse");
    assert!(
        h.form().unwrap().fields[0].error.is_some(),
        "duplicate name caught inline"
    );
    let _ = StoreError::UnknownComponent("x".into()); // the refusal type the edge sends
}

#[test]
fn esc_on_a_changed_form_asks_first() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char('a'));
    h.key(KeyCode::Esc);
    assert_eq!(
        h.state.screen(),
        Screen::Credentials,
        "an untouched form just closes"
    );
    h.key(KeyCode::Char('a'));
    h.typed("x");
    h.key(KeyCode::Esc);
    assert_screen!("form_discard", h.screen(80, 24));
    h.key(KeyCode::Char('n'));
    assert_eq!(h.state.screen(), Screen::Form);
    assert_eq!(h.form().unwrap().fields[0].input.value(), "x");
}

#[test]
fn delete_is_refused_for_a_credential_in_an_active_flow() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    for _ in 0..3 {
        h.key(KeyCode::Down); // warehouse: used by nightly-etl
    }
    h.key(KeyCode::Char('d'));
    let screen = h.screen(80, 24);
    assert!(screen.contains("nightly-etl"));
    assert_screen!("delete_refused", screen);
    assert!(
        h.key(KeyCode::Char('y')).is_empty(),
        "refused: no delete effect"
    );
    // The dialog and the footer agree: Esc closes it, and only that is offered.
    assert!(screen.contains("Esc close") && !screen.contains("y delete"));
    assert!(h.state.shared.modal.is_some(), "y means nothing here");
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
    // An unused one asks and deletes.
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('d'));
    assert_screen!("delete_confirm", h.screen(80, 24));
    assert!(matches!(
        h.key(KeyCode::Char('y')).as_slice(),
        [Effect::DeleteCredential { .. }]
    ));
}

#[test]
fn workspace_create_rename_and_typed_delete() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('w'));
    h.key(KeyCode::Char('n'));
    h.typed("acme");
    assert!(h.key(KeyCode::Enter).is_empty(), "duplicate refused");
    assert_screen!("workspace_prompt_error", h.screen(80, 24));
    h.ctrl('u');
    h.typed("beta");
    assert!(
        matches!(h.key(KeyCode::Enter).as_slice(), [Effect::AddWorkspace { name }] if name == "beta")
    );
    // acme (selected first) holds credentials: delete needs its name typed.
    h.state
        .page_mut::<keyway::tui::screens::workspaces::WorkspacesState>()
        .unwrap()
        .selected = 0;
    h.key(KeyCode::Char('d'));
    h.typed("acm");
    assert!(h.key(KeyCode::Enter).is_empty());
    h.typed("e");
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::DeleteWorkspace { force: true, .. }]
    ));
    h.key(KeyCode::Char('r'));
    h.ctrl('u');
    h.typed("acme-2");
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::RenameWorkspace { .. }]
    ));
}

#[test]
fn help_lists_every_key_of_the_screen() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('?'));
    let screen = h.screen(80, 24);
    for b in keyway::tui::screens::grid::keys::GRID.bindings {
        assert!(screen.contains(b.help), "help misses '{}'", b.help);
    }
    assert_screen!("help_grid", screen);
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
}

#[test]
fn too_small_terminals_show_a_message_and_never_panic() {
    let mut h = Harness::unlocked();
    assert_screen!("too_small", h.screen(20, 6));
    for (w, hgt) in [
        (1, 1),
        (1, 40),
        (39, 9),
        (40, 10),
        (41, 11),
        (200, 3),
        (3, 200),
    ] {
        let _ = h.screen(w, hgt);
    }
    h.open_postgres();
    h.key(KeyCode::Char('a'));
    for (w, hgt) in [(1, 1), (40, 10), (45, 12), (300, 100)] {
        let _ = h.screen(w, hgt);
    }
}

#[test]
fn wide_unicode_and_a_10kb_paste_in_a_field() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char('a'));
    h.typed("データ倉庫");
    let big: String = "x".repeat(10 * 1024) + "\n";
    for _ in 0..3 {
        h.key(KeyCode::Tab); // to the host
    }
    h.act(Action::Paste(big.into()));
    let form = h.form().unwrap();
    assert_eq!(
        form.fields[3].input.value().len(),
        10 * 1024,
        "newline dropped"
    );
    // How long such a frame takes is the TUI bench's to say (BENCHMARKS.md), not a test's.
    let screen = h.screen(80, 24);
    assert!(screen.contains("データ倉庫"));
    for _ in 0..4 {
        h.key(KeyCode::Tab); // to the password
    }
    h.act(Action::Paste("秘密".repeat(3000).into()));
    assert_eq!(h.form().unwrap().focus, 7);
    assert!(
        !h.screen(80, 24).contains('秘'),
        "a pasted secret stays masked"
    );
}

#[test]
fn grid_navigation_follows_arrows_and_hjkl() {
    let mut h = Harness::unlocked();
    let columns = 80 / 24; // three cards a row at 80 columns
    assert_eq!(h.grid().selected, 0);
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Right);
    assert_eq!(h.grid().selected, 2);
    h.key(KeyCode::Char('j'));
    assert_eq!(h.grid().selected, 2 + columns);
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('h'));
    assert_eq!(h.grid().selected, 1);
    h.key(KeyCode::Char('k'));
    assert_eq!(h.grid().selected, 1, "top row stays");
    for _ in 0..100 {
        h.key(KeyCode::Down);
    }
    let last = h.grid().visible_components(&h.state.shared.catalog).len() - 1;
    assert_eq!(
        h.grid().selected / columns,
        last / columns,
        "stops on the last row"
    );
    h.key(KeyCode::Char('G'));
    for _ in 0..10 {
        h.key(KeyCode::Right);
    }
    assert_eq!(h.grid().selected, last);
    h.act(Action::Resize(48, 24));
    h.key(KeyCode::Char('k'));
    assert_eq!(h.grid().selected, last - 2, "columns follow the width");
}

#[test]
fn idle_auto_lock_drops_everything_and_returns_to_unlock() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char('a'));
    h.typed("half-typed");
    assert!(h.advance(Duration::from_secs(299)).is_empty());
    h.key(KeyCode::Tab); // input resets the idle timer
    assert!(h.advance(Duration::from_secs(299)).is_empty());
    let fx = h.advance(Duration::from_secs(2));
    assert!(matches!(fx.as_slice(), [Effect::Lock]));
    assert_eq!(h.state.screen(), Screen::Unlock);
    assert!(h.state.shared.vault.is_none() && h.form().is_none());
    assert_screen!("locked", h.screen(80, 24));
    let _ = h.mono;
}

#[test]
fn verify_now_records_the_result() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    let fx = h.key(KeyCode::Char('v'));
    let request = match fx.as_slice() {
        [Effect::Verify { request, .. }] => *request,
        other => panic!("{other:?}"),
    };
    assert!(
        h.key(KeyCode::Char('v')).is_empty(),
        "one run per credential"
    );
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: Box::new(cred("c2", "w1", "postgresql", "legacy", None)),
        outcome: outcome(Status::Verified, "ok"),
    });
    assert!(matches!(fx.as_slice(), [Effect::RecordVerification { .. }]));
    assert!(h.state.shared.verifying.is_empty());
}

#[test]
fn a_users_override_of_a_builtin_component_is_shown() {
    let mut h = Harness::unlocked();
    let builtin = keyway::catalog::Catalog::builtin().unwrap();
    let components = builtin
        .all()
        .iter()
        .cloned()
        .map(|mut c| {
            if c.id == "postgresql" {
                c.replaces_builtin = true;
                c.source = Some("/home/ops/.config/keyway/components/postgresql.toml".into());
            }
            c
        })
        .collect();
    h.state.shared.catalog = keyway::catalog::Catalog::from_components(components);
    h.open_postgres();
    let screen = h.draw(100, 24).backend().to_string();
    assert!(screen.contains("your override of the built-in"), "{screen}");
}

/// Another process re-keyed the vault (or replaced its file): the keys this TUI holds open
/// nothing any more, so it forgets what it decrypted and asks to unlock again, saying why.
#[test]
fn a_vault_rekeyed_elsewhere_sends_the_tui_back_to_unlock() {
    let mut h = Harness::unlocked();
    let fx = h.act(Action::Relock(
        "the vault /v was re-keyed by another process since this one unlocked it: unlock it again"
            .into(),
    ));
    assert!(fx.iter().any(|e| matches!(e, Effect::Lock)), "{fx:?}");
    assert_eq!(h.state.screen(), Screen::Unlock);
    assert!(h.state.shared.vault.is_none());
    assert!(h.screen(100, 28).contains("re-keyed by another process"));
}

/// The `:` command line: `:ws NAME` switches workspace (Tab completes the name), `:audit` and
/// `:c COMPONENT` go there from anywhere, and a mistyped command says what exists.
#[test]
fn the_command_line_switches_workspace_and_jumps_to_screens() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char(':'));
    h.typed("ws 東");
    h.key(KeyCode::Tab);
    assert!(h.screen(80, 24).contains(":ws 東京チーム"));
    let fx = h.key(KeyCode::Enter);
    assert!(
        matches!(fx.as_slice(), [Effect::RememberWorkspace { id: w }] if *w == id("w2")),
        "{fx:?}"
    );
    assert_eq!(h.state.screen(), Screen::Grid);
    assert_eq!(h.state.shared.workspace_id(), Some(&id("w2")));
    assert!(h.screen(80, 24).contains("ws: 東京チーム"));

    h.key(KeyCode::Char(':'));
    h.typed("audit");
    h.key(KeyCode::Enter);
    assert_eq!(h.state.screen(), Screen::Audit);

    h.key(KeyCode::Char(':'));
    h.typed("ws acme");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char(':'));
    h.typed("c postgres");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    assert_eq!(h.state.screen(), Screen::Credentials);
    assert_eq!(h.credentials().component, "postgresql");

    h.key(KeyCode::Char(':'));
    h.typed("nope");
    h.key(KeyCode::Enter);
    assert!(h.screen(80, 24).contains("unknown command 'nope'"));
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
    assert_eq!(h.state.screen(), Screen::Credentials);
}

// ---- a stored secret: reveal and copy (issue 14) -----------------------------------------------

/// The edit form of the first PostgreSQL credential, its password field focused.
fn edit_form_on_the_password(h: &mut Harness) {
    use keyway::tui::screens::form::FieldKey;
    h.open_postgres();
    h.key(KeyCode::Char('e'));
    for _ in 0..32 {
        let form = h.form().expect("the edit form");
        if form.fields[form.focus].key == FieldKey::Field("password".into()) {
            assert!(form.fields[form.focus].has_stored_secret);
            return;
        }
        h.key(KeyCode::Tab);
    }
    panic!("no password field");
}

#[test]
fn a_stored_secret_is_shown_only_after_a_confirmation_and_hidden_again_after_ten_seconds() {
    let mut h = Harness::unlocked();
    edit_form_on_the_password(&mut h);
    let screen = h.screen(80, 24);
    assert!(!screen.contains(SECRET), "{screen}");
    assert!(screen.contains("(stored; Ctrl-r shows it"), "{screen}");
    // Ctrl-r asks first; "n" keeps it hidden.
    h.ctrl('r');
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmReveal(_))
    ));
    assert!(!h.form().unwrap().is_revealed(h.form().unwrap().focus));
    assert!(!h.screen(80, 24).contains(SECRET));
    h.key(KeyCode::Char('n'));
    assert!(h.state.shared.modal.is_none());
    assert!(!h.screen(80, 24).contains(SECRET));
    // "y": the stored value is drawn in the field, with no "stored; ..." placeholder beside it.
    h.ctrl('r');
    h.key(KeyCode::Char('y'));
    let screen = h.screen(80, 24);
    assert!(screen.contains(SECRET), "{screen}");
    assert!(
        screen.contains("stored secret shown: hidden again in 10 s"),
        "{screen}"
    );
    assert!(!screen.contains("(stored;"), "no contradiction: {screen}");
    // The app's clock hides it again: at 9 s it is still there, past 10 s it is gone.
    h.advance(Duration::from_secs(9));
    assert!(h.screen(80, 24).contains("hidden again in 1 s"));
    h.advance(Duration::from_secs(1));
    let screen = h.screen(80, 24);
    assert!(!screen.contains(SECRET), "{screen}");
    assert!(screen.contains("(stored; Ctrl-r shows it"), "{screen}");
    // Nothing was changed by looking: the form closes without asking.
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
    assert_eq!(h.state.screen(), Screen::Credentials);
}

#[test]
fn the_secret_is_offered_for_copying_only_while_revealed_and_only_after_a_confirmation() {
    let mut h = Harness::unlocked();
    edit_form_on_the_password(&mut h);
    // Hidden: Ctrl-y (the form's Y) offers the reason, not the secret; "s" copies nothing.
    h.ctrl('y');
    assert!(
        matches!(h.state.shared.modal, Some(Modal::Yank(_))),
        "{:?}",
        h.state.shared.modal
    );
    assert!(!h.screen(80, 24).contains("revealed secret"));
    assert!(h.key(KeyCode::Char('s')).is_empty());
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
    // Revealed: the secret is offered, by its field's name.
    h.ctrl('r');
    h.key(KeyCode::Char('y'));
    h.ctrl('y');
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::YankWithSecret { .. })
    ));
    assert!(h
        .screen(80, 24)
        .contains("s the revealed secret of 'Password' (asks first)"));
    // "s" asks; the dialog never holds the value in what it draws or in its Debug.
    assert!(h.key(KeyCode::Char('s')).is_empty(), "not copied yet");
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmYankSecret(_))
    ));
    let screen = h.screen(80, 24);
    assert!(screen.contains("Copy the secret of 'Password'"), "{screen}");
    assert!(!format!("{:?}", h.state.shared.modal).contains(SECRET));
    // The reveal ends while the confirmation is open: the offer ends with it, nothing copied.
    h.advance(Duration::from_secs(11));
    assert!(h.state.shared.modal.is_none(), "{:?}", h.state.shared.modal);
    let screen = h.screen(80, 24);
    assert!(screen.contains("The secret is hidden again"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");
    // Revealed again and confirmed in time: copied.
    h.ctrl('r');
    h.key(KeyCode::Char('y'));
    h.ctrl('y');
    h.key(KeyCode::Char('s'));
    // "y": the copy, as the plain OSC 52 of the value; the notice and Debug name no value.
    let fx = h.key(KeyCode::Char('y'));
    match fx.as_slice() {
        [Effect::CopySecret { secret }] => {
            use secrecy::ExposeSecret;
            assert_eq!(secret.expose_secret(), SECRET);
            assert!(!format!("{fx:?}").contains(SECRET));
        }
        other => panic!("{other:?}"),
    }
    let notice = h.state.shared.notice.as_ref().unwrap().text.clone();
    assert!(
        notice.contains("Copied the secret of 'Password'"),
        "{notice}"
    );
    assert!(!notice.contains(SECRET));
    h.ctrl('r'); // hides the field again, so what is left on screen is the notice
    let screen = h.screen(80, 24);
    assert!(!screen.contains(SECRET), "{screen}");
    assert!(
        screen.contains("Copied the secret of 'Password'"),
        "{screen}"
    );
    // Declined: nothing is copied.
    h.ctrl('r');
    h.key(KeyCode::Char('y'));
    h.ctrl('y');
    h.key(KeyCode::Char('s'));
    assert!(h.key(KeyCode::Esc).is_empty());
    assert!(h.state.shared.modal.is_none());
}

#[test]
fn a_pasted_connection_url_fills_the_form_and_its_password_is_never_drawn() {
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char('a'));
    h.typed("analytics");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab); // from URL
    h.act(Action::Paste(
        format!("postgresql://etl:{SECRET}@db.internal:5433/dwh?sslmode=require\n").into(),
    ));
    assert_eq!(field_value(&h, "password"), SECRET);
    assert_eq!(field_value(&h, "host"), "db.internal");
    assert_eq!(field_value(&h, "sslmode"), "require");
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"), "a secret was drawn");
    assert_screen!("form_from_url_80x24", screen);

    // Another engine's URL: the field's error (and the panel's, whole), nothing filled.
    h.ctrl('u');
    h.act(Action::Paste(
        format!("mysql://root:{SECRET}@shop.internal/shop").into(),
    ));
    assert_eq!(field_value(&h, "host"), "db.internal");
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"), "a secret was drawn");
    assert!(screen.contains("✗ is a mysql:// URL"), "{screen}");
    assert_screen!("form_from_url_wrong_engine_80x24", screen);
}
