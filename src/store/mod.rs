//! The one place where the rules meet the vault: every change is checked against the current
//! snapshot by the core's rules, written durably, and only then applied to the in-memory
//! snapshot. The CLI and the TUI both go through here, so there is one rule set and two faces.

mod flows;
mod recording;

use std::path::Path;

use crate::catalog::Catalog;
use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
use crate::core::input::{apply_fields, FieldError, FieldValue};
use crate::core::time::Timestamp;
use crate::core::Snapshot;
use crate::core::{Credential, Environment, RecordId, RuleError, Verification, Workspace};
use crate::vault::{crypto::fresh_id, kdf::KdfParams, Vault, VaultError};
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
}

impl StoreError {
    pub fn exit_code(&self) -> i32 {
        match self {
            // A name keyway does not accept is a bad value, like a bad field: 2. A rule about
            // what is stored (a name taken, a credential in use) is 1.
            StoreError::Rule(RuleError::BadName(_)) => 2,
            StoreError::Rule(_) => 1,
            StoreError::Field(_) | StoreError::UnknownComponent(_) => 2,
            StoreError::Vault(v) => v.exit_code(),
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

impl Store {
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Store, VaultError> {
        let (vault, snapshot) = Vault::open_and_load(path, passphrase)?;
        Ok(Store { vault, snapshot })
    }

    pub fn create(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        now: Timestamp,
    ) -> Result<Store, VaultError> {
        let vault = Vault::create(path, passphrase, params, now.0)?;
        Ok(Store {
            vault,
            snapshot: Snapshot::default(),
        })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn change_passphrase(&mut self, new: &[u8], params: KdfParams) -> Result<(), VaultError> {
        self.vault.change_passphrase(new, params)
    }

    // ---- workspaces ----------------------------------------------------------------------------

    pub fn add_workspace(&mut self, name: &str, now: Timestamp) -> Result<Workspace, StoreError> {
        self.snapshot.check_new_workspace(name, None)?;
        let w = Workspace {
            id: fresh_id(),
            name: name.to_string(),
            created_at: now,
        };
        self.vault.put_workspace(&w)?;
        self.snapshot.workspaces.push(w.clone());
        Ok(w)
    }

    pub fn rename_workspace(&mut self, id: &RecordId, name: &str) -> Result<(), StoreError> {
        self.snapshot.check_new_workspace(name, Some(id))?;
        let Some(pos) = self.snapshot.workspaces.iter().position(|w| &w.id == id) else {
            return Err(RuleError::NoSuchWorkspace(id.to_string()).into());
        };
        let mut w = self.snapshot.workspaces[pos].clone();
        w.name = name.to_string();
        self.vault.put_workspace(&w)?;
        self.snapshot.workspaces[pos] = w;
        Ok(())
    }

    /// Deletes a workspace; one that still holds records needs `force`, and then its
    /// credentials and flows go with it in the same transaction.
    pub fn remove_workspace(&mut self, name: &str, force: bool) -> Result<Workspace, StoreError> {
        let w = self.snapshot.workspace_by_name(name)?.clone();
        self.snapshot.check_workspace_delete(&w, force)?;
        let creds: Vec<RecordId> = self
            .snapshot
            .credentials_in(&w.id)
            .map(|c| c.id.clone())
            .collect();
        let flows: Vec<RecordId> = self
            .snapshot
            .flows_in(&w.id)
            .map(|f| f.id.clone())
            .collect();
        self.vault.delete_workspace(&w.id, &creds, &flows)?;
        self.snapshot.credentials.retain(|c| c.workspace != w.id);
        self.snapshot.flows.retain(|f| f.workspace != w.id);
        self.snapshot.workspaces.retain(|x| x.id != w.id);
        Ok(w)
    }

    // ---- credentials ---------------------------------------------------------------------------

    /// Builds the credential a draft describes (new, or `editing` an existing one) and checks
    /// every rule that does not need the network. Nothing is written.
    pub fn prepare_credential(
        &self,
        catalog: &Catalog,
        draft: CredentialDraft,
        editing: Option<&RecordId>,
        now: Timestamp,
    ) -> Result<Credential, StoreError> {
        let component = catalog
            .get(&draft.component)
            .ok_or_else(|| StoreError::UnknownComponent(draft.component.clone()))?;
        let workspace = self
            .snapshot
            .workspace(&draft.workspace)
            .ok_or_else(|| RuleError::NoSuchWorkspace(draft.workspace.to_string()))?;
        self.snapshot
            .check_credential_name(workspace, &draft.component, &draft.name, editing)?;
        let base = editing.and_then(|id| self.snapshot.credential(id));
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
        })
    }

    /// Writes a prepared (and verified, or explicitly unverified) credential, and its new
    /// verification result (`last_verification`, unless it is the one already stored) to its
    /// history, in one transaction. The name rule is checked again: the snapshot may have
    /// changed while the verification ran.
    pub fn save_credential(&mut self, credential: Credential) -> Result<(), StoreError> {
        let workspace = self
            .snapshot
            .workspace(&credential.workspace)
            .ok_or_else(|| RuleError::NoSuchWorkspace(credential.workspace.to_string()))?
            .clone();
        self.snapshot.check_credential_name(
            &workspace,
            &credential.component,
            &credential.name,
            Some(&credential.id),
        )?;
        let stored = self
            .snapshot
            .credential(&credential.id)
            .and_then(|c| c.last_verification.as_ref());
        let new_result = credential
            .last_verification
            .as_ref()
            .filter(|v| Some(*v) != stored);
        self.vault.save_verified(&credential, new_result)?;
        match self
            .snapshot
            .credentials
            .iter_mut()
            .find(|c| c.id == credential.id)
        {
            Some(slot) => *slot = credential,
            None => self.snapshot.credentials.push(credential),
        }
        Ok(())
    }

    /// Writes several new credentials, each with its verification history (newest first; the
    /// first entry is its latest result), in one transaction (an import): all or nothing.
    pub fn save_credentials(
        &mut self,
        credentials: Vec<(Credential, Vec<Verification>)>,
    ) -> Result<(), StoreError> {
        let mut names = std::collections::HashSet::new();
        for (c, _) in &credentials {
            let workspace = self
                .snapshot
                .workspace(&c.workspace)
                .ok_or_else(|| RuleError::NoSuchWorkspace(c.workspace.to_string()))?;
            self.snapshot
                .check_credential_name(workspace, &c.component, &c.name, Some(&c.id))?;
            if !names.insert((c.workspace.clone(), c.component.clone(), c.name.clone())) {
                return Err(RuleError::CredentialExists {
                    workspace: workspace.name.clone(),
                    component: c.component.clone(),
                    name: c.name.clone(),
                }
                .into());
            }
        }
        self.vault.put_credentials_with_history(&credentials)?;
        self.snapshot
            .credentials
            .extend(credentials.into_iter().map(|(mut c, history)| {
                c.last_verification = history.into_iter().next();
                c
            }));
        Ok(())
    }

    /// A credential's verification history, newest first, read from the vault.
    pub fn history(&self, id: &RecordId) -> Result<Vec<Verification>, StoreError> {
        Ok(self.vault.history(id)?)
    }

    /// Stores a verification result, and any tokens obtained by it, in one write.
    pub fn record_verification(
        &mut self,
        id: &RecordId,
        result: Verification,
        tokens: Option<&TokenUpdate>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_verifications(vec![(id.clone(), result, tokens.cloned())], now)
    }

    /// Deletes a credential unless an active flow uses it (the refusal names those flows).
    pub fn remove_credential(&mut self, id: &RecordId) -> Result<Credential, StoreError> {
        let c = self
            .snapshot
            .credential(id)
            .ok_or_else(|| RuleError::NoSuchCredential {
                workspace: String::new(),
                name: id.to_string(),
            })?
            .clone();
        self.snapshot.check_credential_delete(&c)?;
        self.vault.delete_credential(id)?;
        self.snapshot.credentials.retain(|x| &x.id != id);
        Ok(c)
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
