//! Re-verifying stored credentials in bulk (CLI `audit`, `credential verify --all`): the
//! verifier pool checks every credential, then all results (and any new OAuth2 tokens) are
//! recorded in one durable write. Recording in batches on a second thread while the pool runs
//! was measured and was slower on a 2-core machine (the writer competes with the pool for CPU
//! and pays one fsync per batch), so the write follows the verification.

use crate::catalog::Component;
use crate::core::time::Timestamp;
use crate::core::Credential;
use crate::store::{Store, StoreError};
use crate::verify::{verify_all, Outcome, Progress, Verifier};

/// Verifies `items` with at most `concurrency` at a time, records every result in `store`, and
/// returns the outcomes in input order.
pub fn verify_and_record(
    runtime: &tokio::runtime::Runtime,
    store: &mut Store,
    verifier: &Verifier,
    concurrency: usize,
    items: &[(Component, Credential)],
    now: Timestamp,
    progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Outcome>, StoreError> {
    let refs: Vec<(&Component, &Credential)> = items.iter().map(|(c, cred)| (c, cred)).collect();
    let outcomes = runtime.block_on(verify_all(verifier, concurrency, &refs, now, progress));
    let results = items
        .iter()
        .zip(&outcomes)
        .map(|((_, c), o)| (c.id.clone(), o.to_verification(now), o.tokens.clone()))
        .collect();
    store.record_verifications(results, now)?;
    Ok(outcomes)
}
