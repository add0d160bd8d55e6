//! The used_by screen.

mod view;

pub use view::*;
