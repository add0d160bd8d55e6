//! The workspaces screen.

mod view;

pub use view::*;
