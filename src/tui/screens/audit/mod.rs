//! The audit table: every credential of the workspace (or of all), sortable by any column,
//! filterable to what needs attention, and "verify all" through the pool with progress, live
//! rows and cancellation. A run's results are recorded as the CLI's audit records them
//! (`crate::audit::RunResults`): in one durable commit after the last answer, or when the run
//! stops early (Esc, a lock, quitting), each with the tokens its check obtained. The sort and
//! the filters stay as the user left them for the rest of the session.

pub mod keys;
mod rows;
mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;

use crate::audit::RunResults;
use crate::core::{Credential, RecordId, Verification};
use crate::tui::app::action::{Action, Effect, RequestId};
use crate::tui::app::acts::{act_on, Act};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::widgets::filter::{step, ListFilter};
use crate::tui::widgets::notice::Notice;
use crate::vault::Changes;
use keys::{Command, AUDIT, AUDIT_FILTER};
pub use rows::{rows, summary, summary_parts, AuditColumn, AuditRow};

/// A "verify all" in progress.
#[derive(Debug, Default)]
pub struct AuditRun {
    /// Requests still out, and the credential each checks.
    pub pending: HashMap<RequestId, RecordId>,
    /// The revision each request checks: its result belongs to that one only.
    pub revisions: HashMap<RequestId, u64>,
    pub total: usize,
    pub done: usize,
    /// Results not yet sent to the store.
    pub unrecorded: RunResults,
}

/// What the audit remembers between visits.
#[derive(Debug, Clone, Copy)]
struct Settings {
    all_workspaces: bool,
    sort: AuditColumn,
    reverse: bool,
    attention_only: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            all_workspaces: false,
            sort: AuditColumn::Name,
            reverse: false,
            attention_only: false,
        }
    }
}

#[derive(Debug)]
pub struct AuditState {
    pub all_workspaces: bool,
    pub sort: AuditColumn,
    pub reverse: bool,
    pub attention_only: bool,
    /// `/`: rows whose name, component, workspace, environment, status or reason match.
    pub filter: ListFilter,
    pub selected: usize,
    pub run: Option<AuditRun>,
    /// Results of the latest run, shown until the stored record is as new (rows update as
    /// results arrive, before the run is recorded).
    pub fresh: HashMap<RecordId, Verification>,
}

impl AuditState {
    /// The table as the user last left it this session, at its first row.
    pub fn open(shared: &mut Shared) -> AuditState {
        let s = shared.memory.recall::<Settings>().unwrap_or_default();
        shared.notice = None;
        AuditState {
            all_workspaces: s.all_workspaces,
            sort: s.sort,
            reverse: s.reverse,
            attention_only: s.attention_only,
            filter: ListFilter::default(),
            selected: 0,
            run: None,
            fresh: HashMap::new(),
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            all_workspaces: self.all_workspaces,
            sort: self.sort,
            reverse: self.reverse,
            attention_only: self.attention_only,
        }
    }

    /// Submits every row of the table (as filtered) to the pool.
    fn verify_all(&mut self, shared: &mut Shared) -> Vec<Effect> {
        if self.run.is_some() {
            return Vec::new();
        }
        let targets: Vec<Credential> = rows(self, shared)
            .iter()
            .map(|r| r.credential.clone())
            .collect();
        if targets.is_empty() {
            shared.notice = Some(Notice::info("Nothing to verify"));
            return Vec::new();
        }
        let mut run = AuditRun::default();
        let mut fx = Vec::new();
        let mut skipped = 0;
        for c in targets {
            let Some(component) = shared.catalog.get(&c.component).cloned() else {
                skipped += 1;
                continue;
            };
            // A credential already being checked (from its list) is left to that check.
            let Some(request) = shared.begin_verifying(&c) else {
                skipped += 1;
                continue;
            };
            run.pending.insert(request, c.id.clone());
            run.revisions.insert(request, c.revision.number);
            fx.push(Effect::Verify {
                request,
                component: Box::new(component),
                credential: Box::new(c),
            });
        }
        run.total = run.pending.len();
        shared.notice = (skipped > 0).then(|| {
            Notice::info(format!(
                "{skipped} credential(s) skipped (unknown component or already verifying)"
            ))
        });
        if run.total > 0 {
            self.run = Some(run);
        }
        fx
    }

    /// Stops the run, if one is going: its outstanding checks are cancelled and the results
    /// already in are recorded.
    fn stop(&mut self, shared: &mut Shared) -> (Vec<Effect>, Option<AuditRun>) {
        let Some(mut run) = self.run.take() else {
            return (Vec::new(), None);
        };
        let mut fx = Vec::new();
        for request in run.pending.keys() {
            shared.verifying.remove(request);
            fx.push(Effect::CancelVerify { request: *request });
        }
        fx.extend(record(&mut run));
        (fx, Some(run))
    }

    /// Esc during a run: it stops, and says how far it got.
    fn cancel(&mut self, shared: &mut Shared) -> Vec<Effect> {
        let (fx, run) = self.stop(shared);
        if let Some(run) = run {
            shared.notice = Some(Notice::info(format!(
                "Verify all cancelled: {} of {} checked",
                run.done, run.total
            )));
        }
        fx
    }

    /// A pool result, if it belongs to the run.
    fn on_result(
        &mut self,
        shared: &mut Shared,
        request: RequestId,
        outcome: &crate::verify::Outcome,
    ) -> Option<Update> {
        let now = shared.clock.wall;
        let run = self.run.as_mut()?;
        let id = run.pending.remove(&request)?;
        let revision = run.revisions.remove(&request).unwrap_or_default();
        run.done += 1;
        let v = run
            .unrecorded
            .add(id.clone(), revision, outcome, now)
            .clone();
        self.fresh.insert(id, v);
        if !run.pending.is_empty() {
            return Some(Update::none());
        }
        let fx = record(run);
        let total = run.total;
        self.run = None;
        let text = format!(
            "Verified {total} credential(s): {}",
            summary(&rows(self, shared), shared.expiry_warning_days)
        );
        shared.notice = Some(Notice::info(text));
        Some(Update::effects(fx.into_iter().collect()))
    }
}

/// Sends the results the run has gathered to the store, in one commit.
fn record(run: &mut AuditRun) -> Option<Effect> {
    (!run.unrecorded.is_empty()).then(|| Effect::RecordVerifications {
        results: std::mem::take(&mut run.unrecorded),
    })
}

impl Screen for AuditState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.filter.typing {
            &AUDIT_FILTER
        } else {
            &AUDIT
        }
    }

    fn command(&mut self, shared: &mut Shared, command: Command) -> Update {
        if self.filter.typing {
            match command {
                Command::KeepFilter => {
                    self.filter.stop();
                    return Update::none();
                }
                Command::ClearFilter => {
                    self.filter.clear();
                    self.selected = 0;
                    return Update::none();
                }
                _ => self.filter.stop(),
            }
        }
        let count = rows(self, shared).len();
        let sel = self.selected.min(count.saturating_sub(1));
        self.selected = sel;
        match command {
            Command::Up => self.selected = sel.saturating_sub(1),
            Command::Down => self.selected = (sel + 1).min(count.saturating_sub(1)),
            Command::Filter => self.filter.start(),
            Command::NextMatch => self.selected = step(sel, count, true),
            Command::PrevMatch => self.selected = step(sel, count, false),
            Command::KeepFilter => {}
            Command::ClearFilter | Command::Back if self.run.is_none() && self.filter.is_set() => {
                let current = rows(self, shared).get(sel).map(|r| r.credential.id.clone());
                self.filter.clear();
                self.selected = current
                    .and_then(|id| {
                        rows(self, shared)
                            .iter()
                            .position(|r| r.credential.id == id)
                    })
                    .unwrap_or(0);
            }
            Command::ClearFilter => {}
            Command::SortNext => self.sort = self.sort.next(),
            Command::SortReverse => self.reverse = !self.reverse,
            Command::AttentionFilter => {
                self.attention_only = !self.attention_only;
                self.selected = 0;
            }
            Command::AllWorkspaces => {
                self.all_workspaces = !self.all_workspaces;
                self.selected = 0;
            }
            Command::VerifyAll => return Update::effects(self.verify_all(shared)),
            Command::Details => {
                let id = rows(self, shared).get(sel).map(|r| r.credential.id.clone());
                if let Some(credential) = id {
                    return Update::nav(Nav::Open(Route::Detail { credential }));
                }
            }
            Command::Yank | Command::YankMore => {
                let current = rows(self, shared).get(sel).map(|r| r.credential.clone());
                if let Some(c) = current {
                    if command == Command::Yank {
                        return Update::effects(shared.yank("name", c.name));
                    }
                    shared.offer_yank(&c);
                }
            }
            Command::Rotate => {
                let id = rows(self, shared).get(sel).map(|r| r.credential.id.clone());
                if let Some(credential) = id {
                    shared.confirm_rotate(&credential);
                }
            }
            Command::Edit
            | Command::Verify
            | Command::Rebind
            | Command::Delete
            | Command::Component => {
                let current = rows(self, shared).get(sel).map(|r| r.credential.clone());
                let act = match command {
                    Command::Edit => Act::Edit,
                    Command::Verify => Act::Verify,
                    Command::Rebind => Act::Rebind,
                    Command::Delete => Act::Delete,
                    _ => Act::GoToComponent,
                };
                if let Some(c) = current {
                    return act_on(shared, &c, act);
                }
            }
            Command::Back if self.run.is_some() => return Update::effects(self.cancel(shared)),
            Command::Back => {
                shared.notice = None;
                return Update::nav(Nav::BACK);
            }
        }
        Update::none()
    }

    fn title(&self, _shared: &Shared) -> String {
        "audit".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn on_action(&mut self, shared: &mut Shared, action: Action) -> Result<Update, Action> {
        if let Action::VerifyFinished {
            request, outcome, ..
        } = &action
        {
            if let Some(update) = self.on_result(shared, *request, outcome) {
                return Ok(update);
            }
        }
        Err(action)
    }

    fn cursor_record(&self, shared: &Shared) -> Option<RecordId> {
        let list = rows(self, shared);
        let last = list.len().checked_sub(1)?;
        list.get(self.selected.min(last))
            .map(|r| r.credential.id.clone())
    }

    fn refreshed(
        &mut self,
        shared: &mut Shared,
        _changes: &Changes,
        cursor: Option<RecordId>,
    ) -> Vec<Effect> {
        let list = rows(self, shared);
        let found = cursor.and_then(|id| list.iter().position(|r| r.credential.id == id));
        self.selected = found.unwrap_or(self.selected.min(list.len().saturating_sub(1)));
        Vec::new()
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        self.filter.typing.then_some(&mut self.filter.input)
    }

    fn edited(&mut self, _shared: &mut Shared) {
        self.selected = 0;
    }

    fn closing(&mut self, shared: &mut Shared) -> Vec<Effect> {
        shared.memory.keep(self.settings());
        self.stop(shared).0
    }
}
