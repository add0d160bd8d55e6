//! Re-verifying stored credentials in bulk (CLI `audit`, `credential verify --all`): the
//! verifier pool checks every credential straight from the store's snapshot (nothing is
//! copied) and each result (with any new OAuth2 tokens) is written into one open transaction
//! as it arrives; one durable commit follows the last answer, so a result never waits for the
//! whole run to be sealed and inserted.
//!
//! Measured on 2 cores against a loopback server (BENCHMARKS.md, "Audit"): writing as results
//! arrive was a little faster than writing after the run (median ratio 1.30 against 1.38), and
//! handing results to a writer thread was slower (1.44 to 1.71): the client is CPU-bound there,
//! so a second thread only competes with the pool.

use crate::catalog::Component;
use crate::core::time::Timestamp;
use crate::core::{RecordId, RuleError};
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
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Outcome>, StoreError> {
    let (outcomes, recorded) = {
        let mut recording = store.begin_recording(now)?;
        let refs = items
            .iter()
            .map(|(component, id)| match recording.credential(id) {
                Some(c) => Ok((*component, c)),
                None => Err(RuleError::NoSuchCredential {
                    workspace: String::new(),
                    name: id.to_string(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut failed = None;
        let outcomes = runtime.block_on(verify_all(verifier, concurrency, &refs, now, |p| {
            if failed.is_none() {
                let id = &refs[p.index].1.id;
                let result = p.outcome.to_verification(now);
                if let Err(e) = recording.add(id, result, p.outcome.tokens.as_ref()) {
                    // Dropping the recording discards the batch: nothing is half-written.
                    failed = Some(e);
                }
            }
            progress(p);
        }));
        if let Some(e) = failed {
            return Err(e);
        }
        (outcomes, recording.finish()?)
    };
    store.apply_recorded(recorded);
    Ok(outcomes)
}
