//! One render function per screen, plus the modal dialogs drawn over them.

pub mod audit;
pub mod credentials;
pub mod detail;
pub mod flows;
pub mod form;
pub mod grid;
pub mod modal;
pub mod promote;
pub mod unlock;
pub mod used_by;
pub mod wizard;
pub mod workspaces;
