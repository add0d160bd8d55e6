//! Re-verifying stored credentials in bulk (CLI `audit`, `credential verify --all`): the
//! verifier pool checks every credential straight from the store's snapshot (nothing is
//! copied), reporting each result as it arrives; then every result (with any new OAuth2 tokens)
//! is written in one durable transaction.
//!
//! Writing after the last answer, not as each arrives, is measured (BENCHMARKS.md, "Audit"): on
//! 2 cores against a loopback server, sealing and inserting each result as the pool finished it
//! held up the pool (which is polled on the same thread) by more than twice the writing's own
//! time, and a writer thread only competed with the pool for the cores. Round by round, the
//! audit took 1.19-1.21x the bare client writing afterwards and 1.30-1.42x writing as results
//! arrived. The write transaction now also spans only the writing, not the network wait.

use foldhash::{HashMap, HashMapExt};

use crate::core::schema::Component;
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId, RuleError};
use crate::store::{Store, StoreError};
use crate::verify::{verify_all, Outcome, Progress, Verifier};

/// Verifies the stored credentials `items` names (each with its component) with at most
/// `concurrency` at a time, records every result in `store`, and returns the outcomes in input
/// order. An id that is not in the store is refused before anything is verified.
pub fn verify_and_record(
    runtime: &tokio::runtime::Runtime,
    store: &mut Store,
    verifier: &Verifier,
    concurrency: usize,
    items: &[(&Component, RecordId)],
    now: Timestamp,
    progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Outcome>, StoreError> {
    let outcomes = {
        let credentials = &store.snapshot().credentials;
        let mut by_id: HashMap<&RecordId, &Credential> = HashMap::with_capacity(credentials.len());
        by_id.extend(credentials.iter().map(|c| (&c.id, c)));
        let refs = items
            .iter()
            .map(|(component, id)| match by_id.get(id) {
                Some(c) => Ok((*component, *c)),
                None => Err(RuleError::NoSuchCredential {
                    workspace: String::new(),
                    name: id.to_string(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        runtime.block_on(verify_all(verifier, concurrency, &refs, now, progress))
    };
    let results = items
        .iter()
        .zip(&outcomes)
        .map(|((_, id), o)| (id.clone(), o.to_verification(now), o.tokens.clone()))
        .collect();
    store.record_verifications(results, now)?;
    Ok(outcomes)
}
