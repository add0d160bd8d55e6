//! The three kinds of records and how each is sealed: JSON (its revision, who made it and when
//! included) under the data key, with associated data binding the vault, the table, the record
//! id and the revision. The revision is also kept in the clear beside the ciphertext (so a
//! storage can make a write conditional on it); opening checks that the two agree.

use serde::{de::DeserializeOwned, Serialize};
use zeroize::Zeroizing;

use super::crypto::{self, DataKey};
use super::journal::{Edit, Step};
use super::storage::{StoredRecord, Table};
use crate::core::Snapshot;
use crate::core::{AnyRecord, Credential, Flow, RecordId, Revision, Workspace};

/// A record kind: its table and where it lives in a snapshot.
pub(crate) trait Record: Serialize + DeserializeOwned + Clone {
    const TABLE: Table;
    fn id(&self) -> &RecordId;
    fn revision(&self) -> &Revision;
    fn revision_mut(&mut self) -> &mut Revision;
    fn into_any(self) -> AnyRecord;
    fn all(snapshot: &Snapshot) -> &Vec<Self>;
    fn all_mut(snapshot: &mut Snapshot) -> &mut Vec<Self>;
    /// Carries over what the stored record does not hold (a credential's latest result) from
    /// the version a snapshot had.
    fn keep_unsealed(&mut self, _previous: &Self) {}
    /// An edit of a snapshot's list of this kind, for the journal.
    fn step(edit: Edit<Self>) -> Step;
    /// The record's name, as the change log names it.
    fn name(&self) -> &str;
    /// The workspace the record belongs to (None: it is one).
    fn workspace_of(&self) -> Option<&RecordId>;
    /// The change log's words for this kind (added, changed, removed).
    const ACTIONS: [&'static str; 3];
}

/// The impl of one kind: its type, table, list in the snapshot, variant of `AnyRecord` and of
/// the journal's `Step`; `keep_unsealed` where the kind has anything unsealed.
macro_rules! record {
    ($kind:ident, $table:ident, $list:ident, $step:ident, $actions:expr, $ws:expr $(, $keep:item)?) => {
        impl Record for $kind {
            const TABLE: Table = Table::$table;
            const ACTIONS: [&'static str; 3] = $actions;
            fn name(&self) -> &str {
                &self.name
            }
            fn workspace_of(&self) -> Option<&RecordId> {
                let of: fn(&Self) -> Option<&RecordId> = $ws;
                of(self)
            }
            fn id(&self) -> &RecordId {
                &self.id
            }
            fn revision(&self) -> &Revision {
                &self.revision
            }
            fn revision_mut(&mut self) -> &mut Revision {
                &mut self.revision
            }
            fn into_any(self) -> AnyRecord {
                AnyRecord::$kind(self)
            }
            fn all(snapshot: &Snapshot) -> &Vec<Self> {
                &snapshot.$list
            }
            fn all_mut(snapshot: &mut Snapshot) -> &mut Vec<Self> {
                &mut snapshot.$list
            }
            fn step(edit: Edit<Self>) -> Step {
                Step::$step(edit)
            }
            $($keep)?
        }
    };
}

record!(
    Workspace,
    Workspaces,
    workspaces,
    Workspaces,
    ["workspace added", "workspace renamed", "workspace removed"],
    |_| None
);
record!(
    Flow,
    Flows,
    flows,
    Flows,
    ["flow added", "flow changed", "flow removed"],
    |f| Some(&f.workspace)
);
record!(
    Credential,
    Credentials,
    credentials,
    Credentials,
    [
        "credential added",
        "credential edited",
        "credential deleted"
    ],
    |c| Some(&c.workspace),
    fn keep_unsealed(&mut self, previous: &Self) {
        self.last_verification = previous.last_verification.clone();
    }
);

/// nonce || AES-256-GCM(JSON record) for the record at its own revision.
pub(crate) fn seal<T: Record>(key: &DataKey, vault_id: &str, record: &T) -> Vec<u8> {
    // A record of strings, numbers and maps always serializes.
    let plain = Zeroizing::new(serde_json::to_vec(record).unwrap_or_default());
    let aad = crypto::revision_aad(
        vault_id,
        T::TABLE.name(),
        record.id().as_str(),
        record.revision().number,
    );
    key.seal(&plain, &aad)
}

/// Opens a stored record; the error says what is wrong with it, for a "damaged" message.
pub(crate) fn open<T: Record>(
    key: &DataKey,
    vault_id: &str,
    stored: StoredRecord<'_>,
) -> Result<T, String> {
    let (id, name) = (stored.id, T::TABLE.name());
    let aad = crypto::revision_aad(vault_id, name, id, stored.revision);
    let plain = key
        .open(stored.sealed, &aad)
        .map_err(|_| format!("record {id} in {name} failed authentication"))?;
    let record: T = serde_json::from_slice(&plain)
        .map_err(|_| format!("record {id} in {name} cannot be decoded"))?;
    if record.id().as_str() != id || record.revision().number != stored.revision {
        return Err(format!(
            "record {id} in {name} does not match its key or revision"
        ));
    }
    Ok(record)
}

/// Opens a record of vault formats 1 to 4 (no revision, the older associated data).
pub(crate) fn open_v1<T: DeserializeOwned>(
    key: &DataKey,
    vault_id: &str,
    name: &str,
    id: &str,
    sealed: &[u8],
) -> Result<T, String> {
    let aad = crypto::record_aad(vault_id, name, id);
    let plain = key
        .open(sealed, &aad)
        .map_err(|_| format!("record {id} in {name} failed authentication"))?;
    serde_json::from_slice(&plain).map_err(|_| format!("record {id} in {name} cannot be decoded"))
}
