//! The pure core: domain types, their rules and the state machines. Nothing in here touches a
//! terminal, a file or a socket, so all of it is unit-tested without a runtime.

pub mod domain;
pub mod expiry;
pub mod input;
pub mod pem;
pub mod rules;
pub mod secret;
pub mod text;
pub mod time;
pub mod transport;

pub use domain::*;
pub use rules::RuleError;
