//! The PostgreSQL form's TLS fields: what each sslmode word means, shown under the field for
//! the value chosen, and PEM values (multi-line when stored) in one-line fields.

use crossterm::event::KeyCode;
use keyway::tui::screens::form::FieldKey;
use keyway::tui::Effect;
use ratatui::style::Color;

use super::harness::*;

fn focus_field(h: &mut Harness, name: &str) {
    for _ in 0..32 {
        let form = h.form().expect("form open");
        if form.fields[form.focus].key == FieldKey::Field(name.into()) {
            return;
        }
        h.key(KeyCode::Tab);
    }
    panic!("no field {name}");
}

#[test]
fn the_sslmode_field_says_what_the_chosen_mode_checks() {
    let mut h = Harness::unlocked();
    h.filled_form();
    focus_field(&mut h, "sslmode");
    assert_eq!(field_value(&h, "sslmode"), "verify-full", "the default");
    assert_screen!("form_sslmode_help", h.screen(80, 24));
    for (mode, meaning) in [
        ("verify-ca", "encrypted; certificate checked, host name not"),
        (
            "require",
            "encrypted; certificate checked only if an SSL CA is given",
        ),
        (
            "disable",
            "no TLS: loopback only, the password may travel in clear",
        ),
    ] {
        // A pick list: → moves to the next value, in the catalogue's order.
        h.key(KeyCode::Right);
        assert_eq!(field_value(&h, "sslmode"), mode);
        let screen = h.screen(80, 24);
        assert!(screen.contains(&format!("‹ {mode} ›")), "{screen}");
        assert!(screen.contains(meaning), "{mode}:\n{screen}");
    }
    // Plaintext is a warning, the other meanings are plain help.
    assert!(fg_of(&h.draw(80, 24), "no TLS").contains(&Color::Yellow));
    // Off the field, the warning for disable stays.
    h.key(KeyCode::Tab);
    assert!(h.screen(80, 24).contains("⚠ unencrypted connection"));
}

#[test]
fn a_stored_pem_is_one_line_in_the_form_and_unchanged_is_not_sent() {
    let mut snap = snapshot();
    let pem = "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----";
    let warehouse = snap
        .credentials
        .iter_mut()
        .find(|c| c.name == "warehouse")
        .unwrap();
    warehouse.public.insert("ssl_ca".into(), pem.into());
    let mut h = Harness::with_snapshot(snap);
    h.open_postgres();
    // The list is sorted by name: legacy, replica, scratch, warehouse.
    for _ in 0..3 {
        h.key(KeyCode::Down);
    }
    // The detail view shows it as one line too.
    h.key(KeyCode::Char('i'));
    let detail = h.screen(120, 30);
    assert!(detail.contains("ssl_ca=(PEM, 1 certificate)"), "{detail}");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('e'));
    assert_eq!(
        field_value(&h, "ssl_ca"),
        "-----BEGIN CERTIFICATE-----QUJDREVG-----END CERTIFICATE-----"
    );
    assert!(h.screen(120, 40).contains("BEGIN CERTIFICATE-----QUJD"));
    let fx = h.ctrl('s');
    let [Effect::PrepareAndVerify { draft, .. }] = fx.as_slice() else {
        panic!("expected a verification, got {fx:?}");
    };
    assert!(
        draft.changes.iter().all(|(name, _)| name != "ssl_ca"),
        "{:?}",
        draft.changes
    );
}

#[test]
fn the_audit_summary_counts_certificates_not_checked() {
    let mut snap = snapshot();
    for c in snap
        .credentials
        .iter_mut()
        .filter(|c| c.name == "warehouse")
    {
        if let Some(v) = c.last_verification.as_mut() {
            v.tls = Some(keyway::core::TlsState::Unchecked);
        }
    }
    let mut h = Harness::with_snapshot(snap);
    h.key(KeyCode::Char('A'));
    let screen = h.screen(150, 20);
    assert!(screen.contains("· 1 TLS unchecked"), "{screen}");
    // Without one, the summary says nothing of TLS.
    let mut h = Harness::with_snapshot(snapshot());
    h.key(KeyCode::Char('A'));
    assert!(!h.screen(150, 20).contains("TLS"));
}

/// `?` is help on a form's pick list (nothing is typed there); in a text field it is text (a
/// password may hold one) and F1 is help.
#[test]
fn question_mark_is_help_on_a_pick_list_and_text_in_a_text_field() {
    use keyway::tui::app::shared::Modal;
    let mut h = Harness::unlocked();
    h.filled_form();
    focus_field(&mut h, "sslmode");
    h.key(KeyCode::Char('?'));
    assert!(matches!(h.state.shared.modal, Some(Modal::Help { .. })));
    h.key(KeyCode::Esc);
    assert_eq!(field_value(&h, "sslmode"), "verify-full");
    focus_field(&mut h, "database");
    h.key(KeyCode::Char('?'));
    assert!(h.state.shared.modal.is_none());
    assert!(field_value(&h, "database").ends_with('?'));
}
