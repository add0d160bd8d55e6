//! Writing verification results (and credentials whose tokens changed) in one transaction:
//! audits, single saves, imports and the format migrations all write through it.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use redb::WriteTransaction;

use super::header::Header;
use super::results::{self, SealedResult};
use super::sequences::{self, Position, Repeats};
use super::tables::{CREDENTIALS, CREDENTIALS_NAME, FORMAT2_LATEST, HEADER_KEY, HISTORY, META};
use super::{guard, storage, Vault, VaultError};
use crate::core::{Credential, Recheck, RecordId, Verification, HISTORY_LIMIT};

/// Results are inserted in groups of this many: one table open per group instead of per result.
const GROUP: usize = 32;

/// An open write transaction for results. Dropping it without `commit` writes nothing.
pub struct ResultBatch<'v> {
    vault: &'v Vault,
    txn: WriteTransaction,
    /// Positions changed in this batch (the vault's own move on at commit).
    positions: HashMap<RecordId, Position>,
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
            positions: HashMap::new(),
            pending: Vec::with_capacity(GROUP),
        };
        let out = fill(&mut batch)?;
        let positions = batch.commit()?;
        self.positions.extend(positions);
        Ok(out)
    }
}

impl ResultBatch<'_> {
    /// Records `result`, from rechecking an unchanged credential, and updates `newest` (the
    /// credential's newest result, as the vault gave it or the previous call left it) by
    /// `Verification::record_recheck`: a repeat joins the newest entry's run, which writes no
    /// entry (only the sequence record moves on); anything else is a new entry.
    pub fn recheck(
        &mut self,
        credential: &RecordId,
        newest: &mut Option<Verification>,
        result: Verification,
    ) -> Result<(), VaultError> {
        let position = self.position(credential);
        match Verification::record_recheck(newest, result) {
            (Recheck::Repeated, run) if position.next > 0 => {
                let repeats = Some(Repeats::of(run));
                self.set_position(
                    credential,
                    Position {
                        repeats,
                        ..position
                    },
                );
                Ok(())
            }
            // A newest result with no entry behind it cannot be stored as a run: it becomes
            // the first entry, run and all. (The store never holds one; this keeps them equal.)
            (_, new) => self.add(credential, new),
        }
    }

    /// Adds a result as a new history entry: it becomes the credential's newest. If the newest
    /// so far heads a run, the run's final state (its repeats, from the sequence record) is
    /// stored with the new entry, which holds it from then on (results.rs, `Ended`).
    pub fn add(&mut self, credential: &RecordId, result: &Verification) -> Result<(), VaultError> {
        let position = self.position(credential);
        let v = self.vault;
        let sealed = results::seal(
            &v.key,
            &v.header.vault_id,
            credential,
            position.next,
            result,
            position.repeats.as_ref(),
        );
        self.pending.push(sealed);
        if self.pending.len() >= GROUP {
            self.flush()?;
        }
        self.set_position(credential, Position::new(position.next + 1));
        Ok(())
    }

    /// The credential's position: as this batch left it, else as the vault has it.
    fn position(&self, credential: &RecordId) -> Position {
        let v = self.vault;
        (self.positions.get(credential))
            .or_else(|| v.positions.get(credential))
            .copied()
            .unwrap_or(Position::new(0))
    }

    /// Sets the credential's position in this batch, cloning its id only the first time.
    fn set_position(&mut self, credential: &RecordId, position: Position) {
        match self.positions.get_mut(credential) {
            Some(slot) => *slot = position,
            None => {
                self.positions.insert(credential.clone(), position);
            }
        }
    }

    /// Adds a whole history (newest first, as it is shown and exported) to a credential that
    /// has none: oldest first, each entry as it is, runs included, so the newest becomes the
    /// credential's latest result. Beyond HISTORY_LIMIT nothing would be kept.
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

    /// Makes everything added durable, in one commit; returns the positions it changed.
    fn commit(mut self) -> Result<HashMap<RecordId, Position>, VaultError> {
        self.flush()?;
        let v = self.vault;
        // Every credential's position: this batch's, else the vault's.
        let changed = &self.positions;
        let all = v
            .positions
            .iter()
            .filter(|(id, _)| !changed.contains_key(*id))
            .chain(changed);
        let sealed = sequences::seal(&v.key, &v.header.vault_id, all);
        self.insert("writing", |txn| sequences::put(txn, &sealed))?;
        let path = &self.vault.path;
        let txn = self.txn;
        guard::guarded(path, "writing", || {
            txn.commit().map_err(|e| storage(path, e))
        })?;
        Ok(self.positions)
    }
}
