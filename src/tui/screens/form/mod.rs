//! The form screen.

mod login_view;
mod view;

pub use view::*;
