//! The promote screen.

mod view;

pub use view::*;
