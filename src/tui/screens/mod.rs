//! One render function per screen, plus the modal dialogs drawn over them.

pub mod credentials;
pub mod form;
pub mod grid;
pub mod modal;
pub mod unlock;
pub mod workspaces;
