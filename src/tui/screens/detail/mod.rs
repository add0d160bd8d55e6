//! The detail screen.

mod view;

pub use view::*;
