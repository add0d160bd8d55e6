//! Flow operations of the store: every change checked by the core's flow rules (own workspace,
//! own component, an active flow only on working credentials) against the vault as it is inside
//! the write transaction, then written over the revision it was based on.

use super::{Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{Environment, Flow, FlowStep, RecordId, Revision, RuleError};
use crate::vault::{crypto::fresh_id, Change};

/// The rules a flow must pass to be written, as the vault is now.
fn check_flow(change: &Change<'_>, flow: &Flow) -> Result<(), StoreError> {
    let s = change.snapshot();
    let workspace = s
        .workspace(&flow.workspace)
        .ok_or_else(|| RuleError::NoSuchWorkspace(flow.workspace.to_string()))?;
    s.check_flow_name(workspace, &flow.name, Some(&flow.id))?;
    s.check_flow_steps(flow)?;
    if flow.active {
        s.check_flow_ready(flow)?;
    }
    Ok(())
}

impl Store {
    /// Writes a flow (over the revision it carries; 0 for a new one) after checking its name,
    /// its steps (own workspace, own component) and, for an active flow, that no step runs on a
    /// missing or failing credential.
    pub fn save_flow(&mut self, flow: Flow) -> Result<(), StoreError> {
        self.write_flow(flow).map(drop)
    }

    fn write_flow(&mut self, flow: Flow) -> Result<Flow, StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            check_flow(change, &flow)?;
            Ok(change.put_flow(flow)?)
        })
    }

    /// Creates a flow.
    pub fn add_flow(
        &mut self,
        workspace: &RecordId,
        name: &str,
        environment: Environment,
        steps: Vec<FlowStep>,
        active: bool,
        now: Timestamp,
    ) -> Result<Flow, StoreError> {
        self.write_flow(Flow {
            id: fresh_id(),
            workspace: workspace.clone(),
            name: name.to_string(),
            environment,
            steps,
            active,
            created_at: now,
            updated_at: now,
            revision: Revision::default(),
        })
    }

    /// The flow as this process read it: what a change of it is based on.
    fn flow_copy(&self, id: &RecordId) -> Result<Flow, StoreError> {
        self.snapshot.flow(id).cloned().ok_or_else(|| {
            RuleError::NoSuchFlow {
                workspace: String::new(),
                name: id.to_string(),
            }
            .into()
        })
    }

    pub fn set_flow_active(
        &mut self,
        id: &RecordId,
        active: bool,
        now: Timestamp,
    ) -> Result<Flow, StoreError> {
        let mut flow = self.flow_copy(id)?;
        flow.active = active;
        flow.updated_at = now;
        self.write_flow(flow)
    }

    /// Points the flow's steps of `component` at another credential (of that component).
    pub fn rebind_flow(
        &mut self,
        id: &RecordId,
        component: &str,
        credential: &RecordId,
        now: Timestamp,
    ) -> Result<Flow, StoreError> {
        let mut flow = self.flow_copy(id)?;
        let mut found = false;
        for step in flow.steps.iter_mut().filter(|s| s.component == component) {
            step.credential = credential.clone();
            found = true;
        }
        if !found {
            return Err(RuleError::NoSuchStep {
                flow: flow.name,
                component: component.to_string(),
            }
            .into());
        }
        flow.updated_at = now;
        self.write_flow(flow)
    }

    /// Replaces one credential by another in every flow that uses it, in one transaction (a
    /// rotated credential taking over), as the vault is now. Returns the names of the flows
    /// changed.
    pub fn rebind_everywhere(
        &mut self,
        old: &RecordId,
        new: &RecordId,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            let using: Vec<Flow> = change
                .snapshot()
                .flows
                .iter()
                .filter(|f| f.uses(old))
                .cloned()
                .collect();
            let mut names = Vec::new();
            for mut f in using {
                for step in f.steps.iter_mut().filter(|s| &s.credential == old) {
                    step.credential = new.clone();
                }
                f.updated_at = now;
                check_flow(change, &f)?;
                names.push(change.put_flow(f)?.name);
            }
            Ok(names)
        })
    }

    /// Promotes a flow to `target` with the given bindings (one per step, in order). The copy
    /// is named `new_name`; with `move_flow` the original is replaced instead of kept.
    pub fn promote_flow(
        &mut self,
        id: &RecordId,
        target: Environment,
        bindings: Vec<RecordId>,
        new_name: &str,
        move_flow: bool,
        now: Timestamp,
    ) -> Result<Flow, StoreError> {
        let original = self.flow_copy(id)?;
        if original.environment == target {
            return Err(RuleError::AlreadyInEnvironment {
                flow: original.name,
                environment: target.to_string(),
            }
            .into());
        }
        let steps = original
            .steps
            .iter()
            .zip(bindings)
            .map(|(s, credential)| FlowStep {
                component: s.component.clone(),
                credential,
            })
            .collect::<Vec<_>>();
        let mut promoted = Flow {
            id: if move_flow {
                original.id.clone()
            } else {
                fresh_id()
            },
            workspace: original.workspace.clone(),
            name: new_name.to_string(),
            environment: target,
            steps,
            active: original.active,
            created_at: if move_flow { original.created_at } else { now },
            updated_at: now,
            // Moved: a change of the original, based on the revision read; copied: new.
            revision: if move_flow {
                original.revision.clone()
            } else {
                Revision::default()
            },
        };
        if promoted.steps.len() != original.steps.len() {
            return Err(RuleError::EmptyFlow.into());
        }
        self.vault.write(&mut self.snapshot, |change| {
            // An active flow keeps its state only if it can run on the new credentials.
            if promoted.active && change.snapshot().check_flow_ready(&promoted).is_err() {
                promoted.active = false;
            }
            check_flow(change, &promoted)?;
            Ok(change.put_flow(promoted)?)
        })
    }

    pub fn remove_flow(&mut self, id: &RecordId) -> Result<(), StoreError> {
        let based_on = self.flow_copy(id)?.revision.number;
        self.vault.write(&mut self.snapshot, |change| {
            change.delete_flow(id, based_on)?;
            Ok(())
        })
    }
}
