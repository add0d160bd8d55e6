//! The dialogs drawn over the current screen (help, and the delete and discard confirmations):
//! their keys and what their answers do. A delete is the app's to send; a confirmed discard is
//! told to the screen that asked for it.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::action::Effect;
use super::keys::{bind, k, keys_label, KeyHelp, Keys, ENTER, ESC, F1, TAB};
use super::shared::{DeleteTarget, Modal, Shared, YankChoice};
use crate::tui::widgets::dialog::dialog;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Close,
    Confirm,
    Cancel,
    /// The command line: Tab.
    Complete,
    /// The second of a dialog's choices (`Y`: the detail).
    Second,
    /// The third (`Y`: the revealed secret, which asks first).
    Third,
}

pub static HELP: Keys<Command> = Keys {
    title: "Help",
    takes_text: false,
    bindings: &[bind(
        &[ESC, k('?'), k('q'), F1],
        Command::Close,
        "close help",
    )],
};

pub static CONFIRM_DELETE: Keys<Command> = Keys {
    title: "Confirm delete",
    takes_text: false,
    bindings: &[
        bind(&[k('y')], Command::Confirm, "delete"),
        bind(&[k('n'), ESC], Command::Cancel, "keep it"),
    ],
};

/// The `:` command line (typed; other keys edit it).
pub static COMMAND_LINE: Keys<Command> = Keys {
    title: "Command line",
    takes_text: true,
    bindings: &[
        bind(
            &[ENTER],
            Command::Confirm,
            "run: audit, flows, grid, ws NAME, c COMPONENT",
        ),
        bind(
            &[TAB],
            Command::Complete,
            "complete the command or its argument",
        ),
        bind(&[ESC], Command::Cancel, "close"),
    ],
};

/// `Y`: copy the reason or the detail.
pub static YANK: Keys<Command> = Keys {
    title: "Copy",
    takes_text: false,
    bindings: &[
        bind(&[k('r')], Command::Confirm, "copy the reason"),
        bind(&[k('d')], Command::Second, "copy the detail"),
        bind(&[ESC, k('n')], Command::Cancel, "copy nothing"),
    ],
};

/// `Y` while a secret is revealed: the secret too, after a confirmation.
pub static YANK_WITH_SECRET: Keys<Command> = Keys {
    title: "Copy",
    takes_text: false,
    bindings: &[
        bind(&[k('r')], Command::Confirm, "copy the reason"),
        bind(&[k('d')], Command::Second, "copy the detail"),
        bind(
            &[k('s')],
            Command::Third,
            "copy the revealed secret (asks first)",
        ),
        bind(&[ESC, k('n')], Command::Cancel, "copy nothing"),
    ],
};

pub static CONFIRM_YANK_SECRET: Keys<Command> = Keys {
    title: "Copy the secret",
    takes_text: false,
    bindings: &[
        bind(
            &[k('y')],
            Command::Confirm,
            "copy the secret to the clipboard",
        ),
        bind(&[k('n'), ESC], Command::Cancel, "copy nothing"),
    ],
};

pub static CONFIRM_REVEAL: Keys<Command> = Keys {
    title: "Show the stored secret",
    takes_text: false,
    bindings: &[
        bind(&[k('y')], Command::Confirm, "show it for 10 s"),
        bind(&[k('n'), ESC], Command::Cancel, "keep it hidden"),
    ],
};

/// A delete a rule refused: the dialog only explains, so its one key closes it.
pub static DELETE_REFUSED: Keys<Command> = Keys {
    title: "Delete refused",
    takes_text: false,
    bindings: &[bind(&[ESC, ENTER, k('n')], Command::Close, "close")],
};

pub static CONFIRM_DISCARD: Keys<Command> = Keys {
    title: "Discard changes",
    takes_text: false,
    bindings: &[
        bind(&[k('y')], Command::Confirm, "discard the changes"),
        bind(&[k('n'), ESC], Command::Cancel, "keep editing"),
    ],
};

pub static CONFIRM_ROTATE: Keys<Command> = Keys {
    title: "Rotate password",
    takes_text: false,
    bindings: &[
        bind(&[k('y')], Command::Confirm, "rotate the password"),
        bind(&[k('n'), ESC], Command::Cancel, "leave it"),
    ],
};

pub fn keys(modal: &Modal) -> &'static Keys<Command> {
    match modal {
        Modal::Help { .. } => &HELP,
        Modal::ConfirmDelete {
            refusal: Some(_), ..
        } => &DELETE_REFUSED,
        Modal::ConfirmDelete { .. } => &CONFIRM_DELETE,
        Modal::ConfirmDiscard(_) => &CONFIRM_DISCARD,
        Modal::CommandLine(_) => &COMMAND_LINE,
        Modal::Yank(_) => &YANK,
        Modal::YankWithSecret { .. } => &YANK_WITH_SECRET,
        Modal::ConfirmYankSecret(_) => &CONFIRM_YANK_SECRET,
        Modal::ConfirmReveal(_) => &CONFIRM_REVEAL,
        Modal::ConfirmRotate(_) => &CONFIRM_ROTATE,
    }
}

/// What answering the dialog asks for.
pub enum Answer {
    /// Nothing more (the dialog closed).
    Closed,
    Effect(Effect),
    /// The screen on top is to discard its changes.
    Discard,
    /// The screen on top is to show the stored secret it asked about.
    Reveal,
    /// Another dialog follows (the secret's confirmation).
    Next(Modal),
    /// The confirmed secret goes to the clipboard; the notice says so, naming only the field.
    CopySecret {
        effect: Effect,
        label: String,
    },
}

/// The dialog answered with `command`; it closes.
pub fn answer(modal: Modal, command: Command) -> Answer {
    match (modal, command) {
        (
            Modal::ConfirmDelete {
                target,
                refusal: None,
            },
            Command::Confirm,
        ) => Answer::Effect(match target {
            DeleteTarget::Credential { id, .. } => Effect::DeleteCredential { id },
            DeleteTarget::EmptyWorkspace { name } => Effect::DeleteWorkspace { name, force: false },
            DeleteTarget::Flow { id, .. } => Effect::DeleteFlow { id },
        }),
        (Modal::ConfirmDiscard(_), Command::Confirm) => Answer::Discard,
        (
            Modal::Yank(choices) | Modal::YankWithSecret { choices, .. },
            Command::Confirm | Command::Second,
        ) => {
            let what = if command == Command::Confirm {
                "reason"
            } else {
                "detail"
            };
            match choices.into_iter().find(|c| c.what == what) {
                Some(c) => Answer::Effect(Effect::Copy { text: c.text }),
                None => Answer::Closed,
            }
        }
        (Modal::YankWithSecret { secret, .. }, Command::Third) => {
            Answer::Next(Modal::ConfirmYankSecret(secret))
        }
        (Modal::ConfirmYankSecret(offer), Command::Confirm) => Answer::CopySecret {
            effect: Effect::CopySecret {
                secret: offer.value,
            },
            label: offer.label,
        },
        (Modal::ConfirmReveal(_), Command::Confirm) => Answer::Reveal,
        (Modal::ConfirmRotate(r), Command::Confirm) => Answer::Effect(Effect::RotatePassword {
            credential: r.credential,
        }),
        _ => Answer::Closed,
    }
}

pub fn render(frame: &mut Frame, area: Rect, shared: &Shared) {
    let t = &shared.theme;
    let Some(modal) = &shared.modal else { return };
    match modal {
        // Drawn on the footer's row by the frame.
        Modal::CommandLine(_) => {}
        Modal::Yank(choices) => yank_dialog(frame, area, shared, choices, None),
        Modal::YankWithSecret { choices, secret } => {
            yank_dialog(frame, area, shared, choices, Some(&secret.label))
        }
        Modal::ConfirmYankSecret(offer) => {
            let r = dialog(frame, area, t, " Copy the secret? ", 60, 8);
            let lines = vec![
                Line::raw(format!(
                    "Copy the secret of '{}' to the clipboard?",
                    offer.label
                )),
                Line::styled(
                    "It stays there until something else is copied; a clipboard manager may keep it.",
                    t.warn(),
                ),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", t.key()),
                    Span::raw(" copy it   "),
                    Span::styled("n/Esc", t.key()),
                    Span::raw(" copy nothing"),
                ]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
        Modal::ConfirmReveal(label) => {
            let r = dialog(frame, area, t, " Show the stored secret? ", 60, 8);
            let lines = vec![
                Line::raw(format!("Show the stored secret of '{label}' for 10 s?")),
                Line::styled("Anyone who can see this screen can read it then.", t.warn()),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", t.key()),
                    Span::raw(" show it   "),
                    Span::styled("n/Esc", t.key()),
                    Span::raw(" keep it hidden"),
                ]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
        Modal::Help { keys } => help(frame, area, shared, *keys),
        Modal::ConfirmDelete { target, refusal } => {
            let what = match target {
                DeleteTarget::Credential { name, .. } => format!("credential '{name}'"),
                DeleteTarget::EmptyWorkspace { name } => format!("empty workspace '{name}'"),
                DeleteTarget::Flow { name, .. } => format!("flow '{name}'"),
            };
            let r = dialog(frame, area, t, " Delete ", 60, 8);
            let lines = match refusal {
                Some(why) => vec![
                    Line::styled(format!("Cannot delete the {what}."), t.error()),
                    Line::raw(why.clone()),
                    Line::from(vec![Span::styled("Esc", t.key()), Span::raw(" close")]),
                ],
                None => vec![
                    Line::raw(format!("Delete the {what}? This cannot be undone.")),
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled("y", t.key()),
                        Span::raw(" delete   "),
                        Span::styled("n/Esc", t.key()),
                        Span::raw(" keep it"),
                    ]),
                ],
            };
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
        Modal::ConfirmRotate(r) => {
            let r_area = dialog(frame, area, t, " Rotate password ", 66, 11);
            let flows = if r.active_flows.is_empty() {
                "no active flow uses it".to_string()
            } else {
                format!(
                    "active flows: {} (they get the new password)",
                    r.active_flows.join(", ")
                )
            };
            let lines = vec![
                Line::raw(format!("Rotate the password of '{}'?", r.name)),
                Line::raw(format!("server {}  user {}", r.server, r.user)),
                Line::raw(flows),
                Line::styled(
                    "A new 32-character password is set on the server, verified and saved.",
                    t.dim(),
                ),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", t.key()),
                    Span::raw(" rotate   "),
                    Span::styled("n/Esc", t.key()),
                    Span::raw(" leave it"),
                ]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r_area);
        }
        Modal::ConfirmDiscard(what) => {
            let r = dialog(frame, area, t, " Discard changes? ", 50, 6);
            let lines = vec![
                Line::raw(*what),
                Line::from(vec![
                    Span::styled("y", t.key()),
                    Span::raw(" discard   "),
                    Span::styled("n/Esc", t.key()),
                    Span::raw(" keep editing"),
                ]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
        }
    }
}

/// `Y`'s choices, each on its key; a revealed secret is offered by its field's name only.
fn yank_dialog(
    frame: &mut Frame,
    area: Rect,
    shared: &Shared,
    choices: &[YankChoice],
    secret: Option<&str>,
) {
    let t = &shared.theme;
    let r = dialog(frame, area, t, " Copy to the clipboard ", 70, 8);
    let mut lines = Vec::new();
    for c in choices {
        let key = if c.what == "reason" { "r" } else { "d" };
        lines.push(Line::from(vec![
            Span::styled(format!("{key} "), t.key()),
            Span::raw(format!("the {}: {}", c.what, c.text)),
        ]));
    }
    if let Some(label) = secret {
        lines.push(Line::from(vec![
            Span::styled("s ", t.key()),
            Span::raw(format!("the revealed secret of '{label}' (asks first)")),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("Esc", t.key()),
        Span::raw(" copy nothing"),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), r);
}

fn help(frame: &mut Frame, area: Rect, shared: &Shared, keys: &dyn KeyHelp) {
    let t = &shared.theme;
    let mut lines: Vec<Line> = keys
        .entries()
        .into_iter()
        .map(|(keys, help)| {
            Line::from(vec![
                Span::styled(format!("{:>16}  ", keys_label(keys)), t.key()),
                Span::raw(help),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled(format!("{:>16}  ", "Ctrl-c"), t.key()),
        Span::raw("quit from anywhere"),
    ]));
    if keys.takes_text() {
        lines.push(Line::styled(
            "Other keys type into the focused field (←/→, Home/End, Ctrl-w, Ctrl-u edit).",
            t.dim(),
        ));
    }
    let title = format!(" Help: {} (Esc closes) ", keys.title());
    let h = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let r = dialog(frame, area, t, &title, 72, h);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), r);
}
