//! The component grid's state, driven without a terminal.

use super::keys::{Command, GRID, GRID_FILTER};
use super::{grid_columns, GridState};
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::testing::*;

#[test]
fn the_key_tables_are_well_formed() {
    assert_tables_well_formed(&[&GRID, &GRID_FILTER]);
}

#[test]
fn moving_down_onto_a_short_last_row_lands_on_its_last_card() {
    let mut shared = unlocked();
    let mut grid = GridState::default();
    let count = grid.visible_components(&shared.catalog).len();
    // A width whose rows leave the last one short.
    let width = (1..=8)
        .map(|n| n * super::CARD_WIDTH)
        .find(|w| count % grid_columns(*w) != 0)
        .expect("some width leaves a short row");
    shared.size = (width, 24);
    let columns = grid_columns(width);
    let last = count - 1;
    // The card above the empty places of the last row.
    grid.selected = (last / columns) * columns - 1;
    quiet(grid.command(&mut shared, Command::Down));
    assert_eq!(grid.selected, last);
    quiet(grid.command(&mut shared, Command::Down));
    assert_eq!(grid.selected, last, "the last card stays");
    quiet(grid.command(&mut shared, Command::Up));
    assert_eq!(grid.selected, last - columns);
}

#[test]
fn the_filter_narrows_and_cancel_clears_it() {
    let mut shared = unlocked();
    let mut grid = GridState::default();
    quiet(grid.command(&mut shared, Command::Filter));
    assert!(std::ptr::eq(grid.keys(&shared), &GRID_FILTER));
    for c in "strip".chars() {
        grid.focused_input()
            .unwrap()
            .handle(tui_input::InputRequest::InsertChar(c));
    }
    grid.edited(&mut shared);
    let shown: Vec<String> = grid
        .visible_components(&shared.catalog)
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(shown, ["stripe"]);
    // One Enter opens the match, and the filter stays for the way back.
    let opened = grid.command(&mut shared, Command::Confirm);
    assert_eq!(
        nav_only(opened),
        Some(Nav::Open(Route::Credentials {
            component: "stripe".into(),
            select: None,
        }))
    );
    assert!(!grid.filter.typing && grid.filter.text() == "strip");
    quiet(grid.command(&mut shared, Command::Filter));
    quiet(grid.command(&mut shared, Command::Cancel));
    assert_eq!(grid.filter.text(), "");
    assert!(grid.visible_components(&shared.catalog).len() > 1);
}

#[test]
fn the_grid_leads_to_the_flows_the_audit_and_the_workspaces() {
    let mut shared = unlocked();
    let mut grid = GridState::default();
    for (command, route) in [
        (Command::Flows, Route::Flows),
        (Command::Audit, Route::Audit),
        (Command::Workspaces, Route::Workspaces),
    ] {
        assert_eq!(
            nav_only(grid.command(&mut shared, command)),
            Some(Nav::Open(route))
        );
    }
}

#[test]
fn n_and_shift_n_step_through_the_filtered_cards_wrapping() {
    let mut shared = unlocked();
    let mut grid = GridState::default();
    quiet(grid.command(&mut shared, Command::Filter));
    for c in "git".chars() {
        grid.focused_input()
            .unwrap()
            .handle(tui_input::InputRequest::InsertChar(c));
    }
    grid.edited(&mut shared);
    // Leaving the field keeps the filter; the matches are the cards n/N step through.
    quiet(grid.command(&mut shared, Command::NextMatch));
    let count = grid.visible_components(&shared.catalog).len();
    assert!(count >= 2, "GitHub and GitLab match 'git'");
    assert!(!grid.filter.typing && grid.filter.text() == "git");
    grid.selected = count - 1;
    quiet(grid.command(&mut shared, Command::NextMatch));
    assert_eq!(grid.selected, 0, "wraps to the first match");
    quiet(grid.command(&mut shared, Command::PrevMatch));
    assert_eq!(grid.selected, count - 1, "wraps to the last");
}
