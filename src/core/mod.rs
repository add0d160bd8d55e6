//! The pure core: domain types, their rules and the state machines. Nothing in here touches a
//! terminal, a file or a socket, so all of it is unit-tested without a runtime.

pub mod dburl;
pub mod domain;
pub mod env;
pub mod error;
pub mod expiry;
pub mod filter;
pub mod health;
pub mod input;
pub mod liveness;
pub mod names;
pub mod pem;
pub mod revision;
pub mod rotation;
pub mod rules;
pub mod save;
pub mod schema;
pub mod secret;
pub mod snapshot;
pub mod text;
pub mod time;
pub mod transport;

pub use domain::*;
pub use error::RuleError;
pub use revision::{AnyRecord, Conflict, RecordKind};
pub use snapshot::Snapshot;
