//! The unlocked vault as the UI sees it: the snapshot the edges last sent, the open workspace,
//! and views derived from them, cached so a frame never scans 10,000 credentials.

use std::collections::HashMap;
use std::time::Duration;

use crate::core::expiry::lapses_at;
use crate::core::health::Health;
use crate::core::time::Timestamp;
use crate::core::{Credential, Environment, RecordId, Snapshot};

/// How a group of credentials (a component's, the workspace's) stands: counts by the health of
/// their last verification, and when each lapses (sorted), so a frame tells "expiring" for any
/// clock without scanning the credentials again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    by_health: [usize; 4],
    lapses: Vec<Timestamp>,
}

impl Tally {
    fn add(&mut self, c: &Credential) {
        let h = Health::of_status(c.last_verification.as_ref().map(|v| v.status));
        self.by_health[h as usize] += 1;
        if let Some(at) = lapses_at(c) {
            self.lapses.push(at);
        }
    }

    fn sort(&mut self) {
        self.lapses.sort_unstable();
    }

    pub fn total(&self) -> usize {
        self.by_health.iter().sum()
    }

    /// How many have this health by their last verification.
    pub fn count(&self, health: Health) -> usize {
        self.by_health[health as usize]
    }

    /// How many lapse within `window` of `now` (or already have), by core::expiry's rule.
    pub fn expiring(&self, now: Timestamp, window: Duration) -> usize {
        let until = Timestamp(
            now.0
                .saturating_add(i64::try_from(window.as_secs()).unwrap_or(i64::MAX)),
        );
        self.lapses.partition_point(|at| *at <= until)
    }

    /// The worst member's health (expiring counts as needing attention); None when empty.
    pub fn health(&self, now: Timestamp, window: Duration) -> Option<Health> {
        let by_status = Health::ALL.into_iter().find(|h| self.count(*h) > 0)?;
        if self.expiring(now, window) > 0 {
            Some(by_status.min(Health::Attention))
        } else {
            Some(by_status)
        }
    }
}

/// The unlocked vault as the UI sees it, with derived views cached so a frame never scans
/// 10,000 credentials.
#[derive(Debug, Default)]
pub struct VaultView {
    pub snapshot: Snapshot,
    pub workspace: Option<RecordId>,
    /// The open workspace's credentials by component, and all of them.
    tallies: HashMap<String, Tally>,
    workspace_tally: Tally,
    /// Every workspace's credentials, for the picker.
    by_workspace: HashMap<RecordId, Tally>,
    /// Indices into `snapshot.credentials` of the open component's list, sorted by name.
    rows: Vec<usize>,
    rows_component: String,
}

impl VaultView {
    pub fn new(snapshot: Snapshot) -> VaultView {
        VaultView {
            snapshot,
            ..VaultView::default()
        }
    }

    pub fn replace(&mut self, snapshot: Snapshot) {
        self.snapshot = snapshot;
        if let Some(w) = &self.workspace {
            if self.snapshot.workspace(w).is_none() {
                self.workspace = None;
            }
        }
        self.refresh();
    }

    pub fn select_workspace(&mut self, id: Option<RecordId>) {
        self.workspace = id;
        self.refresh();
    }

    pub fn show_component(&mut self, component: &str) {
        self.rows_component = component.to_string();
        self.refresh();
    }

    fn refresh(&mut self) {
        self.tallies.clear();
        self.workspace_tally = Tally::default();
        self.rows.clear();
        self.by_workspace.clear();
        for c in &self.snapshot.credentials {
            self.by_workspace
                .entry(c.workspace.clone())
                .or_default()
                .add(c);
        }
        self.by_workspace.values_mut().for_each(Tally::sort);
        let Some(w) = &self.workspace else { return };
        for (i, c) in self.snapshot.credentials.iter().enumerate() {
            if &c.workspace != w {
                continue;
            }
            self.tallies.entry(c.component.clone()).or_default().add(c);
            self.workspace_tally.add(c);
            if c.component == self.rows_component {
                self.rows.push(i);
            }
        }
        self.tallies.values_mut().for_each(Tally::sort);
        self.workspace_tally.sort();
        let creds = &self.snapshot.credentials;
        self.rows
            .sort_by(|a, b| creds[*a].name.cmp(&creds[*b].name).then(a.cmp(b)));
    }

    pub fn count(&self, component: &str) -> usize {
        self.tallies.get(component).map_or(0, Tally::total)
    }

    /// The open workspace's credentials of `component`.
    pub fn tally(&self, component: &str) -> Option<&Tally> {
        self.tallies.get(component)
    }

    /// Workspace `id`'s credentials.
    pub fn tally_of_workspace(&self, id: &RecordId) -> Option<&Tally> {
        self.by_workspace.get(id)
    }

    /// All of the open workspace's credentials.
    pub fn workspace_tally(&self) -> &Tally {
        &self.workspace_tally
    }

    pub fn workspace_name(&self) -> Option<&str> {
        let id = self.workspace.as_ref()?;
        self.snapshot.workspace(id).map(|w| w.name.as_str())
    }

    /// The open component's credentials in display order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Credential> + '_ {
        self.rows.iter().map(|i| &self.snapshot.credentials[*i])
    }

    pub fn row(&self, index: usize) -> Option<&Credential> {
        self.rows.get(index).map(|i| &self.snapshot.credentials[*i])
    }

    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
}

/// The credentials offered for one step: only `workspace`'s, only `component`'s; those of
/// the flow's environment first, then by name.
pub fn step_candidates<'a>(
    snapshot: &'a Snapshot,
    workspace: &RecordId,
    component: &str,
    environment: &Environment,
) -> Vec<&'a Credential> {
    let mut list: Vec<&Credential> = snapshot
        .credentials_in(workspace)
        .filter(|c| c.component == component)
        .collect();
    list.sort_by(|a, b| {
        (&a.environment != environment)
            .cmp(&(&b.environment != environment))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    list
}
