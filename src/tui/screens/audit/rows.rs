//! The audit table's rows: every credential of the workspace (or of all), with what the columns
//! show and the sort compares, sorted by any column and filtered to what needs attention.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::core::expiry::ExpiryState;
use crate::core::health::Health;
use crate::core::{Credential, RecordId, Status, TlsState, Verification};
use crate::tui::app::shared::Shared;

use super::AuditState;

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

    pub(super) fn next(self) -> AuditColumn {
        let i = AuditColumn::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or(0);
        AuditColumn::ALL[(i + 1) % AuditColumn::ALL.len()]
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

/// The rows in display order, after the scope, the attention filter and the `/` filter.
pub fn rows<'a>(a: &'a AuditState, shared: &'a Shared) -> Vec<AuditRow<'a>> {
    let Some(view) = shared.vault.as_ref() else {
        return Vec::new();
    };
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
            let expiry = shared.expiry_of(c);
            let verified = verification.is_some_and(|v| v.status == Status::Verified);
            AuditRow {
                credential: c,
                component: shared.catalog.display_name(&c.component),
                workspace: workspaces.get(&c.workspace).copied().unwrap_or("?"),
                verification,
                expiry,
                flows: flows.get(&c.id).copied().unwrap_or(0),
                attention: !verified || expiry.needs_attention(),
            }
        })
        .filter(|r| !a.attention_only || r.attention)
        .filter(|r| {
            !a.filter.is_set()
                || a.filter.matches(&[
                    &r.credential.name,
                    r.component,
                    r.workspace,
                    r.credential.environment.as_str(),
                    r.verification.map_or("never", |v| v.status.as_str()),
                    r.verification.map_or("", |v| v.reason.as_str()),
                ])
        })
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
/// many were verified over TLS with the server's certificate unchecked (a warning): each part
/// with the health it speaks of, so the view colours it.
pub fn summary_parts(rows: &[AuditRow], window_days: u64) -> Vec<(String, Option<Health>)> {
    let mut counts: Vec<(&str, usize, Health)> = [
        ("verified", Health::Good),
        ("rejected", Health::Failing),
        ("misconfigured", Health::Failing),
        ("unreachable", Health::Attention),
        ("unverified", Health::Attention),
        ("never", Health::Unchecked),
    ]
    .iter()
    .map(|(s, h)| (*s, 0, *h))
    .collect();
    for r in rows {
        let word = r.verification.map_or("never", |v| v.status.as_str());
        if let Some(slot) = counts.iter_mut().find(|(w, _, _)| *w == word) {
            slot.1 += 1;
        }
    }
    let expiring = rows.iter().filter(|r| r.expiry.needs_attention()).count();
    let mut parts: Vec<(String, Option<Health>)> = counts
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(w, n, h)| (format!("{} {n} {w}", h.glyph()), Some(*h)))
        .collect();
    if parts.is_empty() {
        parts.push(("no credentials".into(), None));
    }
    let expiring_health = (expiring > 0).then_some(Health::Attention);
    parts.push((
        format!("{expiring} expire within {window_days}d"),
        expiring_health,
    ));
    let unchecked = rows
        .iter()
        .filter(|r| r.verification.and_then(|v| v.tls) == Some(TlsState::Unchecked))
        .count();
    if unchecked > 0 {
        parts.push((
            format!("{unchecked} TLS unchecked"),
            Some(Health::Attention),
        ));
    }
    parts
}

/// The summary as one sentence (a notice).
pub fn summary(rows: &[AuditRow], window_days: u64) -> String {
    summary_parts(rows, window_days)
        .into_iter()
        .map(|(text, _)| text)
        .collect::<Vec<_>>()
        .join(" · ")
}
