//! What the TUI tests share: a fixture vault snapshot and a harness that drives `update` with
//! actions and draws `render` on ratatui's TestBackend.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyway::catalog::Catalog;
use keyway::core::secret::SecretFields;
use keyway::core::time::Timestamp;
use keyway::core::Snapshot;
use keyway::core::{
    Credential, Environment, Flow, FlowStep, RecordId, Status, Verification, Workspace,
};
use keyway::tui::app::action::Stored;
use keyway::tui::app::pages::ScreenId as Screen;
use keyway::tui::screens::audit::AuditState;
use keyway::tui::screens::credentials::CredentialsState;
use keyway::tui::screens::form::FormState;
use keyway::tui::screens::grid::GridState;
use keyway::tui::screens::promote::PromoteState;
use keyway::tui::screens::unlock::UnlockState;
use keyway::tui::screens::wizard::WizardState;
use keyway::tui::{render, update, Action, Clock, Effect, State, StateInit, Theme};
use keyway::verify::Outcome;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const NOW: Timestamp = Timestamp(1_780_000_000);
pub const SECRET: &str = "pw_SENTINEL_77";

pub fn id(s: &str) -> RecordId {
    RecordId(s.to_string())
}

pub fn verification(status: Status, ago: i64, reason: &str) -> Verification {
    Verification {
        status,
        reason: reason.into(),
        detail: None,
        latency_ms: Some(12),
        at: Timestamp(NOW.0 - ago),
        run: None,
        tls: None,
    }
}

pub fn cred(i: &str, ws: &str, component: &str, name: &str, v: Option<Verification>) -> Credential {
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
        revision: Default::default(),
        password_changed_at: None,
        pending_rotation: None,
    }
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        workspaces: vec![
            Workspace {
                id: id("w1"),
                name: "acme".into(),
                created_at: NOW,
                revision: Default::default(),
            },
            Workspace {
                id: id("w2"),
                name: "東京チーム".into(),
                created_at: NOW,
                revision: Default::default(),
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
            revision: Default::default(),
        }],
    }
}

pub struct Harness {
    pub state: State,
    pub mono: Instant,
}

impl Harness {
    pub fn new(theme: Theme) -> Harness {
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
    pub fn unlocked() -> Harness {
        let (h, fx) = Harness::unlocked_with(snapshot());
        assert!(matches!(fx.as_slice(), [Effect::RememberWorkspace { .. }]));
        assert_eq!(h.state.screen(), Screen::Grid);
        h
    }

    /// Unlocked with `snapshot`, in workspace w1; and what unlocking asked for.
    pub fn unlocked_with(snapshot: Snapshot) -> (Harness, Vec<Effect>) {
        let mut h = Harness::new(Theme::COLOR);
        let fx = h.act(Action::Unlocked {
            snapshot,
            remembered: Some(id("w1")),
        });
        (h, fx)
    }

    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        update(&mut self.state, action)
    }

    pub fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        self.act(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub fn ctrl(&mut self, c: char) -> Vec<Effect> {
        self.act(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
    }

    pub fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    pub fn advance(&mut self, by: Duration) -> Vec<Effect> {
        let clock = Clock {
            wall: Timestamp(self.state.shared.clock.wall.0 + by.as_secs() as i64),
            mono: self.state.shared.clock.mono + by,
        };
        self.act(Action::Clock(clock))
    }

    pub fn draw(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(&self.state, f)).unwrap();
        t
    }

    pub fn screen(&self, w: u16, h: u16) -> String {
        self.draw(w, h).backend().to_string()
    }

    /// Opens the PostgreSQL credentials of "acme".
    pub fn open_postgres(&mut self) {
        self.key(KeyCode::Char('/'));
        self.typed("postgres");
        self.key(KeyCode::Enter);
        assert_eq!(self.state.screen(), Screen::Credentials);
        assert_eq!(self.credentials().component, "postgresql");
    }

    /// A new PostgreSQL form filled with valid values.
    pub fn filled_form(&mut self) {
        self.open_postgres();
        self.key(KeyCode::Char('a'));
        assert_eq!(self.state.screen(), Screen::Form);
        self.fill_pg("analytics");
    }

    pub fn save(&mut self) -> u64 {
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

pub fn outcome(status: Status, reason: &str) -> Outcome {
    Outcome {
        status,
        reason: reason.into(),
        detail: Some("PostgreSQL 15.8".into()),
        latency: Duration::from_millis(40),
        tls: None,
        tokens: None,
        host_key_to_confirm: None,
    }
}

pub fn prepared() -> Box<Credential> {
    Box::new(cred("new1", "w1", "postgresql", "analytics", None))
}

pub fn fg_of(t: &Terminal<TestBackend>, needle: &str) -> Vec<Color> {
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

impl Harness {
    pub fn with_snapshot(snapshot: Snapshot) -> Harness {
        Harness::unlocked_with(snapshot).0
    }

    /// Types valid PostgreSQL values into an open, new form (focus on Name).
    pub fn fill_pg(&mut self, name: &str) {
        self.typed(name);
        self.key(KeyCode::Tab); // environment: keeps its default
        self.key(KeyCode::Tab); // from URL: left empty
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
    pub fn verify_and_store(&mut self, mut snap: Snapshot) -> Credential {
        let request = self.save();
        let draft = self.form().unwrap();
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

    pub fn wizard(&self) -> &WizardState {
        self.state
            .page::<WizardState>()
            .expect("the wizard is open")
    }

    /// The open credential form, if any.
    pub fn form(&self) -> Option<&FormState> {
        self.state.page::<FormState>()
    }

    pub fn grid(&self) -> &GridState {
        self.state.page::<GridState>().expect("the grid is open")
    }

    pub fn credentials(&self) -> &CredentialsState {
        self.state
            .page::<CredentialsState>()
            .expect("a credentials list is open")
    }

    pub fn audit(&self) -> &AuditState {
        self.state.page::<AuditState>().expect("the audit is open")
    }

    pub fn promote(&self) -> Option<&PromoteState> {
        self.state.page::<PromoteState>()
    }

    pub fn unlock(&self) -> &UnlockState {
        self.state
            .page::<UnlockState>()
            .expect("the unlock screen is open")
    }
}

pub const ACCESS: &str = "at_SENTINEL_login_1";

pub const REFRESH: &str = "rt_SENTINEL_login_1";

pub const USER_CODE: &str = "WDJB-MJHT";

/// A new Generic OAuth2 form for a device-capable provider (a confidential client).
pub fn oauth_form(h: &mut Harness) {
    h.key(KeyCode::Char('/'));
    h.typed("generic oauth2");
    h.key(KeyCode::Enter);
    assert_eq!(h.credentials().component, "generic_oauth2");
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen(), Screen::Form);
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
    assert_eq!(h.form().unwrap().focus, 0);
}

/// Ctrl-g / Ctrl-p: one StartLogin effect built from the form's fields.
pub fn start_login(h: &mut Harness, key: char, want_paste: bool) -> u64 {
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

pub fn device_info() -> keyway::tui::app::action::DeviceInfo {
    keyway::tui::app::action::DeviceInfo {
        verification_uri: "https://auth.example.com/activate".into(),
        verification_uri_complete: None,
        user_code: USER_CODE.into(),
        expires_in: Duration::from_secs(600),
        note: None,
    }
}

pub fn tokens() -> keyway::verify::TokenUpdate {
    keyway::verify::TokenUpdate {
        access_token: SecretString::from(ACCESS),
        refresh_token: Some(SecretString::from(REFRESH)),
        expires_at: Some(Timestamp(NOW.0 + 3600)),
        refresh_expires_at: None,
    }
}

pub fn field_value(h: &Harness, name: &str) -> String {
    let form = h.form().unwrap();
    let f = form
        .fields
        .iter()
        .find(|f| f.key == keyway::tui::screens::form::FieldKey::Field(name.into()))
        .unwrap();
    f.input.value().to_string()
}

pub fn staging(mut c: Credential) -> Credential {
    c.environment = Environment::Staging;
    c
}

/// The base snapshot plus: a staging Stripe credential, a Stripe credential of the other
/// workspace (never offered), and an inactive staging flow whose PostgreSQL step uses the
/// rejected "legacy".
pub fn flow_snapshot() -> Snapshot {
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
        revision: Default::default(),
    });
    s
}
