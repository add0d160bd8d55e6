//! Format 1 -> 2: format 1 kept each credential's latest result and its history inside the
//! credential record; format 2 keeps them in the results and history tables (results.rs). The
//! migration runs once, right after a format-1 vault passed every check and was opened for
//! writing, as one transaction: on any failure nothing changes and the vault stays format 1.

use std::path::Path;

use serde::Deserialize;

use super::crypto::DataKey;
use super::tables::{CREDENTIALS, CREDENTIALS_NAME, HEADER_KEY, HISTORY, META, RESULTS};
use super::{header, read_all, results, Vault, VaultError};
use crate::core::rules::Snapshot;
use crate::core::{Credential, RecordId, Verification, HISTORY_LIMIT};

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
            history.truncate(HISTORY_LIMIT);
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
        let encoded = header.encode();
        // Oldest first, so sequence numbers follow time and the newest becomes the latest.
        let results: Vec<(RecordId, &Verification)> = histories
            .iter()
            .flat_map(|(id, history)| history.iter().rev().map(|v| (id.clone(), v)))
            .collect();
        let mut next_seq = std::collections::HashMap::new();
        let sealed: Vec<_> = results
            .iter()
            .map(|(id, v)| {
                let seq = next_seq.get(id).copied().unwrap_or(0);
                next_seq.insert(id.clone(), seq + 1);
                results::seal(&self.key, &self.header.vault_id, id, seq, v)
            })
            .collect();
        // Re-sealing every record drops the embedded results (they are no longer serialized).
        let records: Vec<(&RecordId, Vec<u8>)> = snapshot
            .credentials
            .iter()
            .map(|c| (&c.id, self.seal_record(CREDENTIALS_NAME, &c.id, c)))
            .collect();
        self.write(|txn| {
            txn.open_table(RESULTS)?;
            txn.open_table(HISTORY)?;
            let mut t = txn.open_table(CREDENTIALS)?;
            for (id, bytes) in &records {
                t.insert(id.as_str(), bytes.as_slice())?;
            }
            results::insert(txn, &sealed)?;
            txn.open_table(META)?
                .insert(HEADER_KEY, encoded.as_slice())?;
            Ok(())
        })?;
        self.header = header;
        self.next_seq = next_seq;
        Ok(())
    }
}
