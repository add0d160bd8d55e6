//! Recording verification results: each result becomes its credential's latest and joins its
//! history, and new OAuth2 tokens rewrite the credential, in one transaction; the snapshot
//! changes only when the whole batch is durable.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::HashMap;

use super::{apply_tokens, Store, StoreError};
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId, Verification};
use crate::vault::{Committed, ResultBatch};
use crate::verify::TokenUpdate;

/// Results being written; borrows the store's snapshot.
struct Recording<'s> {
    batch: ResultBatch<'s>,
    position: HashMap<&'s RecordId, usize>,
    credentials: &'s [Credential],
    now: Timestamp,
    results: Vec<(usize, Verification)>,
    rewritten: Vec<(usize, Credential)>,
}

/// A durable batch, to be applied to the store's snapshot.
#[must_use = "pass it to Store::apply_recorded"]
struct Recorded {
    committed: Committed,
    results: Vec<(usize, Verification)>,
    rewritten: Vec<(usize, Credential)>,
}

impl Store {
    /// Starts recording results; nothing is visible until `finish` and `apply_recorded`.
    fn begin_recording(&self, now: Timestamp) -> Result<Recording<'_>, StoreError> {
        let credentials = self.snapshot.credentials.as_slice();
        Ok(Recording {
            batch: self.vault.begin_results()?,
            position: credentials
                .iter()
                .enumerate()
                .map(|(i, c)| (&c.id, i))
                .collect(),
            credentials,
            now,
            results: Vec::new(),
            rewritten: Vec::new(),
        })
    }

    /// Applies a committed batch to the snapshot.
    fn apply_recorded(&mut self, recorded: Recorded) {
        self.vault.committed(recorded.committed);
        for (pos, c) in recorded.rewritten {
            self.snapshot.credentials[pos] = c;
        }
        for (pos, v) in recorded.results {
            self.snapshot.credentials[pos].record_verification(v);
        }
    }

    /// Stores many verification results (an audit's, the TUI's) in one durable write. Only
    /// credentials that got new tokens are rewritten; a result alone is a small append.
    pub fn record_verifications(
        &mut self,
        results: Vec<(RecordId, Verification, Option<TokenUpdate>)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut recording = self.begin_recording(now)?;
        for (id, result, tokens) in results {
            recording.add(&id, result, tokens.as_ref())?;
        }
        let recorded = recording.finish()?;
        self.apply_recorded(recorded);
        Ok(())
    }
}

impl<'s> Recording<'s> {
    /// Adds one result (and the tokens it obtained). A credential deleted meanwhile is skipped.
    fn add(
        &mut self,
        id: &RecordId,
        result: Verification,
        tokens: Option<&TokenUpdate>,
    ) -> Result<(), StoreError> {
        let Some(&pos) = self.position.get(id) else {
            return Ok(());
        };
        if let Some(t) = tokens {
            let mut c = self.credentials[pos].clone();
            apply_tokens(&mut c, t, self.now);
            self.batch.put_credential(&c)?;
            self.rewritten.push((pos, c));
        }
        self.batch.add(id, &result)?;
        self.results.push((pos, result));
        Ok(())
    }

    /// Makes every added result durable in one commit.
    fn finish(self) -> Result<Recorded, StoreError> {
        Ok(Recorded {
            committed: self.batch.commit()?,
            results: self.results,
            rewritten: self.rewritten,
        })
    }
}
