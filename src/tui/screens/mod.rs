//! One home per screen: each module owns its state, its key tables (keys.rs), its update (the
//! `Screen` impl, returning effects and a navigation request), its view (view.rs) and its unit
//! tests (tests.rs). Screens never call each other; they ask the app's navigation stack to open
//! or close one (app/nav.rs).

pub mod audit;
pub mod credentials;
pub mod detail;
pub mod flows;
pub mod form;
pub mod grid;
pub mod promote;
pub mod unlock;
pub mod used_by;
pub mod wizard;
pub mod workspaces;
