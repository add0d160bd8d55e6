//! The terminal UI without a terminal: `update` driven by actions, `render` drawn on ratatui's
//! TestBackend and compared with reviewed snapshots (tests/snapshots/).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use secrecy::SecretString;

use keyway::catalog::Catalog;
use keyway::core::rules::Snapshot;
use keyway::core::secret::SecretFields;
use keyway::core::time::Timestamp;
use keyway::core::{
    Credential, Environment, Flow, FlowStep, RecordId, Status, Verification, Workspace,
};
use keyway::store::StoreError;
use keyway::tui::action::Stored;
use keyway::tui::state::{FormPhase, Modal, Screen};
use keyway::tui::{render, update, Action, Clock, Effect, State, StateInit, Theme};
use keyway::vault::VaultError;
use keyway::verify::Outcome;

const NOW: Timestamp = Timestamp(1_780_000_000);
const SECRET: &str = "pw_SENTINEL_77";

fn id(s: &str) -> RecordId {
    RecordId(s.to_string())
}

fn verification(status: Status, ago: i64, reason: &str) -> Verification {
    Verification {
        status,
        reason: reason.into(),
        detail: None,
        latency_ms: Some(12),
        at: Timestamp(NOW.0 - ago),
        run: None,
    }
}

fn cred(i: &str, ws: &str, component: &str, name: &str, v: Option<Verification>) -> Credential {
    let mut secrets = SecretFields::new();
    secrets.insert("password", SecretString::from(SECRET));
    let mut public = BTreeMap::new();
    public.insert("host".to_string(), "db.internal".to_string());
    public.insert("port".to_string(), "5432".to_string());
    public.insert("database".to_string(), "postgres".to_string());
    public.insert("user".to_string(), "etl".to_string());
    public.insert("sslmode".to_string(), "require".to_string());
    Credential {
        id: id(i),
        workspace: id(ws),
        component: component.into(),
        name: name.into(),
        environment: Environment::Production,
        public,
        secrets,
        created_at: NOW,
        updated_at: NOW,
        last_verification: v,
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        workspaces: vec![
            Workspace {
                id: id("w1"),
                name: "acme".into(),
                created_at: NOW,
            },
            Workspace {
                id: id("w2"),
                name: "東京チーム".into(),
                created_at: NOW,
            },
        ],
        credentials: vec![
            cred(
                "c1",
                "w1",
                "postgresql",
                "warehouse",
                Some(verification(Status::Verified, 180, "ok")),
            ),
            cred(
                "c2",
                "w1",
                "postgresql",
                "legacy",
                Some(verification(
                    Status::Rejected,
                    7200,
                    "PostgreSQL rejected the password for user 'etl'",
                )),
            ),
            cred(
                "c3",
                "w1",
                "postgresql",
                "replica",
                Some(verification(Status::Unverified, 86_400 * 3, "unreachable")),
            ),
            cred("c4", "w1", "postgresql", "scratch", None),
            cred(
                "c5",
                "w1",
                "stripe",
                "billing",
                Some(verification(Status::Verified, 60, "ok")),
            ),
            cred("c6", "w2", "github", "ci", None),
        ],
        flows: vec![Flow {
            id: id("f1"),
            workspace: id("w1"),
            name: "nightly-etl".into(),
            environment: Environment::Production,
            steps: vec![FlowStep {
                component: "postgresql".into(),
                credential: id("c1"),
            }],
            active: true,
            created_at: NOW,
            updated_at: NOW,
        }],
    }
}

struct Harness {
    state: State,
    mono: Instant,
}

impl Harness {
    fn new(theme: Theme) -> Harness {
        let mono = Instant::now();
        let state = State::new(StateInit {
            vault_path: PathBuf::from("/home/ops/.local/share/keyway/vault.redb"),
            vault_exists: true,
            catalog: Catalog::builtin().unwrap(),
            theme,
            auto_lock: Some(Duration::from_secs(300)),
            clock: Clock { wall: NOW, mono },
        });
        let mut h = Harness { state, mono };
        h.act(Action::Resize(80, 24));
        h
    }

    /// Unlocked, in workspace "acme", on the component grid.
    fn unlocked() -> Harness {
        let (h, fx) = Harness::unlocked_with(snapshot());
        assert!(matches!(fx.as_slice(), [Effect::RememberWorkspace { .. }]));
        assert_eq!(h.state.screen, Screen::Grid);
        h
    }

    /// Unlocked with `snapshot`, in workspace w1; and what unlocking asked for.
    fn unlocked_with(snapshot: Snapshot) -> (Harness, Vec<Effect>) {
        let mut h = Harness::new(Theme::COLOR);
        let fx = h.act(Action::Unlocked {
            snapshot,
            remembered: Some(id("w1")),
        });
        (h, fx)
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        update(&mut self.state, action)
    }

    fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn ctrl(&mut self, c: char) -> Vec<Effect> {
        self.act(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn advance(&mut self, by: Duration) -> Vec<Effect> {
        let clock = Clock {
            wall: Timestamp(self.state.clock.wall.0 + by.as_secs() as i64),
            mono: self.state.clock.mono + by,
        };
        self.act(Action::Clock(clock))
    }

    fn draw(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(&self.state, f)).unwrap();
        t
    }

    fn screen(&self, w: u16, h: u16) -> String {
        self.draw(w, h).backend().to_string()
    }

    /// Opens the PostgreSQL credentials of "acme".
    fn open_postgres(&mut self) {
        self.key(KeyCode::Char('/'));
        self.typed("postgres");
        self.key(KeyCode::Enter);
        self.key(KeyCode::Enter);
        assert_eq!(self.state.screen, Screen::Credentials);
        assert_eq!(self.state.credentials.component, "postgresql");
    }

    /// A new PostgreSQL form filled with valid values.
    fn filled_form(&mut self) {
        self.open_postgres();
        self.key(KeyCode::Char('a'));
        assert_eq!(self.state.screen, Screen::Form);
        self.fill_pg("analytics");
    }

    fn save(&mut self) -> u64 {
        let fx = self.ctrl('s');
        match fx.as_slice() {
            [Effect::PrepareAndVerify { request, draft, .. }] => {
                assert_eq!(draft.component, "postgresql");
                *request
            }
            other => panic!("expected a verification, got {other:?}"),
        }
    }
}

fn outcome(status: Status, reason: &str) -> Outcome {
    Outcome {
        status,
        reason: reason.into(),
        detail: Some("PostgreSQL 15.8".into()),
        latency: Duration::from_millis(40),
        tokens: None,
    }
}

fn prepared() -> Box<Credential> {
    Box::new(cred("new1", "w1", "postgresql", "analytics", None))
}

fn fg_of(t: &Terminal<TestBackend>, needle: &str) -> Vec<Color> {
    let buf = t.backend().buffer();
    let area = buf.area;
    let mut colours = Vec::new();
    for y in 0..area.height {
        let line: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count() as u16;
            colours.push(buf[(x, y)].fg);
        }
    }
    colours
}

// ---- render snapshots ------------------------------------------------------------------------

#[test]
fn unlock_screen_masks_the_passphrase() {
    let mut h = Harness::new(Theme::COLOR);
    h.typed("hunter2-SENTINEL");
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"));
    insta::assert_snapshot!("unlock", screen);
}

#[test]
fn unlock_wrong_passphrase_lets_the_user_retry() {
    let mut h = Harness::new(Theme::COLOR);
    h.typed("nope");
    let fx = h.key(KeyCode::Enter);
    assert!(matches!(fx.as_slice(), [Effect::OpenVault { .. }]));
    assert!(h.state.unlock.busy);
    insta::assert_snapshot!("unlock_busy", h.screen(80, 24));
    h.act(Action::UnlockFailed(VaultError::WrongPassphrase(
        "/v".into(),
    )));
    assert!(!h.state.unlock.busy);
    assert_eq!(h.state.unlock.passphrase.value(), "");
    insta::assert_snapshot!("unlock_wrong", h.screen(80, 24));
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
    assert!(h.state.unlock.creating);
    h.typed("first");
    assert!(h.key(KeyCode::Enter).is_empty()); // moves to the confirmation
    h.typed("other");
    assert!(h.key(KeyCode::Enter).is_empty());
    insta::assert_snapshot!("unlock_create_mismatch", h.screen(80, 24));
    h.typed("first");
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::CreateVault { .. }]
    ));
}

#[test]
fn damaged_vault_quits_with_the_error() {
    let mut h = Harness::new(Theme::COLOR);
    h.act(Action::UnlockFailed(VaultError::InUse("/v".into())));
    assert!(h.state.quit);
    assert!(matches!(h.state.fatal, Some(VaultError::InUse(_))));
}

#[test]
fn workspace_picker_lists_wide_unicode_names() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('w'));
    assert_eq!(h.state.screen, Screen::Workspaces);
    insta::assert_snapshot!("workspaces", h.screen(80, 24));
}

#[test]
fn grid_shows_green_counters_and_dim_zeros() {
    let h = Harness::unlocked();
    insta::assert_snapshot!("grid", h.screen(80, 24));
    // All 27 cards fit at 100x40: PostgreSQL (4) and Stripe (1) carry green counters.
    let t = h.draw(100, 40);
    let screen = t.backend().to_string();
    insta::assert_snapshot!("grid_counters", screen);
    assert!(fg_of(&t, "● 1").contains(&Color::Green));
    assert!(fg_of(&t, "● 4").contains(&Color::Green));
    assert!(
        !screen.contains("● 0"),
        "zero is drawn dim, without the dot"
    );
}

#[test]
fn grid_filter_narrows_as_you_type() {
    let mut h = Harness::unlocked();
    h.key(KeyCode::Char('/'));
    h.typed("git");
    let names: Vec<&str> = h
        .state
        .visible_components()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert!(names.contains(&"github") && names.contains(&"gitlab"));
    assert!(!names.contains(&"stripe"));
    insta::assert_snapshot!("grid_filtered", h.screen(80, 24));
}

#[test]
fn no_color_draws_without_colours() {
    let mut h = Harness::unlocked();
    h.state.theme = Theme::PLAIN;
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
    assert_eq!(h.state.verifying.len(), 1);
    let t = h.draw(90, 24);
    let screen = t.backend().to_string();
    assert!(!screen.contains("SENTINEL"));
    insta::assert_snapshot!("credentials", screen);
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
    assert!(h.state.form.as_ref().unwrap().fields[3].error.is_some());
    let screen = h.screen(80, 24);
    assert!(!screen.contains("SENTINEL"), "a secret was drawn");
    insta::assert_snapshot!("form_invalid_port", screen);
    // Save is gated while a field is invalid.
    assert!(h.ctrl('s').is_empty());
    assert!(matches!(
        h.state.form.as_ref().unwrap().phase,
        FormPhase::Editing
    ));
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
    insta::assert_snapshot!("form_verifying", h.screen(100, 24));
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
    insta::assert_snapshot!("form_rejected", h.screen(100, 24));
    insta::assert_snapshot!("form_rejected_narrow", h.screen(60, 24));
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
    assert_eq!(h.state.screen, Screen::Credentials);
    assert!(h.state.form.is_none());
    assert_eq!(h.state.vault.as_ref().unwrap().count("postgresql"), 5);
    insta::assert_snapshot!("credentials_after_save", h.screen(90, 24));
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
    insta::assert_snapshot!("form_unreachable", h.screen(100, 24));
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

#[test]
fn stale_and_refused_results_are_handled() {
    let mut h = Harness::unlocked();
    h.filled_form();
    let request = h.save();
    // Closing the form cancels the verification; its late result is dropped.
    h.key(KeyCode::Esc);
    assert!(matches!(h.state.modal, Some(Modal::ConfirmDiscard(_))));
    let fx = h.key(KeyCode::Char('y'));
    assert!(matches!(fx.as_slice(), [Effect::CancelVerify { request: r }] if *r == request));
    let fx = h.act(Action::VerifyFinished {
        request,
        credential: prepared(),
        outcome: outcome(Status::Verified, "ok"),
    });
    assert!(fx.is_empty(), "a stale result must not be saved");
    // A rule refusal before verification lands on the name field.
    h.key(KeyCode::Char('a'));
    h.typed("warehouse");
    assert!(
        h.state.form.as_ref().unwrap().fields[0].error.is_some(),
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
        h.state.screen,
        Screen::Credentials,
        "an untouched form just closes"
    );
    h.key(KeyCode::Char('a'));
    h.typed("x");
    h.key(KeyCode::Esc);
    insta::assert_snapshot!("form_discard", h.screen(80, 24));
    h.key(KeyCode::Char('n'));
    assert_eq!(h.state.screen, Screen::Form);
    assert_eq!(h.state.form.as_ref().unwrap().fields[0].input.value(), "x");
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
    insta::assert_snapshot!("delete_refused", screen);
    assert!(
        h.key(KeyCode::Char('y')).is_empty(),
        "refused: no delete effect"
    );
    // An unused one asks and deletes.
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('d'));
    insta::assert_snapshot!("delete_confirm", h.screen(80, 24));
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
    insta::assert_snapshot!("workspace_prompt_error", h.screen(80, 24));
    h.ctrl('u');
    h.typed("beta");
    assert!(
        matches!(h.key(KeyCode::Enter).as_slice(), [Effect::AddWorkspace { name }] if name == "beta")
    );
    // acme (selected first) holds credentials: delete needs its name typed.
    h.state.workspaces.selected = 0;
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
    for b in keyway::tui::keys::GRID {
        assert!(screen.contains(b.help), "help misses '{}'", b.help);
    }
    insta::assert_snapshot!("help_grid", screen);
    h.key(KeyCode::Esc);
    assert!(h.state.modal.is_none());
}

#[test]
fn too_small_terminals_show_a_message_and_never_panic() {
    let mut h = Harness::unlocked();
    insta::assert_snapshot!("too_small", h.screen(20, 6));
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
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.act(Action::Paste(big.into()));
    let form = h.state.form.as_ref().unwrap();
    assert_eq!(
        form.fields[2].input.value().len(),
        10 * 1024,
        "newline dropped"
    );
    let started = Instant::now();
    let screen = h.screen(80, 24);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(screen.contains("データ倉庫"));
    for _ in 0..4 {
        h.key(KeyCode::Tab); // to the password
    }
    h.act(Action::Paste("秘密".repeat(3000).into()));
    assert_eq!(h.state.form.as_ref().unwrap().focus, 6);
    assert!(
        !h.screen(80, 24).contains('秘'),
        "a pasted secret stays masked"
    );
}

#[test]
fn grid_navigation_follows_arrows_and_hjkl() {
    let mut h = Harness::unlocked();
    let columns = 80 / 24; // three cards a row at 80 columns
    assert_eq!(h.state.grid.selected, 0);
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Right);
    assert_eq!(h.state.grid.selected, 2);
    h.key(KeyCode::Char('j'));
    assert_eq!(h.state.grid.selected, 2 + columns);
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('h'));
    assert_eq!(h.state.grid.selected, 1);
    h.key(KeyCode::Char('k'));
    assert_eq!(h.state.grid.selected, 1, "top row stays");
    for _ in 0..100 {
        h.key(KeyCode::Down);
    }
    let last = h.state.visible_components().len() - 1;
    assert_eq!(
        h.state.grid.selected / columns,
        last / columns,
        "stops on the last row"
    );
    h.key(KeyCode::Char('G'));
    for _ in 0..10 {
        h.key(KeyCode::Right);
    }
    assert_eq!(h.state.grid.selected, last);
    h.act(Action::Resize(48, 24));
    h.key(KeyCode::Char('k'));
    assert_eq!(h.state.grid.selected, last - 2, "columns follow the width");
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
    assert_eq!(h.state.screen, Screen::Unlock);
    assert!(h.state.vault.is_none() && h.state.form.is_none());
    insta::assert_snapshot!("locked", h.screen(80, 24));
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
    assert!(h.state.verifying.is_empty());
}

// ---- flows, the wizard, promotion, used-by (issue 5) -----------------------------------------

fn staging(mut c: Credential) -> Credential {
    c.environment = Environment::Staging;
    c
}

/// The base snapshot plus: a staging Stripe credential, a Stripe credential of the other
/// workspace (never offered), and an inactive staging flow whose PostgreSQL step uses the
/// rejected "legacy".
fn flow_snapshot() -> Snapshot {
    let mut s = snapshot();
    s.credentials.push(staging(cred(
        "c7",
        "w1",
        "stripe",
        "billing-test",
        Some(verification(Status::Verified, 600, "ok")),
    )));
    s.credentials.push(staging(cred(
        "c8",
        "w2",
        "stripe",
        "theirs",
        Some(verification(Status::Verified, 600, "ok")),
    )));
    s.flows.push(Flow {
        id: id("f2"),
        workspace: id("w1"),
        name: "billing-sync".into(),
        environment: Environment::Staging,
        steps: vec![
            FlowStep {
                component: "stripe".into(),
                credential: id("c7"),
            },
            FlowStep {
                component: "postgresql".into(),
                credential: id("c2"),
            },
        ],
        active: false,
        created_at: NOW,
        updated_at: NOW,
    });
    s
}

impl Harness {
    fn with_snapshot(snapshot: Snapshot) -> Harness {
        Harness::unlocked_with(snapshot).0
    }

    /// Types valid PostgreSQL values into an open, new form (focus on Name).
    fn fill_pg(&mut self, name: &str) {
        self.typed(name);
        self.key(KeyCode::Tab); // environment: keeps its default
        self.key(KeyCode::Tab); // host
        self.typed("127.0.0.1");
        self.key(KeyCode::Tab); // port 5432
        self.key(KeyCode::Tab); // database
        self.key(KeyCode::Tab); // user
        self.typed("etl");
        self.key(KeyCode::Tab); // password
        self.typed(SECRET);
    }

    /// Saves the open form, answers "verified", and stores what it asked to save.
    fn verify_and_store(&mut self, mut snap: Snapshot) -> Credential {
        let request = self.save();
        let draft = self.state.form.as_ref().unwrap();
        let name = draft.fields[0].input.value().to_string();
        let env = Environment::parse(draft.fields[1].input.value()).unwrap();
        let mut prepared = cred("new1", "w1", "postgresql", &name, None);
        prepared.environment = env;
        let fx = self.act(Action::VerifyFinished {
            request,
            credential: Box::new(prepared),
            outcome: outcome(Status::Verified, "ok"),
        });
        let saved = match fx.as_slice() {
            [Effect::SaveCredential { credential }] => (**credential).clone(),
            other => panic!("expected a save, got {other:?}"),
        };
        snap.credentials.push(saved.clone());
        self.act(Action::Stored {
            snapshot: snap,
            event: Stored::CredentialSaved(saved.id.clone()),
        });
        saved
    }

    fn wizard(&self) -> &keyway::tui::wizard::WizardState {
        self.state.wizard.as_ref().expect("the wizard is open")
    }
}

fn offered_ids(h: &Harness) -> Vec<String> {
    keyway::tui::wizard::current_candidates(&h.state, h.wizard())
        .iter()
        .map(|c| c.id.0.clone())
        .collect()
}

#[test]
fn wizard_builds_a_flow_with_an_inline_credential() {
    use keyway::tui::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    assert_eq!(h.state.screen, Screen::Flows);
    h.key(KeyCode::Char('n'));
    assert_eq!(h.state.screen, Screen::Wizard);
    // Step 1: a taken name is refused; the environment defaults to staging.
    h.typed("billing-sync");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    assert_eq!(h.wizard().step, WizardStep::Name);
    assert!(
        h.screen(100, 24).contains("already"),
        "{}",
        h.screen(100, 24)
    );
    h.key(KeyCode::Tab);
    h.typed("-v2");
    insta::assert_snapshot!("wizard_step1_name", h.screen(100, 24));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components);

    // Step 2: fewer than two components cannot proceed.
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components);
    h.typed("stripe");
    h.key(KeyCode::Enter);
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components, "one is not enough");
    assert!(h
        .screen(100, 24)
        .contains("Pick two or more components (1 chosen)"));
    h.typed("git");
    h.key(KeyCode::Enter); // GitHub, to be removed again
    h.typed("postg");
    h.key(KeyCode::Enter);
    // Reorder and remove in the chosen list: GitHub goes.
    h.key(KeyCode::Tab);
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('d'));
    let chosen: Vec<&str> = h
        .wizard()
        .picks
        .iter()
        .map(|p| p.component.as_str())
        .collect();
    assert_eq!(chosen, ["stripe", "postgresql"]);
    h.key(KeyCode::Char('K'));
    h.key(KeyCode::Char('J'));
    h.key(KeyCode::Tab);
    h.typed("sl");
    insta::assert_snapshot!("wizard_step2_components", h.screen(100, 24));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Credentials);

    // Step 3: only this workspace's Stripe credentials, the flow's environment (staging) first.
    assert_eq!(h.wizard().step_cursor, 0);
    assert_eq!(offered_ids(&h), ["c7", "c5"]);
    insta::assert_snapshot!("wizard_step3_credentials", h.screen(100, 24));
    h.key(KeyCode::Enter); // billing-test
    assert_eq!(h.wizard().picks[0].credential, Some(id("c7")));
    assert_eq!(h.wizard().step_cursor, 1, "moves on to the unbound step");
    // All of them production: sorted by name.
    assert_eq!(offered_ids(&h), ["c2", "c3", "c4", "c1"]);
    for c in keyway::tui::wizard::current_candidates(&h.state, h.wizard()) {
        assert_eq!(
            (c.workspace.0.as_str(), c.component.as_str()),
            ("w1", "postgresql")
        );
    }

    // Inline add, cancelled: back in the wizard with nothing lost.
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen, Screen::Form);
    assert_eq!(
        h.state.form.as_ref().unwrap().fields[1].input.value(),
        "staging"
    );
    h.typed("half-typed");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.state.screen, Screen::Wizard);
    assert_eq!(h.wizard().step, WizardStep::Credentials);
    assert_eq!(h.wizard().picks[0].credential, Some(id("c7")));
    assert_eq!(h.wizard().picks[1].credential, None);

    // Inline add, verified and saved: back with the new credential picked.
    h.key(KeyCode::Char('a'));
    h.fill_pg("analytics");
    insta::assert_snapshot!("wizard_inline_form", h.screen(100, 24));
    let saved = h.verify_and_store(flow_snapshot());
    assert_eq!(h.state.screen, Screen::Wizard);
    assert_eq!(h.wizard().picks[1].credential, Some(saved.id.clone()));
    assert_eq!(saved.environment, Environment::Staging);

    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    insta::assert_snapshot!("wizard_step4_review", h.screen(100, 24));
    let fx = h.key(KeyCode::Enter);
    match fx.as_slice() {
        [Effect::AddFlow {
            workspace,
            name,
            environment,
            steps,
            active,
        }] => {
            assert_eq!(workspace, &id("w1"));
            assert_eq!(name, "billing-sync-v2");
            assert_eq!(environment, &Environment::Staging);
            assert!(*active);
            let bound: Vec<(&str, &RecordId)> = steps
                .iter()
                .map(|s| (s.component.as_str(), &s.credential))
                .collect();
            assert_eq!(bound, [("stripe", &id("c7")), ("postgresql", &saved.id)]);
        }
        other => panic!("expected AddFlow, got {other:?}"),
    }
}

#[test]
fn flows_list_marks_a_failing_step_and_refuses_activation() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // billing-sync (inactive, its PostgreSQL step on the rejected "legacy") is first by name.
    let screen = h.screen(100, 24);
    assert!(screen.contains("✗ postgresql:legacy"), "{screen}");
    insta::assert_snapshot!("flows_list", screen);
    let colours = fg_of(&h.draw(100, 24), "✗ postgresql:legacy");
    assert_eq!(colours.first(), Some(&Color::Red));
    // Activation is refused with the rule's words; nothing is written.
    assert!(h.key(KeyCode::Char('a')).is_empty());
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("Not activated") && screen.contains("rejected"),
        "{screen}"
    );
    // Deactivating the active one and deleting ask the store.
    h.key(KeyCode::Down); // nightly-etl
    assert!(matches!(
        h.key(KeyCode::Char('x')).as_slice(),
        [Effect::SetFlowActive { active: false, .. }]
    ));
    h.key(KeyCode::Char('d'));
    assert!(h.screen(100, 24).contains("Delete the flow 'nightly-etl'?"));
    assert!(matches!(
        h.key(KeyCode::Char('y')).as_slice(),
        [Effect::DeleteFlow { .. }]
    ));
}

#[test]
fn an_active_flow_cannot_be_saved_on_a_rejected_credential() {
    use keyway::tui::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // Edit billing-sync: the wizard opens at its credentials, bound as stored.
    h.key(KeyCode::Char('e'));
    assert_eq!(h.wizard().step, WizardStep::Credentials);
    assert_eq!(h.wizard().picks[1].credential, Some(id("c2")));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    h.key(KeyCode::Char(' ')); // inactive -> active
    assert!(h.wizard().active);
    assert!(h.key(KeyCode::Enter).is_empty(), "refused before any write");
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("Not saved") && screen.contains("rejected"),
        "{screen}"
    );
    // The store's own refusal (e.g. a race) is shown the same way and keeps the wizard.
    h.key(KeyCode::Char(' ')); // inactive again: allowed
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::UpdateFlow { .. }]
    ));
    h.act(Action::StoreFailed {
        event: Stored::FlowSaved {
            name: "billing-sync".into(),
        },
        message: "flow 'billing-sync' cannot be active: step 2 uses credential 'legacy'".into(),
    });
    assert_eq!(h.state.screen, Screen::Wizard);
    assert!(h.screen(100, 24).contains("Not saved: flow 'billing-sync'"));
}

#[test]
fn leaving_the_wizard_with_unsaved_work_asks_first() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // Nothing typed yet: Esc just leaves.
    h.key(KeyCode::Char('n'));
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen, Screen::Flows);
    assert!(h.state.modal.is_none());
    // A name typed: Esc asks; n keeps the wizard as it was, y drops it.
    h.key(KeyCode::Char('n'));
    h.typed("nightly-sync");
    h.key(KeyCode::Esc);
    assert!(matches!(h.state.modal, Some(Modal::ConfirmDiscard(_))));
    assert!(h.screen(100, 24).contains("The flow has not been saved."));
    h.key(KeyCode::Char('n'));
    assert!(h.state.modal.is_none());
    assert_eq!(h.state.screen, Screen::Wizard);
    assert_eq!(h.wizard().name.value(), "nightly-sync");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.state.screen, Screen::Flows);
    assert!(h.state.wizard.is_none());
}

#[test]
fn leaving_an_edited_flow_whose_activity_was_toggled_asks_first() {
    use keyway::tui::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('e')); // billing-sync, inactive
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    h.key(KeyCode::Char(' ')); // inactive -> active: the only change
    assert!(h.wizard().active);
    while h.wizard().step != WizardStep::Name {
        h.key(KeyCode::Esc);
    }
    h.key(KeyCode::Esc);
    assert!(matches!(h.state.modal, Some(Modal::ConfirmDiscard(_))));
    assert_eq!(h.state.screen, Screen::Wizard);
}

#[test]
fn promote_asks_where_several_production_credentials_exist() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('p'));
    assert_eq!(h.state.screen, Screen::Promote);
    let p = h.state.promote.as_ref().unwrap();
    // Stripe: exactly one production credential (billing): automatic.
    assert!(p.picks[0].automatic);
    assert_eq!(p.picks[0].chosen, Some(id("c5")));
    // PostgreSQL: four production credentials: asked.
    assert!(!p.picks[1].automatic);
    assert_eq!(p.picks[1].candidates.len(), 4);
    assert_eq!(p.picks[1].chosen, None);
    assert_eq!(p.name.value(), "billing-sync-production");
    assert_eq!(p.cursor, 1, "the cursor starts on the step to answer");
    insta::assert_snapshot!("promote_ask", h.screen(100, 24));
    // Not before every step has a credential.
    assert!(h.key(KeyCode::Enter).is_empty());
    assert!(h.screen(100, 24).contains("Step 2 (postgresql)"));
    h.key(KeyCode::Right);
    let chosen = h.state.promote.as_ref().unwrap().picks[1].chosen.clone();
    assert!(chosen.is_some());
    match h.key(KeyCode::Enter).as_slice() {
        [Effect::PromoteFlow {
            id: flow,
            bindings,
            new_name,
            move_flow,
        }] => {
            assert_eq!(flow, &id("f2"));
            assert_eq!(bindings, &vec![id("c5"), chosen.unwrap()]);
            assert_eq!(new_name, "billing-sync-production");
            assert!(!move_flow, "the staging flow is kept by default");
        }
        other => panic!("expected PromoteFlow, got {other:?}"),
    }
}

#[test]
fn promote_adds_a_missing_production_credential_inline() {
    let mut snap = flow_snapshot();
    // No production PostgreSQL credential at all.
    snap.credentials
        .retain(|c| !(c.component == "postgresql" && c.id != id("c2")));
    snap.flows.retain(|f| f.id != id("f1"));
    for c in snap.credentials.iter_mut().filter(|c| c.id == id("c2")) {
        c.environment = Environment::Staging;
    }
    let mut h = Harness::with_snapshot(snap.clone());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('p'));
    assert!(h.screen(100, 24).contains("none in production"));
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen, Screen::Form);
    assert_eq!(
        h.state.form.as_ref().unwrap().fields[1].input.value(),
        "production"
    );
    h.fill_pg("warehouse-prod");
    let saved = h.verify_and_store(snap);
    assert_eq!(h.state.screen, Screen::Promote);
    assert_eq!(
        h.state.promote.as_ref().unwrap().picks[1].chosen,
        Some(saved.id)
    );
}

#[test]
fn used_by_lists_flows_and_rebinds_everywhere() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.open_postgres();
    // legacy (first by name) is used by billing-sync.
    h.key(KeyCode::Char('u'));
    assert_eq!(h.state.screen, Screen::UsedBy);
    let screen = h.screen(90, 24);
    assert!(screen.contains("billing-sync"), "{screen}");
    insta::assert_snapshot!("used_by", screen);
    h.key(KeyCode::Down); // scratch
    match h.key(KeyCode::Enter).as_slice() {
        [Effect::RebindEverywhere { old, new, new_name }] => {
            assert_eq!(old, &id("c2"));
            assert_eq!(new, &id("c4"));
            assert_eq!(new_name, "scratch");
        }
        other => panic!("expected RebindEverywhere, got {other:?}"),
    }
    let mut snap = flow_snapshot();
    snap.flows[1].steps[1].credential = id("c4");
    h.act(Action::Stored {
        snapshot: snap,
        event: Stored::Rebound {
            flows: vec!["billing-sync".into()],
            to: "scratch".into(),
        },
    });
    let screen = h.screen(90, 24);
    assert!(screen.contains("Rebound 1 flow(s) to 'scratch': billing-sync"));
    assert!(screen.contains("No flow uses this credential"));
}

// ---- audit and detail (issue 6) --------------------------------------------------------------

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
    keyway::tui::audit::rows(&h.state)
        .iter()
        .map(|r| r.credential.name.clone())
        .collect()
}

#[test]
fn audit_table_sorts_filters_and_summarises() {
    use keyway::tui::audit::AuditColumn;
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.key(KeyCode::Char('A'));
    assert_eq!(h.state.screen, Screen::Audit);
    let screen = h.screen(150, 20);
    assert!(screen.contains("expired 2d ago"), "{screen}");
    assert!(screen.contains("⚠ in 3d"), "{screen}");
    assert!(screen.contains("2 expire within 14d"), "{screen}");
    insta::assert_snapshot!("audit", screen);
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
    assert_eq!(h.state.audit.sort, AuditColumn::Status);
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
    h.key(KeyCode::Char('w'));
    assert_eq!(audit_names(&h).len(), 8);
}

#[test]
fn audit_verify_all_updates_rows_and_can_be_cancelled() {
    let mut h = Harness::with_snapshot(audit_snapshot());
    h.key(KeyCode::Char('A'));
    let fx = h.key(KeyCode::Char('v'));
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
    assert!(h.key(KeyCode::Char('v')).is_empty(), "one run at a time");
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
    insta::assert_snapshot!("audit_verifying", screen);
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
    assert!(h.state.audit.run.is_none());
    assert!(h.state.verifying.is_empty());
    assert_eq!(
        h.state.screen,
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
    let fx = h.key(KeyCode::Char('v'));
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
    assert!(h.state.audit.run.is_none());
    assert!(h
        .screen(150, 20)
        .contains("Verified 6 credential(s): 6 verified"));
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
    assert_eq!(h.state.screen, Screen::Detail);
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
    insta::assert_snapshot!("detail", screen);
    // `v` re-verifies the credential on show, from the view itself.
    let fx = h.key(KeyCode::Char('v'));
    assert!(
        matches!(fx.as_slice(), [Effect::Verify { credential, .. }] if credential.id == id("c2")),
        "{fx:?}"
    );
    assert_eq!(h.state.screen, Screen::Detail);
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
    assert_eq!(h.state.screen, Screen::Credentials);
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

// ---- OAuth2 log in from the form ---------------------------------------------------------------

const ACCESS: &str = "at_SENTINEL_login_1";
const REFRESH: &str = "rt_SENTINEL_login_1";
const USER_CODE: &str = "WDJB-MJHT";

/// A new Generic OAuth2 form for a device-capable provider (a confidential client).
fn oauth_form(h: &mut Harness) {
    h.key(KeyCode::Char('/'));
    h.typed("generic oauth2");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    assert_eq!(h.state.credentials.component, "generic_oauth2");
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen, Screen::Form);
    h.typed("okta-ci");
    h.key(KeyCode::Tab); // environment
    h.key(KeyCode::Tab);
    h.typed("https://auth.example.com");
    h.key(KeyCode::Tab);
    h.typed("keyway-ci");
    h.key(KeyCode::Tab);
    h.typed(SECRET); // client secret
    for _ in 0..5 {
        h.key(KeyCode::Tab); // access, refresh, expires, scope → token URL
    }
    h.typed("https://auth.example.com/oauth/token");
    h.key(KeyCode::Tab);
    h.typed("https://auth.example.com/oauth/device");
    h.key(KeyCode::Tab);
    h.typed("https://auth.example.com/oauth/authorize");
    h.key(KeyCode::Home); // the form is drawn from its first fields
    for _ in 0..11 {
        h.key(KeyCode::BackTab);
    }
    assert_eq!(h.state.form.as_ref().unwrap().focus, 0);
}

/// Ctrl-g / Ctrl-p: one StartLogin effect built from the form's fields.
fn start_login(h: &mut Harness, key: char, want_paste: bool) -> u64 {
    match h.ctrl(key).as_slice() {
        [Effect::StartLogin {
            request,
            draft,
            editing,
            paste,
        }] => {
            assert_eq!(*paste, want_paste);
            assert!(editing.is_none());
            assert_eq!(draft.component, "generic_oauth2");
            let names: Vec<&str> = draft.changes.iter().map(|(k, _)| k.as_str()).collect();
            for field in [
                "client_id",
                "client_secret",
                "token_url",
                "device_authorization_url",
            ] {
                assert!(
                    names.contains(&field),
                    "the draft misses {field}: {names:?}"
                );
            }
            *request
        }
        other => panic!("expected a login to start, got {other:?}"),
    }
}

fn device_info() -> keyway::tui::login::DeviceInfo {
    keyway::tui::login::DeviceInfo {
        verification_uri: "https://auth.example.com/activate".into(),
        verification_uri_complete: None,
        user_code: USER_CODE.into(),
        expires_in: Duration::from_secs(600),
        note: None,
    }
}

fn tokens() -> keyway::verify::TokenUpdate {
    keyway::verify::TokenUpdate {
        access_token: SecretString::from(ACCESS),
        refresh_token: Some(SecretString::from(REFRESH)),
        expires_at: Some(Timestamp(NOW.0 + 3600)),
        refresh_expires_at: None,
    }
}

fn field_value(h: &Harness, name: &str) -> String {
    let form = h.state.form.as_ref().unwrap();
    let f = form
        .fields
        .iter()
        .find(|f| f.key == keyway::tui::state::FieldKey::Field(name.into()))
        .unwrap();
    f.input.value().to_string()
}

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
    insta::assert_snapshot!("form_login_device", screen);
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
    assert!(h.state.form.as_ref().unwrap().login.is_none());
    assert_eq!(field_value(&h, "access_token"), ACCESS);
    assert_eq!(field_value(&h, "refresh_token"), REFRESH);
    assert_eq!(
        field_value(&h, "expires_at"),
        Timestamp(NOW.0 + 3600).rfc3339()
    );
    assert_eq!(
        h.state
            .form
            .as_ref()
            .unwrap()
            .message
            .as_ref()
            .unwrap()
            .text,
        keyway::tui::login::LOGGED_IN
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
    let form = h.state.form.as_ref().unwrap();
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
    assert_eq!(h.state.screen, Screen::Form);
    assert!(h.state.modal.is_none());
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
    let third = h
        .state
        .form
        .as_ref()
        .unwrap()
        .login
        .as_ref()
        .unwrap()
        .request;
    h.key(KeyCode::Esc); // cancels the login
    h.key(KeyCode::Esc); // then asks to discard the changed form
    assert!(matches!(h.state.modal, Some(Modal::ConfirmDiscard(_))));
    h.key(KeyCode::Char('n'));
    let running = start_login(&mut h, 'g', false);
    assert!(running > third);
    h.key(KeyCode::Esc);
    h.key(KeyCode::Esc);
    let fx = h.key(KeyCode::Char('y'));
    assert!(fx.is_empty(), "the login was cancelled by the first Esc");
    assert!(h.state.form.is_none());
    h.act(Action::LoginDevice {
        request: running,
        device: device_info(),
    });
    assert!(h.state.form.is_none());
}

#[test]
fn the_idle_lock_drops_a_running_login() {
    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    let request = start_login(&mut h, 'g', false);
    // The idle lock: the edges drop every task with the keys; the form goes away.
    let fx = h.advance(Duration::from_secs(301));
    assert!(h.state.form.is_none());
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Lock)),
        "locking drops the login task with the store: {fx:?}"
    );
    h.act(Action::LoginFinished {
        request,
        result: Ok(tokens()),
    });
    assert!(h.state.form.is_none());
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
    assert_eq!(h.state.context(), keyway::tui::keys::Context::LoginPaste);
    let screen = h.screen(80, 24);
    // Every row of the wrapped URL is on screen; together they are the URL.
    let rows: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .filter(|l| url.contains(*l) && l.len() > 8)
        .collect();
    assert_eq!(rows, url, "the URL must be drawn in full:\n{screen}");
    insta::assert_snapshot!("form_login_paste", screen);
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
        h.state.context(),
        keyway::tui::keys::Context::OAuthForm,
        "the form has the keys again"
    );
    assert!(!h.screen(80, 24).contains("SENTINEL"));
}

#[test]
fn only_oauth2_forms_offer_log_in() {
    let mut h = Harness::unlocked();
    h.filled_form();
    assert_eq!(h.state.context(), keyway::tui::keys::Context::Form);
    assert!(h.ctrl('g').is_empty() && h.ctrl('p').is_empty());
    h.key(KeyCode::F(1));
    assert!(!h.screen(80, 24).contains("log in"));
    h.key(KeyCode::Esc);

    let mut h = Harness::unlocked();
    oauth_form(&mut h);
    assert_eq!(h.state.context(), keyway::tui::keys::Context::OAuthForm);
    h.key(KeyCode::F(1));
    let help = h.screen(100, 30);
    for b in keyway::tui::keys::OAUTH_FORM {
        assert!(help.contains(b.help), "help misses '{}':\n{help}", b.help);
    }
}

// ---- secrets and Debug -------------------------------------------------------------------------

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
