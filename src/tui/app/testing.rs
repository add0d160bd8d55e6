//! What the screens' unit tests share: a small vault, the shared state unlocked on it, and
//! answers from the edges. The screens' tests drive one screen's state directly, without the app
//! around it (tests/tui/ drives the whole app and draws it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::action::Clock;
use super::keys::{table_problems, KeyHelp};
use super::nav::Nav;
use super::screen::Update;
use super::shared::Shared;
use super::vault_view::VaultView;
use crate::catalog::Catalog;
use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::{
    Credential, Environment, Flow, FlowStep, RecordId, Snapshot, Status, Verification, Workspace,
};
use crate::tui::widgets::theme::Theme;
use crate::verify::Outcome;

pub const NOW: Timestamp = Timestamp(1_780_000_000);

pub fn id(s: &str) -> RecordId {
    RecordId(s.to_string())
}

pub fn checked(status: Status, reason: &str) -> Verification {
    Verification {
        status,
        reason: reason.into(),
        detail: None,
        latency_ms: Some(12),
        at: Timestamp(NOW.0 - 60),
        run: None,
        tls: None,
    }
}

/// A PostgreSQL credential (Stripe's are built from it) of workspace `ws`.
pub fn credential(
    i: &str,
    ws: &str,
    component: &str,
    name: &str,
    environment: Environment,
    last: Option<Verification>,
) -> Credential {
    let mut secrets = SecretFields::new();
    secrets.insert("password", SecretString::from("pw_SENTINEL"));
    let public: BTreeMap<String, String> = [
        ("host", "db.internal"),
        ("port", "5432"),
        ("database", "postgres"),
        ("user", "etl"),
        ("sslmode", "require"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Credential {
        id: id(i),
        workspace: id(ws),
        component: component.into(),
        name: name.into(),
        environment,
        public,
        secrets,
        created_at: NOW,
        updated_at: NOW,
        last_verification: last,
        revision: Default::default(),
        password_changed_at: None,
        pending_rotation: None,
    }
}

pub fn flow(i: &str, name: &str, environment: Environment, steps: &[(&str, &str)]) -> Flow {
    Flow {
        id: id(i),
        workspace: id("w1"),
        name: name.into(),
        environment,
        steps: steps
            .iter()
            .map(|(component, credential)| FlowStep {
                component: component.to_string(),
                credential: id(credential),
            })
            .collect(),
        active: true,
        created_at: NOW,
        updated_at: NOW,
        revision: Default::default(),
    }
}

/// Workspace "acme" (w1): PostgreSQL "warehouse" (verified, production) and "legacy"
/// (rejected, production), Stripe "billing" (staging, never checked), and the active flow
/// "nightly" on warehouse; workspace "globex" (w2), empty.
pub fn snapshot() -> Snapshot {
    let workspace = |i: &str, name: &str| Workspace {
        id: id(i),
        name: name.into(),
        created_at: NOW,
        revision: Default::default(),
    };
    Snapshot {
        workspaces: vec![workspace("w1", "acme"), workspace("w2", "globex")],
        credentials: vec![
            credential(
                "c1",
                "w1",
                "postgresql",
                "warehouse",
                Environment::Production,
                Some(checked(Status::Verified, "ok")),
            ),
            credential(
                "c2",
                "w1",
                "postgresql",
                "legacy",
                Environment::Production,
                Some(checked(Status::Rejected, "password rejected")),
            ),
            credential("c3", "w1", "stripe", "billing", Environment::Staging, None),
        ],
        flows: vec![flow(
            "f1",
            "nightly",
            Environment::Production,
            &[("postgresql", "c1")],
        )],
    }
}

/// Locked, with the built-in catalogue.
pub fn locked() -> Shared {
    Shared::new(
        PathBuf::from("/home/ops/vault.redb"),
        Catalog::builtin().expect("the built-in catalogue"),
        Theme::PLAIN,
        Some(Duration::from_secs(300)),
        Clock {
            wall: NOW,
            mono: Instant::now(),
        },
    )
}

/// Unlocked on `snapshot`, in workspace w1 ("acme").
pub fn unlocked_on(snapshot: Snapshot) -> Shared {
    let mut shared = locked();
    let mut view = VaultView::new(snapshot);
    view.select_workspace(Some(id("w1")));
    shared.vault = Some(view);
    shared
}

pub fn unlocked() -> Shared {
    unlocked_on(snapshot())
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

/// The navigation request of `update`, which must ask for no effects.
pub fn nav_only(update: Update) -> Option<Nav> {
    assert!(update.effects.is_empty(), "{:?}", update.effects);
    update.nav
}

/// Fails with what is wrong with a screen's key tables (a key bound twice, a printable key
/// that a text field would never get).
pub fn assert_tables_well_formed(tables: &[&dyn KeyHelp]) {
    let problems = table_problems(tables);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `update` changed nothing but the screen's own state: no effect, no navigation.
pub fn quiet(update: Update) {
    assert!(
        update.effects.is_empty() && update.nav.is_none(),
        "{update:?}"
    );
}

/// The notice shown, as text ("" when there is none).
pub fn notice_text(shared: &Shared) -> &str {
    shared.notice.as_ref().map_or("", |n| n.text.as_str())
}
