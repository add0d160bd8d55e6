//! Writing verification results (and credentials whose tokens changed) in one transaction:
//! audits, single saves, imports and the format migrations all write through it.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use redb::WriteTransaction;

use super::header::Header;
use super::results::{self, SealedResult};
use super::sequences;
use super::tables::{CREDENTIALS, CREDENTIALS_NAME, FORMAT2_LATEST, HEADER_KEY, HISTORY, META};
use super::{guard, storage, Vault, VaultError};
use crate::core::{Credential, RecordId, Verification, HISTORY_LIMIT};

/// Results are inserted in groups of this many: one table open per group instead of per result.
const GROUP: usize = 32;

/// An open write transaction for results. Dropping it without `commit` writes nothing.
pub struct ResultBatch<'v> {
    vault: &'v Vault,
    txn: WriteTransaction,
    /// Sequence numbers handed out in this batch (the vault's own move on at commit).
    next_seq: HashMap<RecordId, u64>,
    pending: Vec<SealedResult>,
}

impl Vault {
    /// Runs `fill` on a new batch and makes what it added durable in one commit; the next
    /// results then continue the sequence. If `fill` fails, nothing is written. The vault's
    /// write lock is held meanwhile.
    pub fn write_results<R, E: From<VaultError>>(
        &mut self,
        fill: impl FnOnce(&mut ResultBatch<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let txn = guard::guarded(&self.path, "writing", || self.begin_write())?;
        let mut batch = ResultBatch {
            vault: self,
            txn,
            next_seq: HashMap::new(),
            pending: Vec::with_capacity(GROUP),
        };
        let out = fill(&mut batch)?;
        let next_seq = batch.commit()?;
        self.next_seq.extend(next_seq);
        Ok(out)
    }
}

impl ResultBatch<'_> {
    /// Adds a result: it becomes the credential's latest and joins its history.
    pub fn add(&mut self, credential: &RecordId, result: &Verification) -> Result<(), VaultError> {
        let v = self.vault;
        let seq = match self.next_seq.get_mut(credential) {
            Some(next) => next,
            None => self
                .next_seq
                .entry(credential.clone())
                .or_insert_with(|| v.next_seq.get(credential).copied().unwrap_or(0)),
        };
        let sealed = results::seal(&v.key, &v.header.vault_id, credential, *seq, result);
        *seq += 1;
        self.pending.push(sealed);
        if self.pending.len() >= GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds a whole history (newest first, as it is shown and exported): oldest first, so the
    /// newest becomes the credential's latest result. Beyond HISTORY_LIMIT nothing would be kept.
    pub fn add_history(
        &mut self,
        credential: &RecordId,
        newest_first: &[Verification],
    ) -> Result<(), VaultError> {
        for v in newest_first.iter().take(HISTORY_LIMIT).rev() {
            self.add(credential, v)?;
        }
        Ok(())
    }

    /// Rewrites a credential record (new OAuth2 tokens) in the same transaction.
    pub fn put_credential(&mut self, credential: &Credential) -> Result<(), VaultError> {
        let v = self.vault;
        let sealed = v.seal_record(CREDENTIALS_NAME, &credential.id, credential);
        self.insert("writing", |txn| {
            txn.open_table(CREDENTIALS)?
                .insert(credential.id.as_str(), sealed.as_slice())?;
            Ok(())
        })
    }

    /// Replaces the header in the same transaction (a format migration).
    pub(super) fn put_header(&mut self, header: &Header) -> Result<(), VaultError> {
        let encoded = header.encode();
        self.insert("migrating", |txn| {
            txn.open_table(META)?
                .insert(HEADER_KEY, encoded.as_slice())?;
            Ok(())
        })
    }

    /// Puts stored result bytes back into a ring slot as they are (a format-2 migration).
    pub(super) fn put_stored(
        &mut self,
        credential: &RecordId,
        slot: u8,
        bytes: &[u8],
    ) -> Result<(), VaultError> {
        self.insert("migrating", |txn| {
            txn.open_table(HISTORY)?
                .insert((slot, credential.as_str()), bytes)?;
            Ok(())
        })
    }

    /// Deletes format 2's latest-result table, if the file has one (a migration).
    pub(super) fn drop_format2_latest(&mut self) -> Result<(), VaultError> {
        self.insert("migrating", |txn| {
            txn.delete_table(FORMAT2_LATEST)?;
            Ok(())
        })
    }

    /// Runs one write inside the open transaction, under the panic guard.
    fn insert(
        &self,
        what: &str,
        write: impl FnOnce(&WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), VaultError> {
        let (path, txn) = (&self.vault.path, &self.txn);
        guard::guarded(path, what, || write(txn).map_err(|e| storage(path, e)))
    }

    fn flush(&mut self) -> Result<(), VaultError> {
        self.insert("writing", |txn| results::insert(txn, &self.pending))?;
        self.pending.clear();
        Ok(())
    }

    /// Makes everything added durable, in one commit; returns the sequence numbers it handed out.
    fn commit(mut self) -> Result<HashMap<RecordId, u64>, VaultError> {
        self.flush()?;
        let v = self.vault;
        // Every credential's next number: this batch's, else the vault's.
        let batch_next = &self.next_seq;
        let next = v
            .next_seq
            .iter()
            .filter(|(id, _)| !batch_next.contains_key(*id))
            .chain(batch_next)
            .map(|(id, n)| (id, *n));
        let sealed = sequences::seal(&v.key, &v.header.vault_id, next);
        self.insert("writing", |txn| sequences::put(txn, &sealed))?;
        let path = &self.vault.path;
        let txn = self.txn;
        guard::guarded(path, "writing", || {
            txn.commit().map_err(|e| storage(path, e))
        })?;
        Ok(self.next_seq)
    }
}
