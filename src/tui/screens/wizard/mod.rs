//! The wizard screen.

mod view;

pub use view::*;
