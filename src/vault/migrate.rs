//! Format 1 -> 2: format 1 kept each credential's latest result and its history inside the
//! credential record; format 2 keeps them in the results and history tables (results.rs). The
//! migration runs once, right after a format-1 vault passed every check and was opened for
//! writing, as one transaction: on any failure nothing changes and the vault stays format 1.

use std::path::Path;

use serde::Deserialize;

use super::crypto::DataKey;
use super::tables::{CREDENTIALS, CREDENTIALS_NAME};
use super::{header, read_all, Vault, VaultError};
use crate::core::rules::Snapshot;
use crate::core::{Credential, RecordId, Verification};

/// A credential record as format 1 wrote it.
#[derive(Deserialize)]
struct Format1Credential {
    #[serde(flatten)]
    credential: Credential,
    /// Newest first.
    #[serde(default)]
    history: Vec<Verification>,
}

/// Histories by credential, newest first.
pub(super) type Histories = Vec<(RecordId, Vec<Verification>)>;

/// The credentials of a format-1 vault, and the histories their records carried.
pub(super) fn read_format1_credentials(
    txn: &redb::ReadTransaction,
    path: &Path,
    vault_id: &str,
    key: &DataKey,
) -> Result<(Vec<Credential>, Histories), VaultError> {
    let records: Vec<Format1Credential> =
        read_all(txn, path, vault_id, key, CREDENTIALS, CREDENTIALS_NAME)?;
    let mut histories = Vec::new();
    let credentials = records
        .into_iter()
        .map(|r| {
            let mut history = r.history;
            // A latest result that never made it into the history still belongs there.
            if let Some(last) = &r.credential.last_verification {
                if history.first() != Some(last) {
                    history.insert(0, last.clone());
                }
            }
            if !history.is_empty() {
                histories.push((r.credential.id.clone(), history));
            }
            r.credential
        })
        .collect();
    Ok((credentials, histories))
}

impl Vault {
    /// Moves the results out of the credential records and stamps the header with the current
    /// format, in one transaction.
    pub(super) fn migrate(
        &mut self,
        snapshot: &Snapshot,
        histories: &[(RecordId, Vec<Verification>)],
    ) -> Result<(), VaultError> {
        let mut header = self.header.clone();
        header.format = header::FORMAT;
        let mut batch = self.begin_results()?;
        // Re-sealing every record drops the embedded results (they are no longer serialized).
        for c in &snapshot.credentials {
            batch.put_credential(c)?;
        }
        for (id, history) in histories {
            batch.add_history(id, history)?;
        }
        batch.put_header(&header)?;
        let committed = batch.commit()?;
        self.committed(committed);
        self.header = header;
        Ok(())
    }
}
