//! The one place where the rules meet the vault: every change runs in one write transaction,
//! in which the vault first brings the snapshot up to date (other processes may have written
//! since it was read), the core's rules are checked against it, and each record is written
//! over the revision the change was based on (a conflict otherwise). The CLI and the TUI both go
//! through here, so there is one rule set and two faces.
//!
//! For a face that stays open (the TUI):
//! - `refresh` brings in other processes' changes (one cheap read when there are none) and
//!   says what changed (`Changes`: records added or changed by kind, removed, results moved),
//!   so a face can keep its cursor and tell an open form that its record moved underneath.
//! - A change is based on the revision carried by what is passed in (`save_credential`,
//!   `save_flow`: the record's `revision`), or, for changes named by id, on the revision in
//!   this store's snapshot. A face that shows its own copy sets the record's `revision` to the
//!   one it showed (the revision a form opened with) before saving; `expect_revision` checks an
//!   id against a revision the same way.
//! - A refused change is `StoreError::conflict()`: both versions (`mine`, `theirs`, the
//!   revision it was based on), for a dialog. A write that fails leaves the snapshot as it was.
//! - `record_verifications` takes the revision each result verified and leaves out (in
//!   `Recorded::stale`) the results of credentials that moved on meanwhile.
//! - `VaultError::Rekeyed` / `Replaced`: the keys held open nothing any more: unlock again.

mod flows;
mod recording;
mod rotation;

use std::path::Path;

pub use recording::{Checked, Recorded};

use crate::catalog::Catalog;
use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
use crate::core::input::{apply_fields, FieldError, FieldValue};
use crate::core::time::Timestamp;
use crate::core::Snapshot;
use crate::core::{
    AnyRecord, Conflict, Credential, Environment, RecordId, RecordKind, Revision, RuleError,
    Verification, Workspace,
};
use crate::vault::{crypto::fresh_id, kdf::KdfParams, Changes, Options, Unlock, Vault, VaultError};
use crate::verify::TokenUpdate;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("unknown component '{0}' (see `keyway component list`)")]
    UnknownComponent(String),
    #[error("credential '{0}' has a password rotation pending: use it once (`keyway credential verify`) so keyway resolves it, then rotate again")]
    RotationPending(String),
    #[error("the password rotation of credential '{0}' is no longer pending: another keyway process resolved it, or the credential was deleted")]
    RotationGone(String),
}

impl StoreError {
    pub fn exit_code(&self) -> i32 {
        match self {
            // A name keyway does not accept is a bad value, like a bad field: 2. A rule about
            // what is stored (a name taken, a credential in use) is 1.
            StoreError::Rule(RuleError::BadName(_)) => 2,
            StoreError::Rule(_) => 1,
            StoreError::Field(_) | StoreError::UnknownComponent(_) => 2,
            StoreError::RotationPending(_) => 1,
            // Another process changed it: as a conflict.
            StoreError::RotationGone(_) => 6,
            StoreError::Vault(v) => v.exit_code(),
        }
    }

    /// The conflict, if this is one: both versions, for a face to show.
    pub fn conflict(&self) -> Option<&Conflict> {
        match self {
            StoreError::Vault(VaultError::Conflict(c)) => Some(c),
            _ => None,
        }
    }
}

/// What a new or edited credential should hold, before verification.
#[derive(Debug)]
pub struct CredentialDraft {
    pub workspace: RecordId,
    pub component: String,
    pub name: String,
    pub environment: Environment,
    pub changes: Vec<(String, FieldValue)>,
}

pub struct Store {
    vault: Vault,
    snapshot: Snapshot,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// The revision of a record a change is based on: as this process read it.
fn revision_of(snapshot: &Snapshot, kind: RecordKind, id: &RecordId) -> Option<u64> {
    let number = |r: &Revision| r.number;
    match kind {
        RecordKind::Workspace => snapshot.workspace(id).map(|w| number(&w.revision)),
        RecordKind::Credential => snapshot.credential(id).map(|c| number(&c.revision)),
        RecordKind::Flow => snapshot.flow(id).map(|f| number(&f.revision)),
    }
}

impl Store {
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Store, VaultError> {
        Self::open_with(path, Unlock::Passphrase(passphrase), &Options::default())
    }

    pub fn open_with(
        path: &Path,
        unlock: Unlock<'_>,
        options: &Options,
    ) -> Result<Store, VaultError> {
        let (vault, snapshot) = Vault::open_with(path, unlock, options)?;
        Ok(Store { vault, snapshot })
    }

    pub fn create(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: Timestamp,
    ) -> Result<Store, VaultError> {
        Self::create_with(path, passphrase, params, now, &Options::default())
    }

    pub fn create_with(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: Timestamp,
        options: &Options,
    ) -> Result<Store, VaultError> {
        let vault = Vault::create_with(path, passphrase, params, now.0, options)?;
        Ok(Store {
            vault,
            snapshot: Snapshot::default(),
        })
    }

    /// Creates a team vault with its first member (see `Vault::create_team`).
    pub fn create_team(
        url: &Path,
        identity: &age::x25519::Identity,
        first: crate::vault::keyslot::MemberInfo,
        options: &Options,
    ) -> Result<Store, VaultError> {
        let vault = Vault::create_team(url, identity, first, options)?;
        Ok(Store {
            vault,
            snapshot: Snapshot::default(),
        })
    }

    /// Copies this whole vault into `target`, a new one, and checks the copy read back from
    /// it (see `Vault::copy_into`): how many records and history entries were copied.
    pub fn copy_into(
        &self,
        target: &mut Store,
        reopen: impl FnOnce() -> Result<(Vault, Snapshot), VaultError>,
    ) -> Result<(usize, usize), VaultError> {
        self.vault.copy_into(
            &self.snapshot,
            &mut target.vault,
            &mut target.snapshot,
            reopen,
        )
    }

    pub fn add_member(
        &mut self,
        recipient: &age::x25519::Recipient,
        info: crate::vault::keyslot::MemberInfo,
    ) -> Result<(), VaultError> {
        self.vault.add_member(&mut self.snapshot, recipient, info)
    }

    pub fn remove_member(&mut self, name: &str) -> Result<(), VaultError> {
        self.vault.remove_member(&mut self.snapshot, name)
    }

    /// A team vault's re-key: a new data key wrapped for every member.
    pub fn rekey_team(&mut self) -> Result<(), VaultError> {
        self.vault.rekey_team(&mut self.snapshot)
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Brings the snapshot up to date with what other processes wrote; None when nothing
    /// changed (one cheap read). What a face polls to show other processes' changes.
    pub fn refresh(&mut self) -> Result<Option<Changes>, VaultError> {
        self.vault.refresh(&mut self.snapshot)
    }

    pub fn change_passphrase(&mut self, new: &[u8], params: KdfParams) -> Result<(), VaultError> {
        self.vault
            .change_passphrase(&mut self.snapshot, new, params)
    }

    /// A new data key, every record re-encrypted under it, the passphrase kept.
    pub fn rekey(&mut self, passphrase: &[u8]) -> Result<(), VaultError> {
        self.vault.rekey(&mut self.snapshot, passphrase)
    }

    /// Refuses a change a script based on revision `expected` of a record (`--expect-revision`)
    /// when the record is no longer at it: the same conflict a write would meet.
    pub fn expect_revision(
        &self,
        kind: RecordKind,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        let current = revision_of(&self.snapshot, kind, id);
        if current == Some(expected) {
            return Ok(());
        }
        let theirs = match kind {
            RecordKind::Workspace => self
                .snapshot
                .workspace(id)
                .cloned()
                .map(AnyRecord::Workspace),
            RecordKind::Credential => self
                .snapshot
                .credential(id)
                .cloned()
                .map(AnyRecord::Credential),
            RecordKind::Flow => self.snapshot.flow(id).cloned().map(AnyRecord::Flow),
        };
        Err(VaultError::Conflict(Box::new(Conflict {
            based_on: expected,
            mine: None,
            theirs,
        }))
        .into())
    }

    // ---- workspaces ----------------------------------------------------------------------------

    pub fn add_workspace(&mut self, name: &str, now: Timestamp) -> Result<Workspace, StoreError> {
        let w = Workspace {
            id: fresh_id(),
            name: name.to_string(),
            created_at: now,
            revision: Revision::default(),
        };
        self.vault.write(&mut self.snapshot, |change| {
            change.snapshot().check_new_workspace(name, None)?;
            Ok(change.put_workspace(w)?)
        })
    }

    pub fn rename_workspace(&mut self, id: &RecordId, name: &str) -> Result<(), StoreError> {
        let Some(mut w) = self.snapshot.workspace(id).cloned() else {
            return Err(RuleError::NoSuchWorkspace(id.to_string()).into());
        };
        w.name = name.to_string();
        self.vault.write(&mut self.snapshot, |change| {
            change.snapshot().check_new_workspace(name, Some(id))?;
            change.put_workspace(w)?;
            Ok(())
        })
    }

    /// Deletes a workspace; one that still holds records needs `force`, and then its
    /// credentials and flows go with it in the same transaction.
    pub fn remove_workspace(&mut self, name: &str, force: bool) -> Result<Workspace, StoreError> {
        let w = self.snapshot.workspace_by_name(name)?.clone();
        self.vault.write(&mut self.snapshot, |change| {
            let s = change.snapshot();
            // As the vault has it now: records another process added meanwhile count too.
            if let Some(current) = s.workspace(&w.id) {
                s.check_workspace_delete(current, force)?;
            }
            let flows: Vec<(RecordId, u64)> = s
                .flows_in(&w.id)
                .map(|f| (f.id.clone(), f.revision.number))
                .collect();
            let creds: Vec<(RecordId, u64)> = s
                .credentials_in(&w.id)
                .map(|c| (c.id.clone(), c.revision.number))
                .collect();
            for (id, revision) in flows {
                change.delete_flow(&id, revision)?;
            }
            for (id, revision) in creds {
                change.delete_credential(&id, revision)?;
            }
            Ok(change.delete_workspace(&w.id, w.revision.number)?)
        })
    }

    // ---- credentials ---------------------------------------------------------------------------

    /// Builds the credential a draft describes (new, or `editing` an existing one, based on
    /// the revision this process read) and checks every rule that does not need the network.
    /// Nothing is written.
    pub fn prepare_credential(
        &self,
        catalog: &Catalog,
        draft: CredentialDraft,
        editing: Option<&RecordId>,
        now: Timestamp,
    ) -> Result<Credential, StoreError> {
        let base = editing.and_then(|id| self.snapshot.credential(id));
        self.prepare_edit_of(catalog, draft, base, now)
    }

    /// `prepare_credential` over `base` as the caller read it (a form keeps the revision it
    /// opened from, however the vault has moved on since): the draft's changes apply to that
    /// copy, and the credential carries its revision, so a save over a newer one is a conflict.
    pub fn prepare_edit_of(
        &self,
        catalog: &Catalog,
        draft: CredentialDraft,
        base: Option<&Credential>,
        now: Timestamp,
    ) -> Result<Credential, StoreError> {
        let editing = base.map(|b| &b.id);
        let component = catalog
            .get(&draft.component)
            .ok_or_else(|| StoreError::UnknownComponent(draft.component.clone()))?;
        let workspace = self
            .snapshot
            .workspace(&draft.workspace)
            .ok_or_else(|| RuleError::NoSuchWorkspace(draft.workspace.to_string()))?;
        self.snapshot
            .check_credential_name(workspace, &draft.component, &draft.name, editing)?;
        let (public, secrets) = match base {
            Some(b) => apply_fields(component, &b.public, &b.secrets, draft.changes)?,
            None => apply_fields(
                component,
                &Default::default(),
                &Default::default(),
                draft.changes,
            )?,
        };
        Ok(Credential {
            id: base.map_or_else(fresh_id, |b| b.id.clone()),
            workspace: draft.workspace,
            component: draft.component,
            name: draft.name,
            environment: draft.environment,
            public,
            secrets,
            created_at: base.map_or(now, |b| b.created_at),
            updated_at: now,
            last_verification: base.and_then(|b| b.last_verification.clone()),
            revision: base.map(|b| b.revision.clone()).unwrap_or_default(),
            password_changed_at: base.and_then(|b| b.password_changed_at),
            pending_rotation: base.and_then(|b| b.pending_rotation.clone()),
        })
    }

    /// Writes a prepared (and verified, or explicitly unverified) credential over the revision
    /// it was prepared from, and its new verification result (`last_verification`, unless it is
    /// the one already stored) to its history, in one transaction. The rules are checked again
    /// against the vault as it is: it may have changed while the verification ran.
    pub fn save_credential(&mut self, credential: Credential) -> Result<(), StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            let s = change.snapshot();
            let workspace = s
                .workspace(&credential.workspace)
                .ok_or_else(|| RuleError::NoSuchWorkspace(credential.workspace.to_string()))?;
            s.check_credential_name(
                workspace,
                &credential.component,
                &credential.name,
                Some(&credential.id),
            )?;
            let mut credential = credential;
            let stored_record = s.credential(&credential.id);
            // The password age restarts when a save changes the password (core/rotation.rs).
            if let Some(before) = stored_record {
                let password = crate::core::rotation::PASSWORD_FIELD;
                if before.secrets.expose(password) != credential.secrets.expose(password) {
                    credential.password_changed_at = Some(credential.updated_at);
                }
            }
            let stored = stored_record.and_then(|c| c.last_verification.as_ref());
            let new_result = credential
                .last_verification
                .as_ref()
                .filter(|v| Some(*v) != stored)
                .cloned();
            let id = credential.id.clone();
            change.put_credential(credential)?;
            if let Some(v) = new_result {
                change.add_result(&id, &v)?;
            }
            Ok(())
        })
    }

    /// Writes several new credentials, each with its verification history (newest first; the
    /// first entry is its latest result), in one transaction (an import): all or nothing.
    pub fn save_credentials(
        &mut self,
        credentials: Vec<(Credential, Vec<Verification>)>,
    ) -> Result<(), StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            for (mut c, history) in credentials {
                let s = change.snapshot();
                let workspace = s
                    .workspace(&c.workspace)
                    .ok_or_else(|| RuleError::NoSuchWorkspace(c.workspace.to_string()))?;
                // Each against the ones written before it in this transaction too.
                s.check_credential_name(workspace, &c.component, &c.name, Some(&c.id))?;
                c.last_verification = history.first().cloned();
                let id = c.id.clone();
                change.put_credential(c)?;
                change.add_history(&id, &history)?;
            }
            Ok(())
        })
    }

    /// A credential's verification history, newest first, read from the vault.
    pub fn history(&self, id: &RecordId) -> Result<Vec<Verification>, StoreError> {
        Ok(self.vault.history(id)?)
    }

    /// Stores a verification result of revision `revision` of a credential, and any tokens
    /// obtained by it, in one write; dropped if the credential moved on meanwhile.
    pub fn record_verification(
        &mut self,
        id: &RecordId,
        revision: u64,
        result: Verification,
        tokens: Option<&TokenUpdate>,
        now: Timestamp,
    ) -> Result<Recorded, StoreError> {
        let checked = Checked {
            id: id.clone(),
            revision,
            result,
            tokens: tokens.cloned(),
        };
        self.record_verifications(vec![checked], now)
    }

    /// Deletes a credential unless an active flow uses it (the refusal names those flows), as
    /// the vault is now: a flow another process just made active counts.
    pub fn remove_credential(&mut self, id: &RecordId) -> Result<Credential, StoreError> {
        let based_on =
            revision_of(&self.snapshot, RecordKind::Credential, id).ok_or_else(|| {
                RuleError::NoSuchCredential {
                    workspace: String::new(),
                    name: id.to_string(),
                }
            })?;
        self.vault.write(&mut self.snapshot, |change| {
            if let Some(c) = change.snapshot().credential(id) {
                change.snapshot().check_credential_delete(c)?;
            }
            Ok(change.delete_credential(id, based_on)?)
        })
    }
}

/// Makes `c` what is saved after a check the save rule (`core::save`) accepted: the tokens the
/// check obtained (an OAuth2 refresh or client-credentials grant), if any, in its fields, and
/// `result` its newest verification.
pub fn accept(
    c: &mut Credential,
    result: Verification,
    tokens: Option<&TokenUpdate>,
    now: Timestamp,
) {
    if let Some(t) = tokens {
        apply_tokens(c, t, now);
    }
    c.record_verification(result);
}

/// Puts freshly granted tokens into a credential's fields.
pub fn apply_tokens(c: &mut Credential, t: &TokenUpdate, now: Timestamp) {
    c.secrets.insert("access_token", t.access_token.clone());
    if let Some(r) = &t.refresh_token {
        c.secrets.insert("refresh_token", r.clone());
    }
    match t.expires_at {
        Some(at) => {
            c.public.insert(EXPIRES_AT_FIELD.into(), at.rfc3339());
        }
        None => {
            c.public.remove(EXPIRES_AT_FIELD);
        }
    }
    // A refresh token's stated lifetime belongs to that token: replace it with the new one's,
    // or drop it when a rotated token came without one.
    match (&t.refresh_expires_at, &t.refresh_token) {
        (Some(at), _) => {
            c.public
                .insert(REFRESH_EXPIRES_AT_FIELD.into(), at.rfc3339());
        }
        (None, Some(_)) => {
            c.public.remove(REFRESH_EXPIRES_AT_FIELD);
        }
        (None, None) => {}
    }
    c.updated_at = now;
}
