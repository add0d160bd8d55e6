//! Secrets held by the TUI never reach its Debug string.

use crossterm::event::KeyCode;
use keyway::tui::{Action, Theme};

use super::harness::*;

/// The state's Debug string, which a panic message or a log line could carry.
fn debug_of(h: &Harness) -> String {
    format!("{:?}", h.state)
}

#[test]
fn secrets_held_by_the_tui_never_reach_its_debug_string() {
    // The passphrase being typed at unlock.
    let mut h = Harness::new(Theme::COLOR);
    h.typed("hunter2-SENTINEL");
    assert!(!debug_of(&h).contains("SENTINEL"));

    // A secret typed into a form, and the same secret after Ctrl-W deleted it again (the
    // field's kill ring keeps deleted text, for Ctrl-Y).
    let mut h = Harness::unlocked();
    h.filled_form();
    assert!(
        debug_of(&h).contains("analytics"),
        "plain fields still show"
    );
    assert!(!debug_of(&h).contains(SECRET));
    h.ctrl('w');
    assert_eq!(field_value(&h, "password"), "");
    assert!(!debug_of(&h).contains(SECRET));

    // The address pasted back from a browser login (it carries the authorization code), and
    // the tokens the login then puts into the form.
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'p', true);
    h.act(Action::LoginPasteReady {
        request,
        url: "https://auth.example.com/oauth/authorize?state=s".into(),
    });
    let paste = Action::Paste("http://127.0.0.1/keyway-callback?code=c0de_SENTINEL&state=s".into());
    assert!(
        !format!("{paste:?}").contains("SENTINEL"),
        "the paste itself"
    );
    h.act(paste);
    assert!(!debug_of(&h).contains("SENTINEL"));
    h.key(KeyCode::Enter);
    h.act(Action::LoginFinished {
        request,
        result: Ok(tokens()),
    });
    assert_eq!(field_value(&h, "access_token"), ACCESS);
    let debug = debug_of(&h);
    assert!(
        !debug.contains(ACCESS) && !debug.contains(REFRESH),
        "{debug}"
    );
}

/// A stored secret shown in the edit form, offered for copying and confirmed: the state's
/// Debug string (the form's copy of the credential, the dialogs) never holds it.
#[test]
fn a_revealed_and_offered_stored_secret_never_reaches_the_debug_string() {
    use keyway::tui::screens::form::FieldKey;
    let mut h = Harness::unlocked();
    h.open_postgres();
    h.key(KeyCode::Char('e'));
    while h.form().unwrap().fields[h.form().unwrap().focus].key
        != FieldKey::Field("password".into())
    {
        h.key(KeyCode::Tab);
    }
    h.ctrl('r');
    h.key(KeyCode::Char('y'));
    assert!(h.screen(80, 24).contains(SECRET), "shown, as asked");
    assert!(!debug_of(&h).contains(SECRET));
    h.ctrl('y');
    assert!(!debug_of(&h).contains(SECRET));
    h.key(KeyCode::Char('s'));
    assert!(!debug_of(&h).contains(SECRET));
    let fx = h.key(KeyCode::Char('y'));
    assert!(!fx.is_empty() && !format!("{fx:?}").contains(SECRET));
    assert!(!debug_of(&h).contains(SECRET));
}
