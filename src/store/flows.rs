//! Flow operations of the store: every change checked by the core's flow rules (own workspace,
//! own component, an active flow only on working credentials), then written durably.

use super::{Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{Environment, Flow, FlowStep, RecordId, RuleError};
use crate::vault::crypto::fresh_id;

impl Store {
    /// Writes a flow after checking its name, its steps (own workspace, own component) and, for
    /// an active flow, that no step runs on a missing or failing credential.
    pub fn save_flow(&mut self, flow: Flow) -> Result<(), StoreError> {
        let workspace = self
            .snapshot
            .workspace(&flow.workspace)
            .ok_or_else(|| RuleError::NoSuchWorkspace(flow.workspace.to_string()))?
            .clone();
        self.snapshot
            .check_flow_name(&workspace, &flow.name, Some(&flow.id))?;
        self.snapshot.check_flow_steps(&flow)?;
        if flow.active {
            self.snapshot.check_flow_ready(&flow)?;
        }
        self.vault.put_flow(&flow)?;
        match self.snapshot.flows.iter_mut().find(|f| f.id == flow.id) {
            Some(slot) => *slot = flow,
            None => self.snapshot.flows.push(flow),
        }
        Ok(())
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
        let flow = Flow {
            id: fresh_id(),
            workspace: workspace.clone(),
            name: name.to_string(),
            environment,
            steps,
            active,
            created_at: now,
            updated_at: now,
        };
        self.save_flow(flow.clone())?;
        Ok(flow)
    }

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
        self.save_flow(flow.clone())?;
        Ok(flow)
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
        self.save_flow(flow.clone())?;
        Ok(flow)
    }

    /// Replaces one credential by another in every flow that uses it, in one transaction (a
    /// rotated credential taking over). Returns the names of the flows changed.
    pub fn rebind_everywhere(
        &mut self,
        old: &RecordId,
        new: &RecordId,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut changed = Vec::new();
        for f in self.snapshot.flows.iter().filter(|f| f.uses(old)) {
            let mut f = f.clone();
            for step in f.steps.iter_mut().filter(|s| &s.credential == old) {
                step.credential = new.clone();
            }
            f.updated_at = now;
            self.snapshot.check_flow_steps(&f)?;
            if f.active {
                self.snapshot.check_flow_ready(&f)?;
            }
            changed.push(f);
        }
        self.vault.put_flows(&changed)?;
        let names = changed.iter().map(|f| f.name.clone()).collect();
        for f in changed {
            if let Some(slot) = self.snapshot.flows.iter_mut().find(|x| x.id == f.id) {
                *slot = f;
            }
        }
        Ok(names)
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
        };
        if promoted.steps.len() != original.steps.len() {
            return Err(RuleError::EmptyFlow.into());
        }
        // An active flow keeps its state only if it can run on the new credentials.
        if promoted.active && self.snapshot.check_flow_ready(&promoted).is_err() {
            promoted.active = false;
        }
        self.save_flow(promoted.clone())?;
        Ok(promoted)
    }

    pub fn remove_flow(&mut self, id: &RecordId) -> Result<(), StoreError> {
        self.vault.delete_flow(id)?;
        self.snapshot.flows.retain(|f| &f.id != id);
        Ok(())
    }
}
