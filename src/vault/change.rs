//! One write transaction, as the store sees it: the snapshot as the vault is now (brought up to
//! date under the write lock), and the changes to make. Each record is written only over the
//! revision it was based on; a record that moved on meanwhile is a conflict carrying both
//! versions. Changes apply to the snapshot as they are made, so the rules of a later step in the
//! same transaction see them; if the transaction does not commit, the journal puts the snapshot
//! (and the vault's state) back as they were before it began (journal.rs).
//!
//! Verification results go through here too: audits, single saves, imports and the format
//! migrations all write them in the same transaction as the records they belong to.

// foldhash rather than SipHash, for maps keyed by record ids: see vault/mod.rs.
use foldhash::{HashMap, HashMapExt};

use super::crypto::DataKey;
use super::digest::{shard_of, Digest, ShardSet, SHARDS};
use super::header::Header;
use super::journal::{Edit, Journal, Step};
use super::records::{self, Record};
use super::sequences::{self, Position, Repeats};
use super::shards;
use super::storage::{StoredResult, WriteTxn};
use super::{keyslot, results, State, VaultError};
use crate::core::revision::check_revision;
use crate::core::time::Timestamp;
use crate::core::Snapshot;
use crate::core::{
    Conflict, Credential, Flow, Recheck, RecordId, Revision, Verification, Workspace, HISTORY_LIMIT,
};

/// Results are written in groups of this many: one table open per group instead of per result.
const GROUP: usize = 32;

/// An open write transaction (see the module comment). Dropping it without `commit` writes
/// nothing.
pub struct Change<'v> {
    /// Some until commit.
    txn: Option<Box<dyn WriteTxn + 'v>>,
    state: &'v mut State,
    snapshot: &'v mut Snapshot,
    now: Timestamp,
    /// The generation the transaction started from.
    generation: u64,
    /// Positions changed in this transaction (the vault's own move on at commit).
    moved: HashMap<RecordId, Position>,
    /// Every position must be written again (a migration, a re-key).
    rewrite_positions: bool,
    /// The shards of credentials whose positions went with them (deleted with their results).
    positions_dropped: ShardSet,
    /// The shards of the records this transaction wrote or deleted: their record digests are
    /// computed again at commit (a team vault's; digest.rs).
    records_touched: ShardSet,
    pending: Vec<StoredResult>,
    /// How to undo what this transaction changed in memory, if it does not commit.
    journal: Journal,
    /// A re-key: the key everything is sealed with from here on.
    new_key: Option<DataKey>,
    /// What this transaction did, for the change log (a team vault's; changelog.rs).
    log: Vec<super::changelog::Pending>,
}

impl<'v> Change<'v> {
    pub(super) fn new(
        txn: Box<dyn WriteTxn + 'v>,
        state: &'v mut State,
        snapshot: &'v mut Snapshot,
        journal: Journal,
    ) -> Change<'v> {
        // The transaction's generation was read by the sync that preceded this; a storage
        // that cannot say is read as generation 0, which the next sync replaces.
        let generation = state.generation.unwrap_or(0);
        Change {
            txn: Some(txn),
            state,
            snapshot,
            now: crate::clock::now(),
            generation,
            moved: HashMap::new(),
            rewrite_positions: false,
            positions_dropped: ShardSet::default(),
            records_touched: ShardSet::default(),
            pending: Vec::with_capacity(GROUP),
            journal,
            new_key: None,
            log: Vec::new(),
        }
    }

    /// The vault as it is, with this transaction's changes so far.
    /// The vault's state as this transaction sees it (the key slots, the data key).
    pub(super) fn state(&self) -> &State {
        self.state
    }

    pub fn snapshot(&self) -> &Snapshot {
        self.snapshot
    }

    /// The time this transaction stamps on what it writes.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn key(&self) -> &DataKey {
        self.new_key.as_ref().unwrap_or(&self.state.key)
    }

    fn txn(&mut self) -> &mut (dyn WriteTxn + 'v) {
        // Invariant: Some until commit, which consumes self.
        self.txn
            .as_deref_mut()
            .expect("write transaction present until commit")
    }

    // ---- records -----------------------------------------------------------------------------

    /// Writes `record` over the revision it carries (0: a new record) and returns it as stored,
    /// with its new revision.
    fn put<T: Record>(&mut self, record: T) -> Result<T, VaultError> {
        let based_on = record.revision().number;
        let current = T::all(self.snapshot)
            .iter()
            .position(|r| r.id() == record.id());
        let stored_revision = current.map(|i| T::all(self.snapshot)[i].revision().clone());
        if check_revision(based_on, stored_revision.as_ref()).is_err() {
            return Err(VaultError::Conflict(Box::new(Conflict {
                based_on,
                theirs: current.map(|i| T::all(self.snapshot)[i].clone().into_any()),
                mine: Some(record.into_any()),
            })));
        }
        let revision = stored_revision
            .unwrap_or_default()
            .next(&self.state.changed_by, self.now);
        let action = match current {
            None => T::ACTIONS[0],
            Some(_) => T::ACTIONS[1],
        };
        let written = self.put_as(record, revision, current)?;
        self.log_record(action, &written);
        Ok(written)
    }

    /// Notes a change of `record` for the change log.
    fn log_record<T: Record>(&mut self, action: &'static str, record: &T) {
        let workspace = match record.workspace_of() {
            Some(id) => self.snapshot.workspace(id).map(|w| w.name.clone()),
            None => None,
        };
        self.log.push(super::changelog::Pending {
            action,
            workspace,
            target: Some(record.name().to_string()),
            record: Some(record.id().to_string()),
            revision: Some(record.revision().number),
        });
    }

    /// Names the change just noted for the log by what it was for (a rotation's edits say
    /// they are one), where the plain "credential edited" would hide it.
    pub fn note_last_as(&mut self, action: &'static str) {
        if let Some(last) = self.log.last_mut() {
            last.action = action;
        }
    }

    /// Notes an event of the vault itself (a member added or removed) for the change log.
    pub(super) fn log_event(&mut self, action: &'static str, target: &str) {
        self.log.push(super::changelog::Pending {
            action,
            workspace: None,
            target: (!target.is_empty()).then(|| target.to_string()),
            record: None,
            revision: None,
        });
    }

    /// Writes `record` as `revision` over what the snapshot holds at `current`.
    fn put_as<T: Record>(
        &mut self,
        mut record: T,
        revision: Revision,
        current: Option<usize>,
    ) -> Result<T, VaultError> {
        let expected = current
            .map(|i| T::all(self.snapshot)[i].revision().number)
            .filter(|n| *n > 0);
        *record.revision_mut() = revision;
        self.records_touched.add_id(record.id().as_str());
        let sealed = records::seal(self.key(), &self.state.header.vault_id, &record);
        self.txn().put(
            T::TABLE,
            record.id().as_str(),
            expected,
            record.revision().number,
            &sealed,
        )?;
        let all = T::all_mut(self.snapshot);
        let edit = match current {
            Some(i) => Edit::Replaced(i, std::mem::replace(&mut all[i], record.clone())),
            None => {
                all.push(record.clone());
                Edit::Pushed
            }
        };
        self.journal.push(T::step(edit));
        Ok(record)
    }

    /// Deletes record `id`, which must still be at revision `based_on`; returns it.
    fn delete<T: Record>(&mut self, id: &RecordId, based_on: u64) -> Result<T, VaultError> {
        let current = T::all(self.snapshot).iter().position(|r| r.id() == id);
        let stored = current.map(|i| T::all(self.snapshot)[i].revision().clone());
        let Some(i) = current.filter(|_| check_revision(based_on, stored.as_ref()).is_ok()) else {
            return Err(VaultError::Conflict(Box::new(Conflict {
                based_on,
                theirs: current.map(|i| T::all(self.snapshot)[i].clone().into_any()),
                mine: None,
            })));
        };
        self.txn().remove(T::TABLE, id.as_str(), based_on)?;
        self.records_touched.add_id(id.as_str());
        let removed = T::all(self.snapshot)[i].clone();
        self.log_record(T::ACTIONS[2], &removed);
        let removed = T::all_mut(self.snapshot).remove(i);
        self.journal
            .push(T::step(Edit::Removed(i, removed.clone())));
        Ok(removed)
    }

    pub fn put_workspace(&mut self, w: Workspace) -> Result<Workspace, VaultError> {
        self.put(w)
    }

    /// Writes a credential (its `last_verification` is kept in the snapshot as given; results
    /// are stored with `add_result`).
    pub fn put_credential(&mut self, c: Credential) -> Result<Credential, VaultError> {
        self.put(c)
    }

    pub fn put_flow(&mut self, f: Flow) -> Result<Flow, VaultError> {
        self.put(f)
    }

    pub fn delete_workspace(
        &mut self,
        id: &RecordId,
        based_on: u64,
    ) -> Result<Workspace, VaultError> {
        self.delete(id, based_on)
    }

    /// Deletes a credential with all its results.
    pub fn delete_credential(
        &mut self,
        id: &RecordId,
        based_on: u64,
    ) -> Result<Credential, VaultError> {
        let c = self.delete(id, based_on)?;
        self.txn().remove_results(id.as_str())?;
        self.pending.retain(|r| r.credential != id.as_str());
        if self.state.positions.contains_key(id) && !self.journal.has_positions() {
            self.journal.save_positions(self.state.positions.clone());
        }
        if self.moved.remove(id).is_some() | self.state.positions.remove(id).is_some() {
            self.positions_dropped.add_id(id.as_str());
        }
        Ok(c)
    }

    pub fn delete_flow(&mut self, id: &RecordId, based_on: u64) -> Result<Flow, VaultError> {
        self.delete(id, based_on)
    }

    /// A record re-put by a format migration: revision 1, by nobody known, at `at`.
    pub(super) fn put_migrated<T: Record>(
        &mut self,
        record: T,
        at: Timestamp,
    ) -> Result<(), VaultError> {
        let current = T::all(self.snapshot)
            .iter()
            .position(|r| r.id() == record.id());
        let revision = Revision {
            number: 1,
            changed_by: "unknown (written before keyway kept revisions)".into(),
            changed_at: at,
        };
        self.put_as(record, revision, current).map(drop)
    }

    /// Replaces the header (a passphrase change, a migration). A header naming another data
    /// key than this process's means another process re-keyed the vault meanwhile.
    /// Writes `record` as it is, its revision (number, who, when) kept: a whole vault being
    /// copied into this new one (`Vault::copy_into`). The record must not exist here yet.
    pub(super) fn put_copied<T: Record>(&mut self, record: T) -> Result<(), VaultError> {
        let revision = record.revision().clone();
        self.put_as(record, revision, None).map(drop)
    }

    pub(super) fn put_header(
        &mut self,
        header: Header,
        encoded: Vec<u8>,
    ) -> Result<(), VaultError> {
        if header.key_id.is_some()
            && self.new_key.is_none()
            && keyslot::check_key(&header, &self.state.key).is_err()
        {
            return Err(VaultError::Rekeyed(self.state.path.clone()));
        }
        self.txn().put_key_slots(&encoded)?;
        self.journal.save_state(self.state);
        self.state.header = header;
        self.state.header_bytes = encoded;
        Ok(())
    }

    /// The migration's last step: what older formats kept goes.
    pub(super) fn retire_older_formats(&mut self) -> Result<(), VaultError> {
        self.rewrite_positions = true;
        self.txn().retire_older_formats()
    }

    /// Re-encrypts everything under `key` and stores `header`, which wraps it.
    pub(super) fn rekey(&mut self, key: DataKey, header: Header) -> Result<(), VaultError> {
        let vault_id = self.state.header.vault_id.clone();
        // History entries: read under the old key, sealed again under the new.
        let mut entries = Vec::new();
        let txn = self
            .txn
            .as_deref()
            .expect("write transaction present until commit");
        let mut wanted = Vec::new();
        for (id, position) in &self.state.positions {
            let oldest = position.next.saturating_sub(HISTORY_LIMIT as u64);
            for seq in oldest..position.next {
                wanted.push((id, seq));
            }
        }
        // Every entry in one read (a team vault's: one round trip, not one per entry).
        let slots: Vec<(u8, &str)> = wanted
            .iter()
            .map(|(id, seq)| (results::slot(*seq), id.as_str()))
            .collect();
        let found = txn.results(&slots)?;
        for ((id, seq), bytes) in wanted.into_iter().zip(found) {
            // Each of the newest HISTORY_LIMIT entries must be there (as `history` reads
            // them): one gone is damage, which a re-key must not make permanent.
            let Some(bytes) = bytes else {
                return Err(super::corrupt(
                    &self.state.path,
                    format!("history entry {seq} of credential {id} is missing"),
                ));
            };
            let Some((found, v, ended)) =
                results::open_result(&self.state.key, &vault_id, id.as_str(), &bytes)
            else {
                return Err(super::corrupt(
                    &self.state.path,
                    format!("history entry {seq} of credential {id} failed authentication"),
                ));
            };
            if found == seq {
                entries.push(results::seal(&key, &vault_id, id, seq, &v, ended.as_ref()));
            }
        }
        if txn.keeps_change_log() {
            let stored = txn.change_log()?;
            let resealed = super::changelog::reseal(
                &self.state.path,
                &self.state.key,
                &key,
                &vault_id,
                &stored,
            )?;
            self.txn().reseal_log(&resealed)?;
        }
        self.log_event("re-keyed", "");
        self.new_key = Some(key);
        self.pending.extend(entries);
        self.rewrite_positions = true;
        // Every record, at the revision it has (its content is unchanged, so the snapshot
        // is too), in one write per table.
        fn reseal<T: Record>(change: &mut Change<'_>) -> Result<(), VaultError> {
            let key = change.key();
            let vault_id = &change.state.header.vault_id;
            let sealed: Vec<(&str, u64, Vec<u8>)> = T::all(change.snapshot)
                .iter()
                .map(|r| {
                    (
                        r.id().as_str(),
                        r.revision().number,
                        records::seal(key, vault_id, r),
                    )
                })
                .collect();
            let txn = change
                .txn
                .as_deref_mut()
                .expect("write transaction present until commit");
            txn.reseal_records(T::TABLE, &sealed)
        }
        reseal::<Workspace>(self)?;
        reseal::<Credential>(self)?;
        reseal::<Flow>(self)?;
        let encoded = header.encode();
        self.put_header(header, encoded)
    }

    // ---- results -----------------------------------------------------------------------------

    /// Records `result`, from rechecking an unchanged credential, and updates `newest` (the
    /// credential's newest result, as the vault gave it or the previous call left it) by
    /// `Verification::record_recheck`: a repeat joins the newest entry's run, which writes no
    /// entry (only the sequence record moves on); anything else is a new entry. The snapshot's
    /// credential gets the result as its latest.
    pub fn recheck(
        &mut self,
        credential: &RecordId,
        newest: &mut Option<Verification>,
        result: Verification,
    ) -> Result<(), VaultError> {
        self.log_verified(credential);
        let position = self.position(credential);
        match Verification::record_recheck(newest, result) {
            (Recheck::Repeated, run) if position.next > 0 => {
                let repeats = Some(Repeats::of(run));
                let run = run.clone();
                self.set_position(
                    credential,
                    Position {
                        repeats,
                        ..position
                    },
                );
                self.set_latest(credential, run);
                Ok(())
            }
            // A newest result with no entry behind it cannot be stored as a run: it becomes
            // the first entry, run and all. (The store never holds one; this keeps them equal.)
            (_, new) => {
                let new = new.clone();
                self.add_entry(credential, &new)
            }
        }
    }

    /// Adds a result as a new history entry: it becomes the credential's newest. If the newest
    /// so far heads a run, the run's final state (its repeats, from the sequence record) is
    /// stored with the new entry, which holds it from then on (results.rs, `Ended`).
    pub fn add_result(
        &mut self,
        credential: &RecordId,
        result: &Verification,
    ) -> Result<(), VaultError> {
        self.log_verified(credential);
        self.add_entry(credential, result)
    }

    /// Notes a verification of `credential` for the change log.
    fn log_verified(&mut self, credential: &RecordId) {
        // From the end, as `set_latest` does.
        let found = self
            .snapshot
            .credentials
            .iter()
            .rev()
            .find(|c| &c.id == credential)
            .cloned();
        if let Some(c) = found {
            self.log_record("credential verified", &c);
        }
    }

    /// `add_result` without a change-log entry (a history copied in as it is).
    fn add_entry(
        &mut self,
        credential: &RecordId,
        result: &Verification,
    ) -> Result<(), VaultError> {
        let position = self.position(credential);
        let sealed = results::seal(
            self.key(),
            &self.state.header.vault_id,
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
        self.set_latest(credential, result.clone());
        Ok(())
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
            self.add_entry(credential, v)?;
        }
        Ok(())
    }

    /// Puts stored result bytes back into a ring slot as they are (a format-2 migration).
    pub(super) fn put_stored(
        &mut self,
        credential: &RecordId,
        slot: u8,
        bytes: &[u8],
    ) -> Result<(), VaultError> {
        self.pending.push(StoredResult {
            credential: credential.to_string(),
            slot,
            bytes: bytes.to_vec(),
        });
        Ok(())
    }

    fn set_latest(&mut self, credential: &RecordId, result: Verification) {
        // From the end: a result is most often recorded for a credential this transaction
        // has just added, which is last (a scan of 10,000 credentials costs a save more than
        // its statements do).
        let found = self
            .snapshot
            .credentials
            .iter_mut()
            .enumerate()
            .rev()
            .find(|(_, c)| &c.id == credential);
        if let Some((i, c)) = found {
            let old = c.last_verification.replace(result);
            self.journal.push(Step::Latest(i, old));
        }
    }

    /// The credential's position: as this transaction left it, else as the vault has it.
    fn position(&self, credential: &RecordId) -> Position {
        (self.moved.get(credential))
            .or_else(|| self.state.positions.get(credential))
            .copied()
            .unwrap_or(Position::new(0))
    }

    /// Sets the credential's position in this transaction, cloning its id only the first time.
    fn set_position(&mut self, credential: &RecordId, position: Position) {
        match self.moved.get_mut(credential) {
            Some(slot) => *slot = position,
            None => {
                self.moved.insert(credential.clone(), position);
            }
        }
    }

    fn flush(&mut self) -> Result<(), VaultError> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.txn().put_results(&pending)?;
            self.pending = pending;
            self.pending.clear();
        }
        Ok(())
    }

    /// Makes everything durable, in one commit; if it fails, nothing was, and the store is
    /// as it was before the transaction.
    pub(super) fn commit(mut self) -> Result<(), VaultError> {
        let result = self.commit_inner();
        if result.is_err() {
            self.journal.roll_back(self.state, self.snapshot);
        }
        result
    }

    fn commit_inner(&mut self) -> Result<(), VaultError> {
        self.flush()?;
        let mut digest = self.state.digest.clone();
        match &mut digest {
            Some(digest) => self.write_position_shards(digest)?,
            None => self.write_positions()?,
        }
        let mut head = digest.as_ref().map(Digest::head).unwrap_or_default();
        if self.txn().keeps_change_log() && !self.log.is_empty() {
            let (entries, new_head) = super::changelog::seal_after(
                self.key(),
                &self.state.header.vault_id,
                head,
                &self.state.changed_by,
                self.now.0,
                &self.log,
            );
            self.txn().append_log(&entries)?;
            head = new_head;
        }
        if let Some(digest) = &mut digest {
            digest.update(self.snapshot, &self.records_touched);
            digest.set_head(head);
            digest.first_format = false;
            let sealed = super::digest::seal(self.key(), &self.state.header.vault_id, digest);
            self.txn().put_record_digest(&sealed)?;
        }
        let txn = self
            .txn
            .take()
            .expect("write transaction present until commit");
        txn.commit()?;
        self.state.positions.extend(self.moved.drain());
        if let Some(key) = self.new_key.take() {
            self.state.key = key;
        }
        self.state.generation = Some(self.generation.wrapping_add(1));
        self.state.digest = digest;
        Ok(())
    }

    /// The one record of every credential's position (the file's): written whenever one moved.
    fn write_positions(&mut self) -> Result<(), VaultError> {
        if self.moved.is_empty() && !self.rewrite_positions && self.positions_dropped.is_empty() {
            return Ok(());
        }
        // Every credential's position: this transaction's, else the vault's.
        let moved = &self.moved;
        let all = self
            .state
            .positions
            .iter()
            .filter(|(id, _)| !moved.contains_key(*id))
            .chain(moved);
        let sealed = sequences::seal(self.key(), &self.state.header.vault_id, all);
        self.txn().put_positions(&sealed)
    }

    /// The position shards (a team vault's, digest.rs) that hold a position this transaction
    /// moved or dropped, each as the next version `digest` names; all of them when everything
    /// is written again, or when the vault still has the first format's one record.
    fn write_position_shards(&mut self, digest: &mut Digest) -> Result<(), VaultError> {
        let shards = if self.rewrite_positions || digest.first_format {
            ShardSet::all()
        } else {
            let mut shards = self.positions_dropped;
            for id in self.moved.keys() {
                shards.add_id(id.as_str());
            }
            shards
        };
        if shards.is_empty() {
            return Ok(());
        }
        // Each written shard's credentials: where their results stand (this transaction's
        // position, else the vault's) and their newest result, as the snapshot has it.
        type Member<'a> = (&'a RecordId, &'a Position, Option<&'a Verification>);
        let mut members: Vec<Vec<Member<'_>>> = vec![Vec::new(); SHARDS];
        for c in &self.snapshot.credentials {
            let shard = shard_of(c.id.as_str());
            if !shards.contains(shard) {
                continue;
            }
            let position = self
                .moved
                .get(&c.id)
                .or_else(|| self.state.positions.get(&c.id));
            if let Some(position) = position {
                members[usize::from(shard)].push((&c.id, position, c.last_verification.as_ref()));
            }
        }
        let (key, vault_id) = (self.key(), &self.state.header.vault_id);
        let sealed: Vec<(u8, Vec<u8>)> = shards
            .iter()
            .map(|shard| {
                let version = &mut digest.positions[usize::from(shard)];
                *version += 1;
                let entries = members[usize::from(shard)].iter().copied();
                let bytes = shards::seal_shard(key, vault_id, shard, *version, entries);
                (shard, bytes)
            })
            .collect();
        self.txn().put_position_shards(&sealed)
    }

    /// The transaction is dropped without committing: nothing was written, and the store is
    /// put back as it was before the transaction.
    pub(super) fn abandon(self) {
        self.journal.roll_back(self.state, self.snapshot);
    }
}
