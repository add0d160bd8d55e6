//! The vault's side of a password rotation (core/rotation.rs has the rules, rotate.rs runs
//! it): the pending rotation written before the server is touched, and each way it ends, each
//! one durable write checked against the vault as it is.

use secrecy::{ExposeSecret, SecretString};

use super::{Store, StoreError};
use crate::core::rotation::{PendingRotation, Resolution, PASSWORD_FIELD};
use crate::core::secret::SecretFields;
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId, RuleError, Verification};
use crate::vault::{Change, VaultError};

/// Whether `c` still holds the pending rotation `mine` (the one this process wrote or read).
fn holds(c: &Credential, mine: &PendingRotation) -> bool {
    c.pending_rotation.as_ref().is_some_and(|p| {
        p.started_at == mine.started_at
            && p.password().map(ExposeSecret::expose_secret)
                == mine.password().map(ExposeSecret::expose_secret)
    })
}

fn no_such(id: &RecordId) -> StoreError {
    RuleError::NoSuchCredential {
        workspace: String::new(),
        name: id.to_string(),
    }
    .into()
}

/// The stored credential, as the vault is now, if it still holds `mine`.
fn current_holding(
    change: &Change<'_>,
    id: &RecordId,
    mine: &PendingRotation,
) -> Result<Credential, StoreError> {
    let c = change
        .snapshot()
        .credential(id)
        .ok_or_else(|| no_such(id))?;
    if !holds(c, mine) {
        return Err(StoreError::RotationGone(c.name.clone()));
    }
    Ok(c.clone())
}

impl Store {
    /// Step 2 of a rotation: the new password sealed into the credential as its pending
    /// rotation, over revision `based_on` (the one just verified), durably, before the server
    /// is touched. A credential changed since is a conflict; one already pending is refused.
    pub fn begin_rotation(
        &mut self,
        id: &RecordId,
        based_on: u64,
        new_password: SecretString,
        now: Timestamp,
    ) -> Result<PendingRotation, StoreError> {
        let started_by = self.vault.changed_by().to_string();
        self.vault.write(&mut self.snapshot, |change| {
            let mut c = change
                .snapshot()
                .credential(id)
                .ok_or_else(|| no_such(id))?
                .clone();
            if c.pending_rotation.is_some() {
                return Err(StoreError::RotationPending(c.name.clone()));
            }
            let mut secrets = SecretFields::new();
            secrets.insert(PASSWORD_FIELD, new_password);
            let pending = PendingRotation {
                secrets,
                started_at: now,
                started_by,
            };
            c.pending_rotation = Some(Box::new(pending.clone()));
            // Based on what was verified: a change since then is a conflict, not overwritten.
            c.revision.number = based_on;
            change.put_credential(c)?;
            change.note_last_as("credential rotation started");
            Ok(pending)
        })
    }

    /// Step 5: the server took the pending password and it logged in (`result`): it becomes the
    /// credential's password (a new revision, its password age restarting) and the pending
    /// rotation goes. Whatever else changed meanwhile is kept: the server has this password.
    pub fn finish_rotation(
        &mut self,
        id: &RecordId,
        mine: &PendingRotation,
        result: Verification,
        now: Timestamp,
    ) -> Result<Credential, StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            let mut c = current_holding(change, id, mine)?;
            take_pending(&mut c, now);
            c.record_verification(result.clone());
            let saved = change.put_credential(c)?;
            change.note_last_as("credential rotated");
            change.add_result(id, &result)?;
            Ok(saved)
        })
    }

    /// The server refused the change (nothing reached it): the pending rotation goes, the
    /// password stays, and `result` (what was verified, with why the change was refused) joins
    /// the history.
    pub fn drop_rotation(
        &mut self,
        id: &RecordId,
        mine: &PendingRotation,
        result: Verification,
    ) -> Result<(), StoreError> {
        self.vault.write(&mut self.snapshot, |change| {
            let mut c = current_holding(change, id, mine)?;
            c.pending_rotation = None;
            change.put_credential(c)?;
            change.note_last_as("credential rotation refused");
            change.add_result(id, &result)?;
            Ok(())
        })
    }

    /// Ends an interrupted rotation as `resolution` says (the server accepted the current
    /// password, or the pending one), with `result`, which says so, in the history. Nothing is
    /// written when the rotation was resolved meanwhile by another process or is undecided.
    pub fn resolve_rotation(
        &mut self,
        id: &RecordId,
        mine: &PendingRotation,
        resolution: Resolution,
        result: Verification,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if resolution == Resolution::Undecided {
            return Ok(false);
        }
        let outcome = self.vault.write(&mut self.snapshot, |change| {
            let mut c = match current_holding(change, id, mine) {
                Ok(c) => c,
                Err(StoreError::RotationGone(_)) => return Ok(false),
                Err(e) => return Err(e),
            };
            match resolution {
                Resolution::TakePending => take_pending(&mut c, now),
                _ => c.pending_rotation = None,
            }
            c.record_verification(result.clone());
            change.put_credential(c)?;
            change.note_last_as("credential rotation resolved");
            change.add_result(id, &result)?;
            Ok::<bool, StoreError>(true)
        });
        match outcome {
            // Resolving is best effort on the way to a verification: a conflict means someone
            // else changed the credential, and the next use looks again.
            Err(StoreError::Vault(VaultError::Conflict(_))) => Ok(false),
            other => other,
        }
    }
}

/// Makes the pending password the credential's own.
fn take_pending(c: &mut Credential, now: Timestamp) {
    if let Some(pending) = c.pending_rotation.take() {
        if let Some(p) = pending.secrets.get(PASSWORD_FIELD) {
            c.secrets.insert(PASSWORD_FIELD, p.clone());
        }
    }
    c.password_changed_at = Some(now);
    c.updated_at = now;
}
