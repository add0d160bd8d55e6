//! The unlocked vault as the UI sees it: the snapshot the edges last sent, the open workspace,
//! and views derived from them, cached so a frame never scans 10,000 credentials.

use std::collections::HashMap;

use crate::core::{Credential, Environment, RecordId, Snapshot};

/// The unlocked vault as the UI sees it, with derived views cached so a frame never scans
/// 10,000 credentials.
#[derive(Debug, Default)]
pub struct VaultView {
    pub snapshot: Snapshot,
    pub workspace: Option<RecordId>,
    counts: HashMap<String, usize>,
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
        self.counts.clear();
        self.rows.clear();
        let Some(w) = &self.workspace else { return };
        for (i, c) in self.snapshot.credentials.iter().enumerate() {
            if &c.workspace != w {
                continue;
            }
            *self.counts.entry(c.component.clone()).or_insert(0) += 1;
            if c.component == self.rows_component {
                self.rows.push(i);
            }
        }
        let creds = &self.snapshot.credentials;
        self.rows
            .sort_by(|a, b| creds[*a].name.cmp(&creds[*b].name).then(a.cmp(b)));
    }

    pub fn count(&self, component: &str) -> usize {
        self.counts.get(component).copied().unwrap_or(0)
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
