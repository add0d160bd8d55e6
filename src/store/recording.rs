//! Recording verification results: each result becomes its credential's latest and joins its
//! history, and new OAuth2 tokens rewrite the credential, in one transaction; the snapshot
//! changes only when the whole batch is durable.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::HashMap;

use super::{apply_tokens, Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{RecordId, Verification};
use crate::verify::TokenUpdate;

impl Store {
    /// Stores many verification results (an audit's, the TUI's) in one durable write. Only
    /// credentials that got new tokens are rewritten; a result alone is a small append. A
    /// result for a credential deleted meanwhile is skipped.
    pub fn record_verifications(
        &mut self,
        results: Vec<(RecordId, Verification, Option<TokenUpdate>)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let credentials = &self.snapshot.credentials;
        let position: HashMap<&RecordId, usize> = credentials
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.id, i))
            .collect();
        let mut recorded = Vec::with_capacity(results.len());
        let mut rewritten = Vec::new();
        self.vault.write_results(|batch| {
            for (id, result, tokens) in results {
                let Some(&pos) = position.get(&id) else {
                    continue;
                };
                if let Some(t) = &tokens {
                    let mut c = credentials[pos].clone();
                    apply_tokens(&mut c, t, now);
                    batch.put_credential(&c)?;
                    rewritten.push((pos, c));
                }
                batch.add(&id, &result)?;
                recorded.push((pos, result));
            }
            Ok::<_, StoreError>(())
        })?;
        for (pos, c) in rewritten {
            self.snapshot.credentials[pos] = c;
        }
        for (pos, v) in recorded {
            self.snapshot.credentials[pos].record_verification(v);
        }
        Ok(())
    }
}
