//! Rotating a database password in place, for the CLI and the TUI alike:
//! 1. verify the current credential (one that does not work is refused: nothing changes);
//! 2. seal the new password into the vault as the credential's pending rotation, durably;
//! 3. change it on the server with the credential itself (verify::Verifier::change_password);
//! 4. verify the new password over a fresh connection;
//! 5. make it the credential's password (a new revision) and drop the pending one.
//!
//! A crash at any step leaves a password that works in the vault: the current one until the
//! server took the new one, the pending one after. `resolve_interrupted` settles which on the
//! credential's next use. The rotation lock (vault::rotation_lock) is held throughout, so no
//! other process resolves a rotation while its new password may still be on its way.

use rand::rngs::OsRng;
use secrecy::SecretString;

use crate::clock;
use crate::core::rotation::{self, PendingRotation, Resolution, PASSWORD_FIELD};
use crate::core::schema::Component;
use crate::core::{Credential, RecordId, Status, Verification};
use crate::store::{Store, StoreError};
use crate::vault::rotation_lock::RotationLock;
use crate::verify::{Outcome, Verifier};

/// The steps, as the progress callback hears of them (numbered as in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    VerifyingCurrent = 1,
    RecordingPending = 2,
    ChangingOnServer = 3,
    VerifyingNew = 4,
    Saving = 5,
}

impl Step {
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn describe(self) -> &'static str {
        match self {
            Step::VerifyingCurrent => "verifying the current password",
            Step::RecordingPending => "recording the new password as pending in the vault",
            Step::ChangingOnServer => "changing the password on the server",
            Step::VerifyingNew => "verifying the new password",
            Step::Saving => "saving the new password",
        }
    }
}

/// A finished rotation.
#[derive(Debug)]
pub struct Rotated {
    /// How the server took it and the new password logged in.
    pub reason: String,
    /// The active flows using the credential: they get the new password, nothing to rebind.
    pub active_flows: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The current password does not work (or cannot be checked): nothing was written.
    #[error("credential '{name}' was not rotated: the current password does not verify ({reason}); nothing was changed")]
    NotVerified { name: String, reason: String },
    /// The server refused the change: the vault and the server are as they were.
    #[error("credential '{name}' was not rotated: {reason} The password stays as it was.")]
    ServerRefused { name: String, reason: String },
    /// Interrupted after the server may have taken the password: resolved (or not) at once.
    #[error("credential '{name}': the rotation did not complete ({reason}); {resolution}")]
    Interrupted {
        name: String,
        reason: String,
        resolution: String,
    },
    #[error("keyway cannot rotate {component} passwords: only PostgreSQL and MySQL/MariaDB logins can be rotated")]
    NotRotatable { component: String },
    #[error("credential '{0}' has no password field to rotate")]
    NoPassword(String),
    #[error("another keyway process is rotating a password of this vault; try again when it has finished")]
    Busy,
    #[error("cannot take the rotation lock {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RotateError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RotateError::Store(e) => e.exit_code(),
            RotateError::Busy => 5,
            RotateError::NotRotatable { .. } | RotateError::NoPassword(_) => 2,
            _ => 1,
        }
    }
}

/// The rotation lock's file: beside a file vault; for a team vault (no file of its own) in
/// this user's private runtime folder, so it covers this machine's keyway processes only.
fn lock_file(store: &Store) -> std::io::Result<std::path::PathBuf> {
    let vault = store.vault();
    if crate::vault::is_team_vault(vault.path()) {
        let dir = crate::session::socket_dir().map_err(|e| std::io::Error::other(e.to_string()))?;
        return Ok(dir.join(format!("rotate-{}.lock", vault.vault_id())));
    }
    Ok(crate::vault::rotation_lock::lock_path(vault.path()))
}

/// Takes the vault's rotation lock, or says another rotation holds it.
pub fn take_lock(store: &Store) -> Result<RotationLock, RotateError> {
    let failed = |path: String, source| RotateError::Lock { path, source };
    let file = lock_file(store).map_err(|e| failed("(the runtime folder)".into(), e))?;
    match RotationLock::try_take(&file) {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(RotateError::Busy),
        Err(source) => Err(failed(file.display().to_string(), source)),
    }
}

/// The credential with `password` in place of its own, for a check of that password.
fn with_password(c: &Credential, password: &SecretString) -> Credential {
    let mut other = c.clone();
    other.secrets.insert(PASSWORD_FIELD, password.clone());
    other
}

/// `outcome` as recorded at `at`, its reason prefixed by `what` (a rotation's words).
fn entry(outcome: &Outcome, what: &str, at: crate::core::time::Timestamp) -> Verification {
    let mut v = outcome.to_verification(at);
    v.reason = format!("{what} {}", v.reason);
    v
}

/// What to rotate: a stored credential, its component, and the new password's length.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub component: &'a Component,
    pub id: &'a RecordId,
    pub length: usize,
}

/// Rotates the target's password. The caller holds the rotation lock (`take_lock`).
/// `progress` hears of each step as it starts.
pub fn rotate_one(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    verifier: &Verifier,
    target: Target<'_>,
    _lock: &RotationLock,
    progress: &mut dyn FnMut(Step),
) -> Result<Rotated, RotateError> {
    let Target {
        component,
        id,
        length,
    } = target;
    let c = store
        .snapshot()
        .credential(id)
        .cloned()
        .ok_or_else(|| StoreError::from(no_such(id)))?;
    if !rotation::is_rotatable(component) {
        return Err(RotateError::NotRotatable {
            component: component.name.clone(),
        });
    }
    if !c.secrets.contains(PASSWORD_FIELD) {
        return Err(RotateError::NoPassword(c.name.clone()));
    }
    // A rotation interrupted before: settle it first (this process holds the lock).
    let c = if c.pending_rotation.is_some() {
        resolve_one(runtime, store, verifier, component, id)?;
        let again = store
            .snapshot()
            .credential(id)
            .cloned()
            .ok_or_else(|| StoreError::from(no_such(id)))?;
        if again.pending_rotation.is_some() {
            return Err(StoreError::RotationPending(again.name).into());
        }
        again
    } else {
        c
    };

    progress(Step::VerifyingCurrent);
    let current = runtime.block_on(verifier.verify(component, &c, clock::now()));
    if current.status != Status::Verified {
        return Err(RotateError::NotVerified {
            name: c.name.clone(),
            reason: current.reason,
        });
    }

    progress(Step::RecordingPending);
    let new_password = rotation::generate_password(&mut OsRng, length);
    let pending =
        store.begin_rotation(id, c.revision.number, new_password.clone(), clock::now())?;

    progress(Step::ChangingOnServer);
    let changed = runtime.block_on(verifier.change_password(component, &c, &new_password));
    match changed.status {
        Status::Verified => {}
        // The server answered and said no (or the change could not be sent): it still has
        // the current password.
        Status::Rejected | Status::Misconfigured => {
            let mut kept = current.to_verification(clock::now());
            kept.reason = format!(
                "Rotation refused, the password stays: {} {}",
                changed.reason, kept.reason
            );
            store.drop_rotation(id, &pending, kept)?;
            return Err(RotateError::ServerRefused {
                name: c.name.clone(),
                reason: changed.reason,
            });
        }
        // No answer: the change may or may not have happened. Ask the server which password
        // it takes.
        _ => {
            return Err(interrupted(
                runtime,
                store,
                verifier,
                component,
                id,
                &c,
                changed.reason,
            ))
        }
    }

    progress(Step::VerifyingNew);
    let rotated = with_password(&c, &new_password);
    let check = runtime.block_on(verifier.verify(component, &rotated, clock::now()));
    if check.status != Status::Verified {
        return Err(interrupted(
            runtime,
            store,
            verifier,
            component,
            id,
            &c,
            check.reason,
        ));
    }

    progress(Step::Saving);
    let now = clock::now();
    let result = entry(
        &check,
        &format!("Password rotated: {}", changed.reason),
        now,
    );
    store.finish_rotation(id, &pending, result, now)?;
    let active_flows = store
        .snapshot()
        .flows_using(id)
        .filter(|f| f.active)
        .map(|f| f.name.clone())
        .collect();
    Ok(Rotated {
        reason: format!("{} {}", changed.reason, check.reason),
        active_flows,
    })
}

/// A rotation that failed after the server may have taken the new password: resolved now.
fn interrupted(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    verifier: &Verifier,
    component: &Component,
    id: &RecordId,
    c: &Credential,
    reason: String,
) -> RotateError {
    let resolution = match resolve_one(runtime, store, verifier, component, id) {
        Ok(Some(Resolution::KeepCurrent)) => "the server kept the current password, which stays".to_string(),
        Ok(Some(Resolution::TakePending)) => {
            "the server took the new password, which is now the credential's".to_string()
        }
        Ok(_) => "neither password could be checked: the new one is kept pending and resolved on the credential's next use".to_string(),
        Err(e) => format!("the new one is kept pending and resolved on the credential's next use ({e})"),
    };
    RotateError::Interrupted {
        name: c.name.clone(),
        reason,
        resolution,
    }
}

fn no_such(id: &RecordId) -> crate::core::RuleError {
    crate::core::RuleError::NoSuchCredential {
        workspace: String::new(),
        name: id.to_string(),
    }
}

/// Settles credential `id`'s pending rotation, if it has one: the current password is tried,
/// and if the server refuses it, the pending one; whichever the server accepts becomes (or
/// stays) current, with "Rotation interrupted, resolved" in the history. None: nothing was
/// pending, or it was settled meanwhile by another process. The caller holds the lock.
fn resolve_one(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    verifier: &Verifier,
    component: &Component,
    id: &RecordId,
) -> Result<Option<Resolution>, StoreError> {
    let Some(c) = store.snapshot().credential(id).cloned() else {
        return Ok(None);
    };
    let Some(pending) = c.pending_rotation.clone() else {
        return Ok(None);
    };
    let Some(new_password) = pending.password().cloned() else {
        return Ok(None);
    };
    let current = runtime.block_on(verifier.verify(component, &c, clock::now()));
    let (resolution, outcome) = if current.status == Status::Verified {
        (rotation::resolution(current.status, None), current)
    } else {
        let other = with_password(&c, &new_password);
        let tried = runtime.block_on(verifier.verify(component, &other, clock::now()));
        (
            rotation::resolution(current.status, Some(tried.status)),
            tried,
        )
    };
    let Some(words) = rotation::resolved_reason(resolution, pending.started_at) else {
        return Ok(Some(Resolution::Undecided));
    };
    let now = clock::now();
    let written =
        store.resolve_rotation(id, &pending, resolution, entry(&outcome, &words, now), now)?;
    Ok(written.then_some(resolution))
}

/// What resolving the interrupted rotations among some credentials did.
#[derive(Debug, Default)]
pub struct Resolved {
    /// (credential name, how it was resolved).
    pub settled: Vec<(String, Resolution)>,
    /// Credentials whose rotation another process is running now (its lock held): left alone.
    pub in_progress: Vec<String>,
}

/// Resolves the pending rotations of the credentials `items` names, before they are used
/// (verify, audit, the TUI). Nothing is done while another process holds the rotation lock:
/// its rotation may be in flight, and its own last step settles it.
pub fn resolve_interrupted(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    verifier: &Verifier,
    items: &[(&Component, RecordId)],
) -> Result<Resolved, StoreError> {
    let mut resolved = Resolved::default();
    let pending: Vec<(&Component, RecordId, String)> = items
        .iter()
        .filter_map(|(component, id)| {
            let c = store.snapshot().credential(id)?;
            c.pending_rotation
                .as_ref()
                .map(|_| (*component, id.clone(), c.name.clone()))
        })
        .collect();
    if pending.is_empty() {
        return Ok(resolved);
    }
    let taken = lock_file(store).and_then(|file| RotationLock::try_take(&file));
    let Ok(Some(_lock)) = taken else {
        resolved.in_progress = pending.into_iter().map(|(_, _, name)| name).collect();
        return Ok(resolved);
    };
    for (component, id, name) in pending {
        if let Some(r) = resolve_one(runtime, store, verifier, component, &id)? {
            resolved.settled.push((name, r));
        }
    }
    Ok(resolved)
}

/// The description of a pending rotation, for the faces (`rotation pending since ...`).
pub fn pending_note(p: &PendingRotation) -> String {
    format!(
        "rotation pending since {} (by {}): resolved on next use",
        p.started_at.rfc3339(),
        p.started_by
    )
}
