//! What a screen that shows one stored credential (the audit's selected row, the detail view)
//! can do to it, the same from each: the fix where the problem shows. Edit it, verify it
//! again, rebind the flows using it, delete it (guarded as everywhere) or go to its list.

use super::nav::{Nav, Route};
use super::screen::Update;
use super::shared::Shared;
use crate::core::Credential;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Edit,
    Verify,
    Rebind,
    Delete,
    GoToComponent,
}

pub fn act_on(shared: &mut Shared, c: &Credential, act: Act) -> Update {
    match act {
        Act::Edit => Update::nav(Nav::Open(Route::Form {
            component: c.component.clone(),
            editing: Some(c.id.clone()),
            environment: String::new(),
            title: format!("{} › edit", c.name),
        })),
        Act::Verify => Update::effects(shared.verify_stored(c.clone())),
        Act::Rebind => Update::nav(Nav::Open(Route::UsedBy {
            credential: c.id.clone(),
        })),
        Act::Delete => {
            shared.ask_delete_credential(c);
            Update::none()
        }
        Act::GoToComponent => Update::nav(Nav::Open(Route::Credentials {
            component: c.component.clone(),
            select: Some(c.id.clone()),
        })),
    }
}
