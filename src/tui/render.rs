//! The pure view: `render(state, frame)` draws the model and nothing else.

use ratatui::layout::{Constraint, Layout};
use ratatui::Frame;

use super::layout::too_small;
use super::screens;
use super::state::{FormOrigin, Screen, State};
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
        Screen::Form => form_title(state),
        Screen::Flows => "flows".to_string(),
        Screen::Wizard => {
            let step = state.wizard.as_ref().map_or(1, |w| w.step.number());
            format!("flows › wizard › step {step} of 4")
        }
        Screen::Promote => "flows › promote".to_string(),
        Screen::UsedBy => "credential › used by".to_string(),
        Screen::Audit => "audit".to_string(),
        Screen::Detail => "credential › detail".to_string(),
    };
    chrome::title(frame, title, state, &screen_title);
    match state.screen {
        Screen::Unlock => screens::unlock::render(frame, main, state),
        Screen::Workspaces => screens::workspaces::render(frame, main, state),
        Screen::Grid => screens::grid::render(frame, main, state),
        Screen::Credentials => screens::credentials::render(frame, main, state),
        Screen::Form => screens::form::render(frame, main, state),
        Screen::Flows => screens::flows::render(frame, main, state),
        Screen::Wizard => screens::wizard::render(frame, main, state),
        Screen::Promote => screens::promote::render(frame, main, state),
        Screen::UsedBy => screens::used_by::render(frame, main, state),
        Screen::Audit => screens::audit::render(frame, main, state),
        Screen::Detail => screens::detail::render(frame, main, state),
    }
    screens::modal::render(frame, main, state);
    chrome::hints(frame, hints, &state.theme, state.context());
    chrome::status_bar(frame, status, state);
}

/// The form's breadcrumb says where it returns: the credentials page, the wizard or promotion.
fn form_title(state: &State) -> String {
    let Some(form) = state.form.as_ref() else {
        return "form".to_string();
    };
    match form.origin {
        FormOrigin::Credentials => format!("components › {} › form", form.component),
        FormOrigin::Wizard { .. } => format!("flows › wizard › new {} credential", form.component),
        FormOrigin::Promote { .. } => {
            format!("flows › promote › new {} credential", form.component)
        }
    }
}
