//! The credentials screen.

mod view;

pub use view::*;
