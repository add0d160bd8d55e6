//! What a write transaction changed in memory (the snapshot, and the vault's own state), kept so
//! that a write that does not commit leaves the store exactly as it was: the snapshot is still
//! what the face last saw, so the next change is again based on what the user saw.
//!
//! Only what changed is kept: the records replaced or removed (moved here, not cloned), and the
//! vault's state as it was the first time it changed.

use super::sequences::Positions;
use super::State;
use crate::core::Snapshot;
use crate::core::{Credential, Flow, Verification, Workspace};

/// One change to a list of records.
pub(crate) enum Edit<T> {
    Replaced(usize, T),
    Pushed,
    Removed(usize, T),
}

impl<T> Edit<T> {
    fn undo(self, records: &mut Vec<T>) {
        match self {
            Edit::Replaced(i, old) => records[i] = old,
            Edit::Pushed => {
                records.pop();
            }
            Edit::Removed(i, old) => records.insert(i, old),
        }
    }
}

pub(crate) enum Step {
    Workspaces(Edit<Workspace>),
    Credentials(Edit<Credential>),
    Flows(Edit<Flow>),
    /// The latest result of the credential at this index, as it was.
    Latest(usize, Option<Verification>),
    /// The whole snapshot, replaced by a full reload.
    Whole(Box<Snapshot>),
}

/// The vault's state as it was before the transaction first changed it.
struct Saved {
    header: super::header::Header,
    header_bytes: Vec<u8>,
    generation: Option<u64>,
    digest: Option<super::digest::Digest>,
}

#[derive(Default)]
pub(crate) struct Journal {
    steps: Vec<Step>,
    saved: Option<Saved>,
    positions: Option<Positions>,
    /// The data key before a refresh inside this transaction followed another member's
    /// re-key (the first one only).
    key: Option<super::crypto::DataKey>,
}

impl Journal {
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Keeps the state's header, generation and record digest, the first time only.
    pub fn save_state(&mut self, state: &State) {
        if self.saved.is_none() {
            self.saved = Some(Saved {
                header: state.header.clone(),
                header_bytes: state.header_bytes.clone(),
                generation: state.generation,
                digest: state.digest.clone(),
            });
        }
    }

    /// Keeps the positions as they were before this transaction replaced them (the first
    /// time only; later ones are dropped).
    pub fn save_positions(&mut self, old: Positions) {
        if self.positions.is_none() {
            self.positions = Some(old);
        }
    }

    /// Keeps the data key as it was before a re-key was followed (the first time only).
    pub fn save_key(&mut self, old: super::crypto::DataKey) {
        if self.key.is_none() {
            self.key = Some(old);
        }
    }

    /// Whether the positions were saved already (then a later change needs no copy).
    pub fn has_positions(&self) -> bool {
        self.positions.is_some()
    }

    /// Puts everything back as it was before the transaction.
    pub fn roll_back(self, state: &mut State, snapshot: &mut Snapshot) {
        for step in self.steps.into_iter().rev() {
            match step {
                Step::Workspaces(e) => e.undo(&mut snapshot.workspaces),
                Step::Credentials(e) => e.undo(&mut snapshot.credentials),
                Step::Flows(e) => e.undo(&mut snapshot.flows),
                Step::Latest(i, old) => snapshot.credentials[i].last_verification = old,
                Step::Whole(old) => *snapshot = *old,
            }
        }
        if let Some(saved) = self.saved {
            state.header = saved.header;
            state.header_bytes = saved.header_bytes;
            state.generation = saved.generation;
            state.digest = saved.digest;
        }
        if let Some(positions) = self.positions {
            state.positions = positions;
        }
        if let Some(key) = self.key {
            state.key = key;
        }
    }
}
