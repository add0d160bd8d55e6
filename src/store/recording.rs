//! Recording the results of rechecking stored credentials: each result becomes its
//! credential's latest, joining the newest history entry's run if it repeats that result and
//! starting a new entry otherwise, and new OAuth2 tokens rewrite the credential, in one
//! transaction. A result belongs to the revision it verified: one for a credential that was
//! changed (or deleted) while it was being checked is not recorded, so a new secret saved
//! meanwhile is never marked verified by a check of the old one.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use super::{apply_tokens, Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{RecordId, Verification};
use crate::verify::TokenUpdate;

/// The result of checking revision `revision` of credential `id`.
#[derive(Debug, Clone)]
pub struct Checked {
    pub id: RecordId,
    pub revision: u64,
    pub result: Verification,
    pub tokens: Option<TokenUpdate>,
}

/// What recording a batch of results did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Credentials whose result was not recorded: changed or deleted since they were checked.
    pub stale: Vec<RecordId>,
}

impl Store {
    /// Stores many verification results (an audit's, the TUI's) in one durable write. Only
    /// credentials that got new tokens are rewritten; a changed result is a small append and a
    /// repeated one only moves its run on in the sequence record.
    pub fn record_verifications(
        &mut self,
        results: Vec<Checked>,
        now: Timestamp,
    ) -> Result<Recorded, StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            let mut recorded = Recorded::default();
            // Each credential's newest result as the results so far leave it (the batch folds
            // a repeat into it, as into the vault's history).
            let mut newest: HashMap<RecordId, Option<Verification>> =
                HashMap::with_capacity(results.len());
            for checked in results {
                let current = change
                    .snapshot()
                    .credential(&checked.id)
                    .filter(|c| c.revision.number == checked.revision);
                let Some(current) = current else {
                    recorded.stale.push(checked.id);
                    continue;
                };
                let last = current.last_verification.clone();
                let refreshed = checked.tokens.as_ref().map(|t| {
                    let mut c = current.clone();
                    apply_tokens(&mut c, t, now);
                    c
                });
                if let Some(c) = refreshed {
                    change.put_credential(c)?;
                }
                let slot = newest.entry(checked.id.clone()).or_insert(last);
                change.recheck(&checked.id, slot, checked.result)?;
            }
            Ok::<_, StoreError>(recorded)
        })
    }
}
