//! The grid screen.

mod view;

pub use view::*;
