//! Re-verifying stored credentials in bulk: the CLI's `audit` and `credential verify --all`, and
//! the TUI's "verify all". Both record a run's results the same way: kept as they arrive
//! (`RunResults`), then written, with any new OAuth2 tokens, in one durable transaction after
//! the last answer (or when a run is stopped early: cancelled, locked, quit).
//!
//! Writing after the last answer, not as results arrive, is measured (BENCHMARKS.md, "Audit"):
//! on 2 cores against a loopback server, sealing and inserting each result as the pool finished
//! it held up the pool (which is polled on the same thread) by more than twice the writing's own
//! time, and a writer thread only competed with the pool for the cores: the TUI's former batches
//! of 25, committed by another thread during the run, took 1.57x the bare client where writing
//! afterwards took 1.15x. The write transaction also spans only the writing, not the network
//! wait.

use foldhash::{HashMap, HashMapExt};

use crate::core::schema::Component;
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId, RuleError, Verification};
use crate::store::{Checked, Recorded, Store, StoreError};
use crate::verify::{verify_all, Outcome, Progress, Verifier};

/// The results of one bulk run, kept until it ends and then recorded at once.
#[derive(Debug, Default)]
pub struct RunResults {
    results: Vec<Checked>,
}

impl RunResults {
    /// Keeps the result of checking revision `revision` of the stored credential `id` at `at`,
    /// with any tokens the check obtained; returns the result as it will be recorded (if the
    /// credential is still at that revision then).
    pub fn add(
        &mut self,
        id: RecordId,
        revision: u64,
        outcome: &Outcome,
        at: Timestamp,
    ) -> &Verification {
        self.results.push(Checked {
            id,
            revision,
            result: outcome.to_verification(at),
            tokens: outcome.tokens.clone(),
        });
        &self.results[self.results.len() - 1].result
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// Writes every result, and the tokens that came with them, in one durable transaction;
    /// a result for a credential changed (or deleted) since its check is left out, and named.
    pub fn record(self, store: &mut Store, now: Timestamp) -> Result<Recorded, StoreError> {
        store.record_verifications(self.results, now)
    }
}

/// Verifies the stored credentials `items` names (each with its component) with at most
/// `concurrency` at a time, records every result in `store`, and returns the outcomes in input
/// order, with what was not recorded: a credential another process changed or deleted while it
/// was being checked keeps the state its new revision has. An id that is not in the store is
/// refused before anything is verified.
pub fn verify_and_record(
    runtime: &tokio::runtime::Runtime,
    store: &mut Store,
    verifier: &Verifier,
    concurrency: usize,
    items: &[(&Component, RecordId)],
    now: Timestamp,
    progress: impl FnMut(Progress<'_>),
) -> Result<(Vec<Outcome>, Recorded), StoreError> {
    // The revision each check verifies: its result belongs to that one only.
    let mut revisions = Vec::with_capacity(items.len());
    let outcomes = {
        let credentials = &store.snapshot().credentials;
        let mut by_id: HashMap<&RecordId, &Credential> = HashMap::with_capacity(credentials.len());
        by_id.extend(credentials.iter().map(|c| (&c.id, c)));
        let refs = items
            .iter()
            .map(|(component, id)| match by_id.get(id) {
                Some(c) => {
                    revisions.push(c.revision.number);
                    Ok((*component, *c))
                }
                None => Err(RuleError::NoSuchCredential {
                    workspace: String::new(),
                    name: id.to_string(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        runtime.block_on(verify_all(verifier, concurrency, &refs, now, progress))
    };
    let mut results = RunResults::default();
    for (((_, id), outcome), revision) in items.iter().zip(&outcomes).zip(revisions) {
        results.add(id.clone(), revision, outcome, now);
    }
    let recorded = results.record(store, now)?;
    Ok((outcomes, recorded))
}
