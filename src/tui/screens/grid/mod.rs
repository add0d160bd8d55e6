//! The component grid: one card per component with a counter of its credentials in the open
//! workspace, filtered by name; the way into a component's credentials, the flows, the audit
//! and the workspace picker.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::catalog::Catalog;
use crate::core::schema::Component;
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::filter::{step, ListFilter};
use keys::{Command, GRID, GRID_FILTER};

/// A card's size; update and render share it, so both agree on the grid's shape.
pub const CARD_WIDTH: u16 = 24;
pub const CARD_HEIGHT: u16 = 4;

/// Cards per grid row for a terminal this wide.
pub fn grid_columns(width: u16) -> usize {
    usize::from((width / CARD_WIDTH).max(1))
}

#[derive(Debug, Default)]
pub struct GridState {
    pub selected: usize,
    pub filter: ListFilter,
}

impl GridState {
    /// Components shown on the grid, after the filter.
    pub fn visible_components<'a>(&self, catalog: &'a Catalog) -> Vec<&'a Component> {
        catalog.matching(self.filter.text())
    }
}

impl Screen for GridState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.filter.typing {
            &GRID_FILTER
        } else {
            &GRID
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        let count = self.visible_components(&shared.catalog).len();
        let columns = grid_columns(shared.size.0);
        if self.filter.typing {
            match command {
                // One Enter: the filter stays and the selected (first) match opens.
                Command::Confirm => {
                    self.filter.stop();
                    return self.command(shared, Command::Open);
                }
                Command::Cancel => {
                    self.filter.clear();
                    self.selected = 0;
                    return Update::none();
                }
                _ => self.filter.stop(),
            }
        }
        let last = count.saturating_sub(1);
        let sel = self.selected.min(last);
        self.selected = match command {
            Command::Left => sel.saturating_sub(1),
            Command::Right => (sel + 1).min(last),
            Command::Up => sel.checked_sub(columns).unwrap_or(sel),
            Command::Down if sel + columns <= last => sel + columns,
            // The last row may be short: moving down from above it lands on its last card.
            Command::Down if sel / columns < last / columns => last,
            Command::NextMatch => step(sel, count, true),
            Command::PrevMatch => step(sel, count, false),
            _ => sel,
        };
        match command {
            Command::Filter => self.filter.start(),
            Command::Back => {
                self.filter.clear();
                self.selected = 0;
            }
            Command::Flows => return Update::nav(Nav::Open(Route::Flows)),
            Command::Audit => return Update::nav(Nav::Open(Route::Audit)),
            Command::Workspaces => return Update::nav(Nav::Open(Route::Workspaces)),
            Command::Open => {
                let Some(id) = self
                    .visible_components(&shared.catalog)
                    .get(sel)
                    .map(|c| c.id.clone())
                else {
                    return Update::none();
                };
                shared.notice = None;
                return Update::nav(Nav::Open(Route::Credentials {
                    component: id,
                    select: None,
                }));
            }
            _ => {}
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "components".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        self.filter.typing.then_some(&mut self.filter.input)
    }

    fn edited(&mut self, _shared: &mut Shared) {
        self.selected = 0;
    }
}
