//! The unlock screen.

mod view;

pub use view::*;
