//! The pure app: the one action type, the state every screen shares, the navigation stack of
//! screens, `update` (routing and navigation) and `render`. Nothing here touches a terminal,
//! a file or a socket; the runtime (../runtime/) feeds it actions and runs its effects.
//!
//! Two layers, so the screens and the app never import each other in a circle:
//! - what screens are built with: `action`, `acts`, `keys`, `nav`, `screen`, `shared`,
//!   `vault_view`;
//! - what drives the screens: `pages` (the list of screens), `navigation` (the stack), `state`,
//!   `update`, `stored`, `dialogs` and `frame` (render).

pub mod action;
pub mod acts;
pub mod command_line;
pub mod dialogs;
pub mod frame;
pub mod keys;
pub mod nav;
pub mod navigation;
pub mod pages;
pub mod screen;
pub mod shared;
pub mod state;
mod stored;
#[cfg(test)]
pub(crate) mod testing;
pub mod update;
pub mod vault_view;
