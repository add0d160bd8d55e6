//! Everything in a vault, decrypted, and how to find things in it: the view the rules
//! (rules.rs) judge against and both faces read.

use super::domain::*;
use super::error::RuleError;
use super::names::same_name;

/// Everything in a vault, decrypted: the view the rules judge against.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub workspaces: Vec<Workspace>,
    pub credentials: Vec<Credential>,
    pub flows: Vec<Flow>,
}

impl Snapshot {
    pub fn workspace_by_name(&self, name: &str) -> Result<&Workspace, RuleError> {
        self.workspaces
            .iter()
            .find(|w| same_name(&w.name, name))
            .ok_or_else(|| RuleError::NoSuchWorkspace(name.to_string()))
    }

    pub fn workspace(&self, id: &RecordId) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| &w.id == id)
    }

    pub fn credentials_in(&self, workspace: &RecordId) -> impl Iterator<Item = &Credential> + '_ {
        let workspace = workspace.clone();
        self.credentials
            .iter()
            .filter(move |c| c.workspace == workspace)
    }

    pub fn flows_in(&self, workspace: &RecordId) -> impl Iterator<Item = &Flow> + '_ {
        let workspace = workspace.clone();
        self.flows.iter().filter(move |f| f.workspace == workspace)
    }

    pub fn credential(&self, id: &RecordId) -> Option<&Credential> {
        self.credentials.iter().find(|c| &c.id == id)
    }

    pub fn flow(&self, id: &RecordId) -> Option<&Flow> {
        self.flows.iter().find(|f| &f.id == id)
    }

    /// Finds a credential by name in a workspace; `component` disambiguates when two components
    /// hold credentials of the same name.
    pub fn credential_by_name(
        &self,
        workspace: &Workspace,
        name: &str,
        component: Option<&str>,
    ) -> Result<&Credential, RuleError> {
        let found: Vec<&Credential> = self
            .credentials_in(&workspace.id)
            .filter(|c| {
                same_name(&c.name, name) && component.is_none_or(|comp| c.component == comp)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(RuleError::NoSuchCredential {
                workspace: workspace.name.clone(),
                name: name.to_string(),
            }),
            many => Err(RuleError::AmbiguousCredential {
                workspace: workspace.name.clone(),
                name: name.to_string(),
                components: many
                    .iter()
                    .map(|c| c.component.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    pub fn flow_by_name(&self, workspace: &Workspace, name: &str) -> Result<&Flow, RuleError> {
        self.flows_in(&workspace.id)
            .find(|f| same_name(&f.name, name))
            .ok_or_else(|| RuleError::NoSuchFlow {
                workspace: workspace.name.clone(),
                name: name.to_string(),
            })
    }

    /// How many credentials each component has in a workspace.
    pub fn counts_by_component(
        &self,
        workspace: &RecordId,
    ) -> std::collections::HashMap<&str, usize> {
        let mut counts = std::collections::HashMap::new();
        for c in self.credentials_in(workspace) {
            *counts.entry(c.component.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// Flows (active or not) that use a credential.
    pub fn flows_using(&self, credential: &RecordId) -> impl Iterator<Item = &Flow> + '_ {
        let credential = credential.clone();
        self.flows.iter().filter(move |f| f.uses(&credential))
    }
}
