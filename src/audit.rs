//! Re-verifying stored credentials in bulk (CLI `audit`, `credential verify --all`): the
//! verifier pool checks every credential and each result (with any new OAuth2 tokens) is
//! written into one open transaction as it arrives, so sealing and inserting overlap the
//! network wait; one durable commit follows the last answer. The credentials are verified
//! straight from the store's snapshot, never copied.

use std::collections::HashMap;

use crate::catalog::Component;
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
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Outcome>, StoreError> {
    let (outcomes, recorded) = {
        let snapshot = store.snapshot();
        let by_id: HashMap<&RecordId, &Credential> =
            snapshot.credentials.iter().map(|c| (&c.id, c)).collect();
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
        let mut recording = store.begin_recording(now)?;
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
