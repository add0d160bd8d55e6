//! OAuth2 log in from the credential form.

use crossterm::event::KeyCode;
use keyway::core::time::Timestamp;
use keyway::tui::app::pages::ScreenId as Screen;
use keyway::tui::app::shared::Modal;
use keyway::tui::{Action, Effect};
use std::time::Duration;

use super::harness::*;

#[test]
fn device_login_shows_the_code_then_fills_masked_tokens() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'g', false);
    assert!(
        h.state.animating(),
        "the spinner turns while the login starts"
    );
    h.act(Action::LoginDevice {
        request,
        device: device_info(),
    });
    h.act(Action::LoginProgress {
        request,
        note: "The provider asked to poll less often: every 10 s now.".into(),
    });
    let screen = h.screen(100, 24);
    assert!(screen.contains(USER_CODE) && screen.contains("https://auth.example.com/activate"));
    assert!(!screen.contains("SENTINEL"), "a secret was drawn");
    assert_screen!("form_login_device", screen);
    for (w, hgt) in [(1, 1), (20, 6), (40, 10), (60, 14), (89, 30)] {
        h.screen(w, hgt); // narrow terminals put the panel below the form
    }
    // Saving waits for the login; the UI stays live.
    assert!(h.ctrl('s').is_empty());
    h.key(KeyCode::Tab);

    let fx = h.act(Action::LoginFinished {
        request,
        result: Ok(tokens()),
    });
    assert!(fx.is_empty(), "nothing is saved by the login itself");
    assert!(h.form().unwrap().login.is_none());
    assert_eq!(field_value(&h, "access_token"), ACCESS);
    assert_eq!(field_value(&h, "refresh_token"), REFRESH);
    assert_eq!(
        field_value(&h, "expires_at"),
        Timestamp(NOW.0 + 3600).rfc3339()
    );
    assert_eq!(
        h.form().unwrap().message.as_ref().unwrap().text,
        keyway::tui::screens::form::login::LOGGED_IN
    );
    let screen = h.screen(100, 24);
    assert!(screen.contains("Logged in: press Ctrl-s"), "{screen}");
    assert!(!screen.contains("SENTINEL"), "tokens must stay masked");
    // Ctrl-s takes the normal verify-before-save path, tokens included.
    match h.ctrl('s').as_slice() {
        [Effect::PrepareAndVerify { draft, .. }] => {
            assert_eq!(draft.name, "okta-ci");
            let names: Vec<&str> = draft.changes.iter().map(|(k, _)| k.as_str()).collect();
            assert!(names.contains(&"access_token") && names.contains(&"refresh_token"));
            assert!(names.contains(&"expires_at"));
        }
        other => panic!("expected a verification, got {other:?}"),
    }
}

#[test]
fn a_declined_device_login_shows_the_reason() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'g', false);
    h.act(Action::LoginDevice {
        request,
        device: device_info(),
    });
    h.act(Action::LoginFinished {
        request,
        result: Err("The sign-in was declined at the provider (access_denied).".into()),
    });
    let form = h.form().unwrap();
    assert!(form.login.is_none());
    assert!(field_value(&h, "access_token").is_empty());
    let screen = h.screen(100, 24);
    assert!(screen.contains("Login failed"), "{screen}");
    assert!(screen.contains("access_denied"), "{screen}");
    assert!(!h.state.animating());
}

#[test]
fn cancelling_a_login_aborts_it_and_drops_its_late_result() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let first = start_login(&mut h, 'g', false);
    h.act(Action::LoginDevice {
        request: first,
        device: device_info(),
    });
    // Esc cancels the login (the poll task is aborted) and keeps the form.
    let fx = h.key(KeyCode::Esc);
    assert!(matches!(fx.as_slice(), [Effect::CancelLogin { request }] if *request == first));
    assert_eq!(h.state.screen(), Screen::Form);
    assert!(h.state.shared.modal.is_none());
    assert!(h.screen(100, 24).contains("Login cancelled"));
    // A result that was already on its way is stale.
    h.act(Action::LoginFinished {
        request: first,
        result: Ok(tokens()),
    });
    assert!(field_value(&h, "access_token").is_empty());
    // Restarting replaces a running login; closing the form cancels the new one.
    let second = start_login(&mut h, 'g', false);
    assert_ne!(first, second);
    let fx = h.ctrl('g');
    assert!(
        matches!(fx.as_slice(), [Effect::CancelLogin { request }, Effect::StartLogin { .. }] if *request == second)
    );
    let third = h.form().unwrap().login.as_ref().unwrap().request;
    h.key(KeyCode::Esc); // cancels the login
    h.key(KeyCode::Esc); // then asks to discard the changed form
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmDiscard(_))
    ));
    h.key(KeyCode::Char('n'));
    let running = start_login(&mut h, 'g', false);
    assert!(running > third);
    h.key(KeyCode::Esc);
    h.key(KeyCode::Esc);
    let fx = h.key(KeyCode::Char('y'));
    assert!(fx.is_empty(), "the login was cancelled by the first Esc");
    assert!(h.form().is_none());
    h.act(Action::LoginDevice {
        request: running,
        device: device_info(),
    });
    assert!(h.form().is_none());
}

#[test]
fn the_idle_lock_drops_a_running_login() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'g', false);
    // The idle lock: the edges drop every task with the keys; the form goes away.
    let fx = h.advance(Duration::from_secs(301));
    assert!(h.form().is_none());
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Lock)),
        "locking drops the login task with the store: {fx:?}"
    );
    h.act(Action::LoginFinished {
        request,
        result: Ok(tokens()),
    });
    assert!(h.form().is_none());
}

#[test]
fn browser_login_prints_the_whole_url_and_exchanges_the_pasted_address() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'p', true);
    let url = "https://auth.example.com/oauth/authorize?response_type=code&client_id=keyway-ci\
               &state=Zm9vYmFyYmF6cXV4&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
               &code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%2Fkeyway-callback\
               &scope=openid";
    h.act(Action::LoginPasteReady {
        request,
        url: url.into(),
    });
    assert_eq!(
        h.state.keys().title(),
        keyway::tui::screens::form::keys::LOGIN_PASTE.title
    );
    let screen = h.screen(80, 24);
    // Every row of the wrapped URL is on screen; together they are the URL.
    let rows: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .filter(|l| url.contains(*l) && l.len() > 8)
        .collect();
    assert_eq!(rows, url, "the URL must be drawn in full:\n{screen}");
    assert_screen!("form_login_paste", screen);
    for (w, hgt) in [(1, 1), (20, 6), (40, 10), (60, 14), (200, 60)] {
        h.screen(w, hgt); // any size draws without panicking
    }
    // Typed and pasted text goes to the address field, not the form.
    assert!(
        h.key(KeyCode::Enter).is_empty(),
        "an empty address is not sent"
    );
    let pasted = "http://127.0.0.1/keyway-callback?code=c0de&state=Zm9vYmFyYmF6cXV4";
    h.act(Action::Paste(pasted.into()));
    assert_eq!(field_value(&h, "access_token"), "");
    match h.key(KeyCode::Enter).as_slice() {
        [Effect::ExchangeLogin {
            request: r,
            pasted: p,
        }] => {
            use secrecy::ExposeSecret;
            assert_eq!(*r, request);
            assert_eq!(p.expose_secret(), pasted);
        }
        other => panic!("expected the exchange, got {other:?}"),
    }
    assert!(h.state.animating());
    assert!(h.screen(80, 24).contains("Exchanging the code for tokens"));
    h.act(Action::LoginFinished {
        request,
        result: Ok(tokens()),
    });
    assert_eq!(field_value(&h, "access_token"), ACCESS);
    assert_eq!(
        h.state.keys().title(),
        keyway::tui::screens::form::keys::OAUTH_FORM.title,
        "the form has the keys again"
    );
    assert!(!h.screen(80, 24).contains("SENTINEL"));
}

#[test]
fn only_oauth2_forms_offer_log_in() {
    let mut h = Harness::unlocked();
    h.filled_form();
    assert_eq!(
        h.state.keys().title(),
        keyway::tui::screens::form::keys::FORM.title
    );
    assert!(h.ctrl('g').is_empty() && h.ctrl('p').is_empty());
    h.key(KeyCode::F(1));
    assert!(!h.screen(80, 24).contains("log in"));
    h.key(KeyCode::Esc);

    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    assert_eq!(
        h.state.keys().title(),
        keyway::tui::screens::form::keys::OAUTH_FORM.title
    );
    h.key(KeyCode::F(1));
    let help = h.screen(100, 30);
    for b in keyway::tui::screens::form::keys::OAUTH_FORM.bindings {
        assert!(help.contains(b.help), "help misses '{}':\n{help}", b.help);
    }
}
