//! The pure view: `render(state, frame)` draws the model and nothing else.

use ratatui::layout::{Constraint, Layout};
use ratatui::Frame;

use super::layout::too_small;
use super::screens;
use super::state::{Screen, State};
use super::widgets::chrome;

pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    if too_small(area.width, area.height) {
        chrome::too_small(frame, area, &state.theme);
        return;
    }
    let [title, main, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let screen_title = match state.screen {
        Screen::Unlock => "unlock".to_string(),
        Screen::Workspaces => "workspaces".to_string(),
        Screen::Grid => "components".to_string(),
        Screen::Credentials => format!("components › {}", state.credentials.component),
        Screen::Form => format!("components › {} › form", state.credentials.component),
    };
    chrome::title(frame, title, state, &screen_title);
    match state.screen {
        Screen::Unlock => screens::unlock::render(frame, main, state),
        Screen::Workspaces => screens::workspaces::render(frame, main, state),
        Screen::Grid => screens::grid::render(frame, main, state),
        Screen::Credentials => screens::credentials::render(frame, main, state),
        Screen::Form => screens::form::render(frame, main, state),
    }
    screens::modal::render(frame, main, state);
    chrome::hints(frame, hints, &state.theme, state.context());
    chrome::status_bar(frame, status, state);
}
