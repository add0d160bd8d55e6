//! The `:` command line, in the spirit of k9s: `:audit`, `:flows`, `:grid`, `:ws NAME`,
//! `:c COMPONENT`, with Tab completing the command or its argument. Parsing and completion are
//! pure; `update` applies what a command asks (a workspace switch, a navigation).

use super::action::Effect;
use super::nav::{Nav, Route};
use super::shared::Shared;
use crate::core::RecordId;

/// The commands, for completion and for the error that lists them.
pub const COMMANDS: &[&str] = &["audit", "flows", "grid", "ws", "c"];

/// What a command asks the app to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Run {
    /// Start over from the grid, then open this (None: the grid itself).
    Go(Option<Route>),
    /// Open this workspace (and start over from its grid).
    Workspace(RecordId),
}

/// Reads a command line ("ws acme", "c postgres"); an error says what is wrong.
pub fn parse(shared: &Shared, line: &str) -> Result<Run, String> {
    let line = line.trim().trim_start_matches(':');
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    match word {
        "audit" | "a" => Ok(Run::Go(Some(Route::Audit))),
        "flows" | "f" => Ok(Run::Go(Some(Route::Flows))),
        "grid" | "components" => Ok(Run::Go(None)),
        "ws" | "workspace" => {
            let names = workspace_names(shared);
            let name = pick(&names, arg).ok_or_else(|| {
                format!("no workspace '{arg}' (Tab completes: {})", names.join(", "))
            })?;
            let view = shared.vault.as_ref().ok_or("the vault is locked")?;
            let w = view
                .snapshot
                .workspaces
                .iter()
                .find(|w| w.name == name)
                .ok_or("the workspace is gone")?;
            Ok(Run::Workspace(w.id.clone()))
        }
        "c" | "component" => {
            let ids = component_ids(shared);
            let id = pick(&ids, arg)
                .or_else(|| {
                    // A display name ("PostgreSQL") works too.
                    let found = shared.catalog.matching(arg);
                    (found.len() == 1).then(|| found[0].id.clone())
                })
                .ok_or_else(|| format!("no component '{arg}' (Tab completes)"))?;
            Ok(Run::Go(Some(Route::Credentials {
                component: id,
                select: None,
            })))
        }
        "" => Err("type a command: audit, flows, grid, ws NAME, c COMPONENT".into()),
        other => Err(format!(
            "unknown command '{other}': audit, flows, grid, ws NAME, c COMPONENT"
        )),
    }
}

/// `arg` itself (case-insensitively), else the one candidate it starts.
fn pick(candidates: &[String], arg: &str) -> Option<String> {
    if arg.is_empty() {
        return None;
    }
    let lower = arg.to_lowercase();
    if let Some(exact) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(exact.clone());
    }
    let starting: Vec<&String> = candidates
        .iter()
        .filter(|c| c.to_lowercase().starts_with(&lower))
        .collect();
    (starting.len() == 1).then(|| starting[0].clone())
}

fn workspace_names(shared: &Shared) -> Vec<String> {
    let mut names: Vec<String> = shared
        .vault
        .as_ref()
        .map(|v| {
            v.snapshot
                .workspaces
                .iter()
                .map(|w| w.name.clone())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn component_ids(shared: &Shared) -> Vec<String> {
    shared.catalog.all().iter().map(|c| c.id.clone()).collect()
}

/// Tab: the line completed as far as its candidates agree, and the candidates (when several).
pub fn complete(shared: &Shared, line: &str) -> (String, Vec<String>) {
    let (head, last, candidates): (String, &str, Vec<String>) =
        match line.split_once(char::is_whitespace) {
            None => (
                String::new(),
                line,
                COMMANDS.iter().map(|c| c.to_string()).collect(),
            ),
            Some((word, arg)) => {
                let candidates = match word {
                    "ws" | "workspace" => workspace_names(shared),
                    "c" | "component" => component_ids(shared),
                    _ => Vec::new(),
                };
                (format!("{word} "), arg.trim_start(), candidates)
            }
        };
    let lower = last.to_lowercase();
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.to_lowercase().starts_with(&lower))
        .collect();
    match matching.as_slice() {
        [] => (line.to_string(), Vec::new()),
        [only] => {
            let space = if head.is_empty() && (only == "ws" || only == "c") {
                " "
            } else {
                ""
            };
            (format!("{head}{only}{space}"), Vec::new())
        }
        several => {
            let common = common_prefix(several);
            let grown = if common.chars().count() > last.chars().count() {
                common
            } else {
                last.to_string()
            };
            (format!("{head}{grown}"), several.to_vec())
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let first: Vec<char> = words[0].chars().collect();
    let mut n = first.len();
    for w in &words[1..] {
        n = n.min(
            first
                .iter()
                .zip(w.chars())
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .count(),
        );
    }
    first[..n].iter().collect()
}

/// What running `run` does to the shared state, and the effects and navigation it asks for
/// (a start over from the grid first, then the screen named).
pub fn apply(shared: &mut Shared, run: Run) -> (Vec<Effect>, Vec<Nav>) {
    match run {
        Run::Workspace(id) => {
            if let Some(view) = shared.vault.as_mut() {
                view.select_workspace(Some(id.clone()));
            }
            shared.notice = None;
            (
                vec![Effect::RememberWorkspace { id }],
                vec![Nav::Reset(Route::Grid)],
            )
        }
        Run::Go(route) => {
            let mut navs = vec![Nav::Reset(Route::Grid)];
            navs.extend(route.map(Nav::Open));
            (Vec::new(), navs)
        }
    }
}
