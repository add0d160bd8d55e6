//! The audit table's model and its part of `update`: every credential of the workspace (or of
//! all), sortable by any column, filterable to what needs attention, and "verify all" through
//! the pool with progress, live rows and cancellation. A run's results are recorded as the
//! CLI's audit records them (`crate::audit::RunResults`): in one durable commit after the last
//! answer, or when the run stops early (Esc, a lock, quitting), each with the tokens its check
//! obtained.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::audit::RunResults;
use crate::core::expiry::{self, ExpiryState};
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId, Status, TlsState, Verification};
use crate::verify::Outcome;

use super::action::{Effect, RequestId};
use super::keys::Command;
use super::state::{Notice, Screen, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditColumn {
    Component,
    Name,
    Environment,
    Status,
    Reason,
    LastVerified,
    Latency,
    Expires,
    Age,
    Flows,
}

impl AuditColumn {
    pub const ALL: [AuditColumn; 10] = [
        AuditColumn::Component,
        AuditColumn::Name,
        AuditColumn::Environment,
        AuditColumn::Status,
        AuditColumn::Reason,
        AuditColumn::LastVerified,
        AuditColumn::Latency,
        AuditColumn::Expires,
        AuditColumn::Age,
        AuditColumn::Flows,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AuditColumn::Component => "Component",
            AuditColumn::Name => "Name",
            AuditColumn::Environment => "Env",
            AuditColumn::Status => "Status",
            AuditColumn::Reason => "Reason",
            AuditColumn::LastVerified => "Verified",
            AuditColumn::Latency => "Latency",
            AuditColumn::Expires => "Expires",
            AuditColumn::Age => "Changed",
            AuditColumn::Flows => "Flows",
        }
    }

    fn next(self) -> AuditColumn {
        let i = AuditColumn::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or(0);
        AuditColumn::ALL[(i + 1) % AuditColumn::ALL.len()]
    }
}

/// A "verify all" in progress.
#[derive(Debug, Default)]
pub struct AuditRun {
    /// Requests still out, and the credential each checks.
    pub pending: HashMap<RequestId, RecordId>,
    pub total: usize,
    pub done: usize,
    /// Results not yet sent to the store.
    pub unrecorded: RunResults,
}

#[derive(Debug)]
pub struct AuditState {
    pub all_workspaces: bool,
    pub sort: AuditColumn,
    pub reverse: bool,
    pub attention_only: bool,
    pub selected: usize,
    pub run: Option<AuditRun>,
    /// Results of the latest run, shown until the stored record is as new (rows update as
    /// results arrive, before their batch is committed).
    pub fresh: HashMap<RecordId, Verification>,
}

impl Default for AuditState {
    fn default() -> Self {
        AuditState {
            all_workspaces: false,
            sort: AuditColumn::Name,
            reverse: false,
            attention_only: false,
            selected: 0,
            run: None,
            fresh: HashMap::new(),
        }
    }
}

/// One table row, with everything the columns and the sort need.
#[derive(Debug)]
pub struct AuditRow<'a> {
    pub credential: &'a Credential,
    pub component: &'a str,
    pub workspace: &'a str,
    pub verification: Option<&'a Verification>,
    /// When it lapses, by the same rule as `keyway audit` (core::expiry): the refresh token's
    /// expiry when there is one (the access token renews itself), else the access token's or
    /// the date the user set; classified against the warning window.
    pub expiry: ExpiryState,
    pub flows: usize,
    pub attention: bool,
}

/// "in 3d", or "expired 2d ago".
pub fn expiry_text(expires: Timestamp, now: Timestamp) -> String {
    if expires <= now {
        format!("expired {}", expires.relative_to(now))
    } else {
        expires.relative_to(now)
    }
}

/// Where `c`'s expiry stands against the warning window the config sets.
pub fn expiry_of(state: &State, c: &Credential) -> ExpiryState {
    expiry::expiry_state(
        c,
        state.clock.wall,
        expiry::warning_window(state.expiry_warning_days),
    )
}

fn status_rank(v: Option<&Verification>) -> u8 {
    match v.map(|v| v.status) {
        Some(Status::Rejected) => 0,
        Some(Status::Misconfigured) => 1,
        Some(Status::Unreachable) => 2,
        Some(Status::Unverified) => 3,
        None => 4,
        Some(Status::Verified) => 5,
    }
}

/// Missing values sort last in either direction of the natural order.
fn opt_cmp<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn compare(column: AuditColumn, a: &AuditRow, b: &AuditRow) -> Ordering {
    let (ca, cb) = (a.credential, b.credential);
    match column {
        AuditColumn::Component => a.component.cmp(b.component),
        AuditColumn::Name => Ordering::Equal,
        AuditColumn::Environment => ca.environment.cmp(&cb.environment),
        AuditColumn::Status => status_rank(a.verification).cmp(&status_rank(b.verification)),
        AuditColumn::Reason => opt_cmp(
            a.verification.map(|v| &v.reason),
            b.verification.map(|v| &v.reason),
        ),
        // Newest first reads best for "last verified" and "changed".
        AuditColumn::LastVerified => {
            opt_cmp(b.verification.map(|v| v.at), a.verification.map(|v| v.at))
        }
        AuditColumn::Latency => opt_cmp(
            a.verification.and_then(|v| v.latency_ms),
            b.verification.and_then(|v| v.latency_ms),
        ),
        AuditColumn::Expires => opt_cmp(a.expiry.at(), b.expiry.at()),
        AuditColumn::Age => cb.updated_at.cmp(&ca.updated_at),
        AuditColumn::Flows => b.flows.cmp(&a.flows),
    }
}

/// The rows in display order, after the scope and the filter.
pub fn rows(state: &State) -> Vec<AuditRow<'_>> {
    let Some(view) = state.vault.as_ref() else {
        return Vec::new();
    };
    let a = &state.audit;
    let snapshot = &view.snapshot;
    // Flow counts in one pass over the flows, not one per credential.
    let mut flows: HashMap<&RecordId, usize> = HashMap::new();
    for f in &snapshot.flows {
        let mut seen: Vec<&RecordId> = Vec::new();
        for s in &f.steps {
            if !seen.contains(&&s.credential) {
                seen.push(&s.credential);
                *flows.entry(&s.credential).or_insert(0) += 1;
            }
        }
    }
    let workspaces: HashMap<&RecordId, &str> = snapshot
        .workspaces
        .iter()
        .map(|w| (&w.id, w.name.as_str()))
        .collect();
    let mut list: Vec<AuditRow> = snapshot
        .credentials
        .iter()
        .filter(|c| a.all_workspaces || Some(&c.workspace) == view.workspace.as_ref())
        .map(|c| {
            let stored = c.last_verification.as_ref();
            let verification = match (a.fresh.get(&c.id), stored) {
                (Some(f), Some(s)) if f.at > s.at => Some(f),
                (Some(f), None) => Some(f),
                _ => stored,
            };
            let expiry = expiry_of(state, c);
            let verified = verification.is_some_and(|v| v.status == Status::Verified);
            AuditRow {
                credential: c,
                component: state.catalog.display_name(&c.component),
                workspace: workspaces.get(&c.workspace).copied().unwrap_or("?"),
                verification,
                expiry,
                flows: flows.get(&c.id).copied().unwrap_or(0),
                attention: !verified || expiry.needs_attention(),
            }
        })
        .filter(|r| !a.attention_only || r.attention)
        .collect();
    list.sort_by(|x, y| {
        let primary = compare(a.sort, x, y);
        let primary = if a.reverse {
            primary.reverse()
        } else {
            primary
        };
        primary
            .then_with(|| x.credential.name.cmp(&y.credential.name))
            .then_with(|| x.credential.id.cmp(&y.credential.id))
    });
    list
}

/// Counts by status (never-verified as "never"), how many expire within the window, and how
/// many were verified over TLS with the server's certificate unchecked (a warning).
pub fn summary(rows: &[AuditRow], window_days: u64) -> String {
    let mut counts: Vec<(&str, usize)> = [
        "verified",
        "rejected",
        "misconfigured",
        "unreachable",
        "unverified",
        "never",
    ]
    .iter()
    .map(|s| (*s, 0))
    .collect();
    for r in rows {
        let word = r.verification.map_or("never", |v| v.status.as_str());
        if let Some(slot) = counts.iter_mut().find(|(w, _)| *w == word) {
            slot.1 += 1;
        }
    }
    let expiring = rows.iter().filter(|r| r.expiry.needs_attention()).count();
    let mut parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(w, n)| format!("{n} {w}"))
        .collect();
    if parts.is_empty() {
        parts.push("no credentials".into());
    }
    parts.push(format!("{expiring} expire within {window_days}d"));
    let unchecked = rows
        .iter()
        .filter(|r| r.verification.and_then(|v| v.tls) == Some(TlsState::Unchecked))
        .count();
    if unchecked > 0 {
        parts.push(format!("{unchecked} TLS unchecked"));
    }
    parts.join(" · ")
}

pub fn open(state: &mut State) {
    state.audit.selected = 0;
    state.notice = None;
    state.screen = Screen::Audit;
}

pub fn command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let count = rows(state).len();
    let a = &mut state.audit;
    let sel = a.selected.min(count.saturating_sub(1));
    a.selected = sel;
    match command {
        Command::Up => a.selected = sel.saturating_sub(1),
        Command::Down => a.selected = (sel + 1).min(count.saturating_sub(1)),
        Command::SortNext => a.sort = a.sort.next(),
        Command::SortReverse => a.reverse = !a.reverse,
        Command::AttentionFilter => {
            a.attention_only = !a.attention_only;
            a.selected = 0;
        }
        Command::AllWorkspaces => {
            a.all_workspaces = !a.all_workspaces;
            a.selected = 0;
        }
        Command::VerifyAll => verify_all(state, fx),
        Command::Details => {
            let id = rows(state).get(sel).map(|r| r.credential.id.clone());
            if let Some(credential) = id {
                super::detail::open(state, credential, Screen::Audit, fx);
            }
        }
        Command::Back if a.run.is_some() => cancel(state, fx),
        Command::Back => {
            state.notice = None;
            state.screen = Screen::Grid;
        }
        _ => {}
    }
}

/// Submits every row of the table (as filtered) to the pool.
fn verify_all(state: &mut State, fx: &mut Vec<Effect>) {
    if state.audit.run.is_some() {
        return;
    }
    let targets: Vec<Credential> = rows(state).iter().map(|r| r.credential.clone()).collect();
    if targets.is_empty() {
        state.notice = Some(Notice::info("Nothing to verify"));
        return;
    }
    let mut run = AuditRun::default();
    let mut skipped = 0;
    for c in targets {
        let Some(component) = state.catalog.get(&c.component).cloned() else {
            skipped += 1;
            continue;
        };
        // A credential already being checked (from its list) is left to that check.
        let Some(request) = state.begin_verifying(&c) else {
            skipped += 1;
            continue;
        };
        run.pending.insert(request, c.id.clone());
        fx.push(Effect::Verify {
            request,
            component: Box::new(component),
            credential: Box::new(c),
        });
    }
    run.total = run.pending.len();
    state.notice = (skipped > 0).then(|| {
        Notice::info(format!(
            "{skipped} credential(s) skipped (unknown component or already verifying)"
        ))
    });
    if run.total > 0 {
        state.audit.run = Some(run);
    }
}

/// Cancels the outstanding checks; results already in are kept and recorded.
pub fn cancel(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(mut run) = state.audit.run.take() else {
        return;
    };
    for request in run.pending.keys() {
        state.verifying.remove(request);
        fx.push(Effect::CancelVerify { request: *request });
    }
    flush(&mut run, fx);
    state.notice = Some(Notice::info(format!(
        "Verify all cancelled: {} of {} checked",
        run.done, run.total
    )));
}

/// Sends the results the run has gathered to the store, in one commit.
pub fn flush(run: &mut AuditRun, fx: &mut Vec<Effect>) {
    if !run.unrecorded.is_empty() {
        fx.push(Effect::RecordVerifications {
            results: std::mem::take(&mut run.unrecorded),
        });
    }
}

/// A pool result: handled here if it belongs to the audit run, else handed back.
pub fn on_result(
    state: &mut State,
    request: RequestId,
    outcome: Outcome,
    fx: &mut Vec<Effect>,
) -> Option<Outcome> {
    let now = state.clock.wall;
    let Some(run) = state.audit.run.as_mut() else {
        return Some(outcome);
    };
    let Some(id) = run.pending.remove(&request) else {
        return Some(outcome);
    };
    run.done += 1;
    let v = run.unrecorded.add(id.clone(), &outcome, now).clone();
    state.audit.fresh.insert(id, v);
    if run.pending.is_empty() {
        flush(run, fx);
        let total = run.total;
        state.audit.run = None;
        let text = format!(
            "Verified {total} credential(s): {}",
            summary(&rows(state), state.expiry_warning_days)
        );
        state.notice = Some(Notice::info(text));
    }
    None
}
