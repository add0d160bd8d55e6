//! The TUI's I/O: the event loop and the effect runner around the pure app, the team vault's
//! change feed (live.rs), the OAuth2 login tasks, the terminal, and the small remembered-state file.

pub mod clipboard;
pub(crate) mod effects;
pub(crate) mod event_loop;
pub(crate) mod live;
pub(crate) mod login_tasks;
pub mod remember;
pub mod terminal;
