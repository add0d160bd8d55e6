//! Recording the results of rechecking stored credentials: each result becomes its
//! credential's latest, joining the newest history entry's run if it repeats that result and
//! starting a new entry otherwise, and new OAuth2 tokens rewrite the credential, in one
//! transaction; the snapshot changes only when the whole batch is durable.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use super::{apply_tokens, Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{RecordId, Verification};
use crate::verify::TokenUpdate;

impl Store {
    /// Stores many verification results (an audit's, the TUI's) in one durable write. Only
    /// credentials that got new tokens are rewritten; a changed result is a small append and a
    /// repeated one only moves its run on in the sequence record. A result for a credential
    /// deleted meanwhile is skipped.
    pub fn record_verifications(
        &mut self,
        results: Vec<(RecordId, Verification, Option<TokenUpdate>)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let credentials = &self.snapshot.credentials;
        let index: HashMap<&RecordId, usize> = credentials
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.id, i))
            .collect();
        // Each credential's newest result as the results so far leave it (the batch folds a
        // repeat into it, as into the vault's history).
        let mut newest: HashMap<usize, Option<Verification>> =
            HashMap::with_capacity(index.len().min(results.len()));
        let mut rewritten = Vec::new();
        self.vault.write_results(|batch| {
            for (id, result, tokens) in results {
                let Some(&pos) = index.get(&id) else {
                    continue;
                };
                if let Some(t) = &tokens {
                    let mut c = credentials[pos].clone();
                    apply_tokens(&mut c, t, now);
                    batch.put_credential(&c)?;
                    rewritten.push((pos, c));
                }
                let last = newest
                    .entry(pos)
                    .or_insert_with(|| credentials[pos].last_verification.clone());
                batch.recheck(&id, last, result)?;
            }
            Ok::<_, StoreError>(())
        })?;
        for (pos, c) in rewritten {
            self.snapshot.credentials[pos] = c;
        }
        for (pos, v) in newest {
            self.snapshot.credentials[pos].last_verification = v;
        }
        Ok(())
    }
}
