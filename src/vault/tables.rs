//! Every redb table keyway uses, with its schema. Table names carry a version so a format can
//! migrate table by table. Values are stored as opaque bytes and decoded outside redb, so a
//! damaged record is a typed error, never a panic inside the storage engine. Every table of the
//! current format exists from `init` on: a missing one is damage, never "empty".

use redb::TableDefinition;

/// `"header"` -> sha256(body) || body, where body is the JSON `Header` (see header.rs): the key
/// slot. Plaintext by necessity: it holds what is needed to derive the key (salt, KDF
/// parameters) and the wrapped data key, nothing else.
/// `"generation"` (format 5) -> u64 big-endian, moved on by every commit: how a process tells,
/// with one read, whether anything changed since it last looked.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("keyway-meta-v1");

/// Format 5: record id (32 hex digits) -> revision (u64 big-endian) || nonce ||
/// AES-256-GCM(JSON record, its revision included), AAD = (vault id, table, id, revision).
pub const WORKSPACES: TableDefinition<&str, &[u8]> = TableDefinition::new("workspaces-v2");
pub const CREDENTIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("credentials-v2");
pub const FLOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("flows-v2");

/// Formats 1 to 4: record id -> nonce || AES-256-GCM(JSON record), AAD = (vault id, table,
/// id). Read until the first write migrates them to the tables above, then deleted.
pub const WORKSPACES_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("workspaces-v1");
pub const CREDENTIALS_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("credentials-v1");
pub const FLOWS_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("flows-v1");

/// Format 2 only: credential id -> its newest result (the same bytes as its newest history
/// entry). Read once to migrate a format-2 vault, then deleted.
pub const FORMAT2_LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("results-v1");
/// (slot, credential id) -> seq || sealed verification: a ring of each credential's last results
/// (see results.rs for the format). Slot first: an audit gives every credential its next result,
/// which for credentials verified equally often is the same slot, so its writes land in one key
/// range and the commit rewrites few pages (credential first scattered them over the whole table
/// and made the commit four times slower).
pub const HISTORY: TableDefinition<(u8, &str), &[u8]> = TableDefinition::new("history-v1");
/// `"next"` -> the sealed sequence numbers of every credential's next result (sequences.rs).
pub const SEQUENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("sequences-v1");
pub const SEQUENCES_KEY: &str = "next";

pub const HEADER_KEY: &str = "header";
pub const GENERATION_KEY: &str = "generation";

/// The names bound into each record's associated data.
pub const WORKSPACES_NAME: &str = "workspaces";
pub const CREDENTIALS_NAME: &str = "credentials";
pub const FLOWS_NAME: &str = "flows";
pub const RESULTS_NAME: &str = "results";
pub const SEQUENCES_NAME: &str = "sequences";
/// The history table, as error messages name it.
pub const HISTORY_NAME: &str = "history";
