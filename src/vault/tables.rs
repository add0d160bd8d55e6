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

pub const HEADER_KEY: &str = "header";

/// The names bound into each record's associated data.
pub const WORKSPACES_NAME: &str = "workspaces";
pub const CREDENTIALS_NAME: &str = "credentials";
pub const FLOWS_NAME: &str = "flows";
