//! The audit screen.

mod view;

pub use view::*;
