//! Every redb table keyway uses, with its schema. Table names carry a version so a future format
//! can migrate table by table. Values are stored as opaque bytes and decoded outside redb, so a
//! damaged record is a typed error, never a panic inside the storage engine.

use redb::TableDefinition;

/// `"header"` -> sha256(body) || body, where body is the JSON `Header` (see header.rs).
/// Plaintext by necessity: it holds what is needed to derive the key (salt, KDF parameters) and
/// the wrapped data key, nothing else.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keyway-meta-v1");

/// record id (32 hex digits) -> nonce || AES-256-GCM(JSON record), AAD = (vault id, table, id).
pub const WORKSPACES: TableDefinition<&str, &[u8]> = TableDefinition::new("workspaces-v1");
pub const CREDENTIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("credentials-v1");
pub const FLOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("flows-v1");

/// credential id -> seq || sealed verification: each credential's newest verification result
/// (see results.rs for the format).
pub const RESULTS: TableDefinition<&str, &[u8]> = TableDefinition::new("results-v1");
/// (slot, credential id) -> the same bytes: a ring of each credential's last results. Slot first: an audit gives every
/// credential its next result, which for credentials verified equally often is the same slot,
/// so its writes land in one key range and the commit rewrites few pages (credential first
/// scattered them over the whole table and made the commit four times slower).
pub const HISTORY: TableDefinition<(u8, &str), &[u8]> = TableDefinition::new("history-v1");

pub const HEADER_KEY: &str = "header";

/// The names bound into each record's associated data.
pub const WORKSPACES_NAME: &str = "workspaces";
pub const CREDENTIALS_NAME: &str = "credentials";
pub const FLOWS_NAME: &str = "flows";
pub const RESULTS_NAME: &str = "results";
