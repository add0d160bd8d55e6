//! Frame cost of the terminal UI: the component grid and a credential list in a workspace of
//! 10,000 credentials (goal < 2 ms a frame), and a frame while 1,000 verifications are in
//! flight (goal < 16 ms); and the audit table of 1,000 credentials, idle and during "verify
//! all". Drawn on ratatui's TestBackend, so this measures our render and ratatui's buffer
//! work, not a terminal's output speed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use keyway::catalog::Catalog;
use keyway::core::secret::SecretFields;
use keyway::core::time::Timestamp;
use keyway::core::Snapshot;
use keyway::core::{Credential, Environment, RecordId, Status, Verification, Workspace};
use keyway::tui::{render, update, Action, Clock, State, StateInit, Theme};

const NOW: Timestamp = Timestamp(1_780_000_000);

fn big_state() -> State {
    state_with(10_000)
}

fn state_with(count: usize) -> State {
    let catalog = Catalog::builtin().expect("builtin catalogue");
    let ids: Vec<String> = catalog.all().iter().map(|c| c.id.clone()).collect();
    let ws = RecordId("w".into());
    let credentials = (0..count)
        .map(|i| Credential {
            id: RecordId(format!("c{i:05}")),
            workspace: ws.clone(),
            // Half of them PostgreSQL, so the opened list holds 5,000 rows.
            component: if i % 2 == 0 {
                "postgresql".to_string()
            } else {
                ids[i % ids.len()].clone()
            },
            name: format!("credential-{i:05}"),
            environment: Environment::Production,
            public: BTreeMap::new(),
            secrets: SecretFields::new(),
            created_at: NOW,
            updated_at: NOW,
            last_verification: Some(Verification {
                status: [Status::Verified, Status::Rejected, Status::Unverified][i % 3],
                reason: "ok".into(),
                detail: None,
                latency_ms: Some(10),
                at: Timestamp(NOW.0 - i as i64 * 7),
                run: None,
                tls: None,
            }),
            revision: Default::default(),
            password_changed_at: None,
            pending_rotation: None,
        })
        .collect();
    let snapshot = Snapshot {
        workspaces: vec![Workspace {
            id: ws.clone(),
            name: "load".into(),
            created_at: NOW,
            revision: Default::default(),
        }],
        credentials,
        flows: vec![],
    };
    let mut state = State::new(StateInit {
        vault_path: PathBuf::from("/tmp/vault.redb"),
        vault_exists: true,
        catalog,
        theme: Theme::COLOR,
        auto_lock: Some(Duration::from_secs(300)),
        clock: Clock {
            wall: NOW,
            mono: Instant::now(),
        },
    });
    update(&mut state, Action::Resize(120, 40));
    update(
        &mut state,
        Action::Unlocked {
            snapshot,
            remembered: Some(ws),
        },
    );
    state
}

fn key(state: &mut State, code: KeyCode) {
    update(state, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn open_postgres(state: &mut State) {
    key(state, KeyCode::Char('/'));
    for c in "postgres".chars() {
        key(state, KeyCode::Char(c));
    }
    key(state, KeyCode::Enter);
    key(state, KeyCode::Enter);
}

fn frames(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");

    let grid = big_state();
    c.bench_function("grid frame, 10k credentials", |b| {
        b.iter(|| terminal.draw(|f| render(&grid, f)).map(|_| ()))
    });

    let mut list = big_state();
    open_postgres(&mut list);
    // Scroll to the middle so the visible window is not the first page.
    for _ in 0..2_500 {
        key(&mut list, KeyCode::Down);
    }
    c.bench_function("credential list frame, 10k credentials", |b| {
        b.iter(|| terminal.draw(|f| render(&list, f)).map(|_| ()))
    });

    // 1,000 "verify now" requests in flight: the list shows their spinners and the status bar
    // their count; a key press must still update and redraw within a frame.
    let mut busy = big_state();
    open_postgres(&mut busy);
    for _ in 0..1_000 {
        key(&mut busy, KeyCode::Char('v'));
        key(&mut busy, KeyCode::Down);
    }
    assert_eq!(busy.shared.verifying.len(), 1_000);
    c.bench_function("key + frame, 1,000 verifications in flight", |b| {
        b.iter(|| {
            key(&mut busy, KeyCode::Up);
            key(&mut busy, KeyCode::Down);
            terminal.draw(|f| render(&busy, f)).map(|_| ())
        })
    });
}

/// The audit table of 1,000 credentials (sorted and summarised every frame), idle and while
/// "verify all" has all 1,000 in flight.
fn audit_frames(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("test backend");
    let mut audit = state_with(1_000);
    key(&mut audit, KeyCode::Char('A'));
    c.bench_function("audit frame, 1,000 credentials", |b| {
        b.iter(|| terminal.draw(|f| render(&audit, f)).map(|_| ()))
    });
    key(&mut audit, KeyCode::Char('v'));
    assert_eq!(audit.shared.verifying.len(), 1_000);
    c.bench_function("audit key + frame, verify all of 1,000 in flight", |b| {
        b.iter(|| {
            key(&mut audit, KeyCode::Down);
            key(&mut audit, KeyCode::Up);
            terminal.draw(|f| render(&audit, f)).map(|_| ())
        })
    });
}

criterion_group!(benches, frames, audit_frames);
criterion_main!(benches);
