//! The flows screen.

mod view;

pub use view::*;
