//! keyway: a keyboard-driven terminal app that manages the credentials of an integration
//! platform. The pure `core` is surrounded by thin edges: the `vault` (redb + crypto), the
//! verifiers, the TUI and the CLI.

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod files;
pub mod import;
pub mod paths;
pub mod process;
pub mod rotate;
pub mod session;
pub mod store;
pub mod transfer;
pub mod tui;
pub mod vault;
pub mod verify;
