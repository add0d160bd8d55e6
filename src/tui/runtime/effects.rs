//! The effect runner: the edges `update`'s effects reach. It owns the store (behind a mutex, so
//! writes run on the blocking pool, never on the event loop), the verifier pool and the login
//! tasks, and turns what they answer into actions for the loop to feed back. The KDF and every
//! redb commit run in `spawn_blocking`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::core::{Credential, RecordId};
use crate::store::Store;
use crate::vault::kdf::KdfParams;
use crate::vault::{Unlock, VaultError};
use crate::verify::pool::{JobHandle, Pool, PoolEvent};
use crate::verify::Verifier;

use super::live::Heard;
use super::login_tasks::{self, AbortOnDrop, LoginReport, PasteLogin};
use super::remember;
use crate::tui::app::action::{Action, Effect, RequestId, Stored};
use crate::tui::TuiError;

/// What the blocking workers send back.
pub(crate) enum Inbox {
    Action(Action),
    /// The team vault's change feed heard a commit: read what changed.
    Changed,
    Opened(Box<Store>),
    Prepared {
        request: RequestId,
        credential: Box<Credential>,
    },
    Login(LoginReport),
}

/// An OAuth2 login of the form: a task running (dropping it aborts the task), or a browser
/// login waiting for the pasted address.
enum LoginJob {
    /// Held only for its Drop, which aborts the task.
    Running {
        _task: AbortOnDrop,
    },
    AwaitingPaste(Box<PasteLogin>),
}

/// How long quitting waits for a commit in progress to finish.
const WRITE_DRAIN: Duration = Duration::from_secs(10);

pub(crate) struct Edges {
    pub vault_path: PathBuf,
    pub config: Config,
    pub catalog: Catalog,
    pub state_file: Option<PathBuf>,
    store: Option<Arc<Mutex<Store>>>,
    pool: Pool<RequestId>,
    /// In-flight verifications: dropping a handle cancels its job.
    jobs: HashMap<RequestId, (JobHandle<RequestId>, Box<Credential>)>,
    /// The form's OAuth2 logins (one at a time in practice), by request id.
    logins: HashMap<RequestId, LoginJob>,
    verifier: Arc<Verifier>,
    inbox: mpsc::UnboundedSender<Inbox>,
    workers: Vec<JoinHandle<()>>,
    /// A poll for other processes' changes is under way (at most one at a time).
    polling: Arc<AtomicBool>,
    /// A team vault's change feed (live.rs); dropping it closes its connection.
    feed: Option<AbortOnDrop>,
    /// The open vault's switch that refuses writes while its server cannot be reached.
    offline: Option<Arc<AtomicBool>>,
    /// A team vault's database password typed at the prompt before the UI started.
    db_password: Option<secrecy::SecretString>,
}

pub(crate) struct Channels {
    pub(super) inbox: mpsc::UnboundedReceiver<Inbox>,
    pub(super) pool: mpsc::UnboundedReceiver<PoolEvent<RequestId>>,
}

impl Edges {
    pub fn new(
        vault_path: PathBuf,
        config: Config,
        catalog: Catalog,
        state_file: Option<PathBuf>,
        verifier: Arc<Verifier>,
        db_password: Option<secrecy::SecretString>,
    ) -> Result<(Edges, Channels), TuiError> {
        let (pool, pool_rx) =
            Pool::new(verifier.clone(), config.verify.concurrency).map_err(TuiError::Pool)?;
        let (tx, rx) = mpsc::unbounded_channel();
        Ok((
            Edges {
                vault_path,
                config,
                catalog,
                state_file: remember::state_file(state_file.as_deref()),
                store: None,
                pool,
                jobs: HashMap::new(),
                logins: HashMap::new(),
                verifier,
                inbox: tx,
                workers: Vec::new(),
                polling: Arc::new(AtomicBool::new(false)),
                feed: None,
                offline: None,
                db_password,
            },
            Channels {
                inbox: rx,
                pool: pool_rx,
            },
        ))
    }

    /// Runs `work` on the blocking pool and posts what it returns.
    fn blocking<F>(&mut self, work: F)
    where
        F: FnOnce() -> Inbox + Send + 'static,
    {
        let tx = self.inbox.clone();
        self.workers.retain(|h| !h.is_finished());
        self.workers.push(tokio::task::spawn_blocking(move || {
            let _ = tx.send(work());
        }));
    }

    /// Runs a store operation on the blocking pool; `op` returns the action to post.
    fn with_store<F>(&mut self, op: F)
    where
        F: FnOnce(&mut Store) -> Action + Send + 'static,
    {
        let Some(store) = self.store.clone() else {
            return;
        };
        let tx = self.inbox.clone();
        self.workers.retain(|h| !h.is_finished());
        // Sent before the lock is let go: the snapshots reach the loop in the order the store
        // made them, so a poll's newer one is never followed by a write's older one.
        self.workers.push(tokio::task::spawn_blocking(move || {
            let mut store = lock(&store);
            let action = op(&mut store);
            let _ = tx.send(Inbox::Action(action));
        }));
    }

    /// Looks for other processes' changes (one cheap read when there are none), unless a look
    /// is still under way; answers Refreshed only when something changed.
    pub(super) fn poll(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        if self.polling.swap(true, Ordering::AcqRel) {
            return;
        }
        let polling = self.polling.clone();
        let tx = self.inbox.clone();
        self.workers.retain(|h| !h.is_finished());
        self.workers.push(tokio::task::spawn_blocking(move || {
            let mut store = lock(&store);
            let action = match store.refresh() {
                Ok(None) => None,
                Ok(Some(changes)) => Some(Action::Refreshed {
                    snapshot: store.snapshot().clone(),
                    changes,
                }),
                Err(
                    e @ (VaultError::Rekeyed(_) | VaultError::Replaced(_) | VaultError::Removed(_)),
                ) => Some(Action::Relock(e.to_string())),
                // The team vault's server went away: offline (the feed may not have noticed
                // yet, on a network that dropped without a word).
                Err(VaultError::Unreachable { detail, .. }) => Some(Action::FeedLost(detail)),
                Err(e) => Some(Action::RefreshFailed(e.to_string())),
            };
            if let Some(action) = action {
                let _ = tx.send(Inbox::Action(action));
            }
            drop(store);
            polling.store(false, Ordering::Release);
        }));
    }

    /// Rotates a credential's password on the blocking pool (rotate.rs), the store held for
    /// the whole rotation (its writes and the network between them: seconds at most, within
    /// the verification deadlines), each step posted as it starts.
    fn rotate(&mut self, credential: RecordId) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let verifier = self.verifier.clone();
        let catalog = self.catalog.clone();
        let tx = self.inbox.clone();
        let runtime = tokio::runtime::Handle::current();
        self.workers.retain(|h| !h.is_finished());
        self.workers.push(tokio::task::spawn_blocking(move || {
            let mut store = lock(&store);
            let result =
                rotate_in_store(&runtime, &mut store, &verifier, &catalog, &credential, &tx);
            let snapshot = Some(store.snapshot().clone());
            let action = match result {
                Ok(said) => Action::RotationFinished {
                    credential,
                    snapshot,
                    result: Ok(said),
                },
                Err(RotationFailed::Said(said)) => Action::RotationFinished {
                    credential,
                    snapshot,
                    result: Err(said),
                },
                Err(RotationFailed::Rotate(e)) => {
                    let failure = Action::RotationFinished {
                        credential,
                        snapshot,
                        result: Err(e.to_string()),
                    };
                    match &e {
                        crate::rotate::RotateError::Store(e) => unless_server_lost(failure, e),
                        _ => failure,
                    }
                }
            };
            let _ = tx.send(Inbox::Action(action));
        }));
    }

    /// After unlocking: settles rotations another process left interrupted (a crash, a kill),
    /// as `credential verify` would, and says what became of each.
    fn resolve_rotations(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let verifier = self.verifier.clone();
        let catalog = self.catalog.clone();
        let tx = self.inbox.clone();
        let runtime = tokio::runtime::Handle::current();
        self.workers.retain(|h| !h.is_finished());
        self.workers.push(tokio::task::spawn_blocking(move || {
            let mut store = lock(&store);
            let pending: Vec<(crate::core::schema::Component, RecordId)> = store
                .snapshot()
                .credentials
                .iter()
                .filter(|c| c.pending_rotation.is_some())
                .filter_map(|c| Some((catalog.get(&c.component)?.clone(), c.id.clone())))
                .collect();
            let items: Vec<(&crate::core::schema::Component, RecordId)> =
                pending.iter().map(|(c, id)| (c, id.clone())).collect();
            let mut error = None;
            let notes =
                match crate::rotate::resolve_interrupted(&runtime, &mut store, &verifier, &items) {
                    Ok(resolved) => {
                        let mut notes: Vec<String> = resolved
                            .settled
                            .iter()
                            .map(|(name, r)| {
                                format!(
                                    "'{name}': rotation interrupted, resolved ({})",
                                    match r {
                                        crate::core::rotation::Resolution::TakePending =>
                                            "the new password is current",
                                        _ => "the current password stays",
                                    }
                                )
                            })
                            .collect();
                        notes.extend(resolved.in_progress.iter().map(|name| {
                            format!("'{name}': a rotation is in progress in another keyway process")
                        }));
                        notes
                    }
                    Err(e) => {
                        let note = format!("Could not resolve an interrupted rotation: {e}");
                        error = Some(e);
                        vec![note]
                    }
                };
            let mut action = Action::RotationsResolved {
                snapshot: store.snapshot().clone(),
                notes,
            };
            if let Some(e) = &error {
                action = unless_server_lost(action, e);
            }
            let _ = tx.send(Inbox::Action(action));
        }));
    }

    /// The TUI writes as `user@host (tui)`, waiting `vault.lock_wait_secs` for the write lock.
    fn vault_options(&self) -> crate::vault::Options {
        crate::vault::Options {
            changed_by: crate::vault::changed_by("tui"),
            lock_wait: self.config.vault.lock_wait(),
            server_timeout: self.config.vault.server_timeout(),
            db_password: self.db_password.clone(),
            extra_ca_file: self.config.verify.extra_ca_file.clone(),
            identity: crate::paths::default_identity_file()
                .map(crate::vault::IdentitySource::Sealed)
                .unwrap_or_default(),
        }
    }

    pub(super) fn run(&mut self, effect: Effect) {
        match effect {
            Effect::OpenVault { passphrase } => {
                let path = self.vault_path.clone();
                let options = self.vault_options();
                self.blocking(move || {
                    let unlock = Unlock::Passphrase(passphrase.expose_secret().as_bytes());
                    match Store::open_with(&path, unlock, &options) {
                        Ok(store) => Inbox::Opened(Box::new(store)),
                        Err(e) => Inbox::Action(Action::UnlockFailed(e)),
                    }
                });
            }
            Effect::CreateVault { passphrase } => {
                let path = self.vault_path.clone();
                let kdf = self.config.kdf.clone();
                let options = self.vault_options();
                self.blocking(move || {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        if let Err(source) = create_private_dir(dir) {
                            return Inbox::Action(Action::UnlockFailed(VaultError::Io {
                                path: dir.to_path_buf(),
                                source,
                            }));
                        }
                    }
                    let params = KdfParams::for_new_key(&kdf);
                    let now = crate::clock::now();
                    let pass = passphrase.expose_secret().as_bytes();
                    match Store::create_with(&path, pass, params, now, &options) {
                        Ok(store) => Inbox::Opened(Box::new(store)),
                        Err(e) => Inbox::Action(Action::UnlockFailed(e)),
                    }
                });
            }
            Effect::AddWorkspace { name } => self.with_store(move |s| {
                let now = crate::clock::now();
                match s.add_workspace(&name, now) {
                    Ok(w) => stored(s, Stored::WorkspaceAdded(w.id)),
                    Err(e) => failed(Stored::WorkspaceAdded(RecordId(String::new())), e),
                }
            }),
            Effect::RenameWorkspace { id, name } => {
                self.with_store(move |s| match s.rename_workspace(&id, &name) {
                    Ok(()) => stored(s, Stored::WorkspaceRenamed),
                    Err(e) => failed(Stored::WorkspaceRenamed, e),
                })
            }
            Effect::DeleteWorkspace { name, force } => {
                self.with_store(move |s| match s.remove_workspace(&name, force) {
                    Ok(_) => stored(s, Stored::WorkspaceDeleted),
                    Err(e) => failed(Stored::WorkspaceDeleted, e),
                })
            }
            Effect::RotatePassword { credential } => self.rotate(credential),
            Effect::LoadHistory { credential } => {
                self.with_store(move |s| match s.history(&credential) {
                    Ok(history) => Action::HistoryLoaded {
                        credential,
                        result: Ok(history),
                    },
                    Err(e) => unless_server_lost(
                        Action::HistoryLoaded {
                            credential,
                            result: Err(e.to_string()),
                        },
                        &e,
                    ),
                })
            }
            Effect::RememberWorkspace { id } => {
                let Some(file) = self.state_file.clone() else {
                    return;
                };
                let vault = self.vault_path.clone();
                // Losing this file only costs the user one workspace pick, so failure is logged.
                self.workers.push(tokio::task::spawn_blocking(move || {
                    if let Err(e) = remember::save(&file, &vault, &id) {
                        tracing::warn!("cannot remember the workspace in {}: {e}", file.display());
                    }
                }));
            }
            Effect::PrepareAndVerify {
                request,
                draft,
                base,
            } => {
                let catalog = self.catalog.clone();
                let Some(store) = self.store.clone() else {
                    return;
                };
                self.blocking(move || {
                    let now = crate::clock::now();
                    let store = lock(&store);
                    match store.prepare_edit_of(&catalog, draft, base.as_deref(), now) {
                        Ok(c) => Inbox::Prepared {
                            request,
                            credential: Box::new(c),
                        },
                        Err(error) => Inbox::Action(Action::DraftRefused { request, error }),
                    }
                });
            }
            Effect::Verify {
                request,
                component,
                credential,
            } => {
                let handle = self.pool.submit(
                    request,
                    *component,
                    (*credential).clone(),
                    crate::clock::now(),
                );
                self.jobs.insert(request, (handle, credential));
            }
            Effect::CancelVerify { request } => {
                self.jobs.remove(&request);
            }
            Effect::StartLogin {
                request,
                draft,
                editing,
                paste,
            } => {
                let Some(store) = self.store.clone() else {
                    return;
                };
                let catalog = self.catalog.clone();
                let prepare: login_tasks::Prepare = Box::new(move || {
                    let now = crate::clock::now();
                    lock(&store).prepare_credential(&catalog, draft, editing.as_ref(), now)
                });
                let task = login_tasks::spawn_login(
                    request,
                    paste,
                    prepare,
                    self.verifier.clone(),
                    self.login_report(),
                );
                self.logins
                    .insert(request, LoginJob::Running { _task: task });
            }
            Effect::ExchangeLogin { request, pasted } => match self.logins.remove(&request) {
                Some(LoginJob::AwaitingPaste(login)) => {
                    let task = login_tasks::spawn_exchange(
                        request,
                        *login,
                        pasted,
                        self.verifier.clone(),
                        self.login_report(),
                    );
                    self.logins
                        .insert(request, LoginJob::Running { _task: task });
                }
                other => {
                    // Not waiting for an address (cannot happen through the UI): say so
                    // rather than leave the form spinning.
                    drop(other);
                    let _ = self.inbox.send(Inbox::Action(Action::LoginFinished {
                        request,
                        result: Err("This login is no longer waiting for an address; press \
                                     Ctrl-p to start again."
                            .into()),
                    }));
                }
            },
            Effect::CancelLogin { request } => {
                self.logins.remove(&request);
            }
            Effect::SaveCredential { credential } => self.with_store(move |s| {
                let id = credential.id.clone();
                match s.save_credential(*credential) {
                    Ok(()) => stored(s, Stored::CredentialSaved(id)),
                    Err(e) => failed(Stored::CredentialSaved(id), e),
                }
            }),
            Effect::RecordVerification {
                id,
                revision,
                outcome,
                at,
            } => self.with_store(move |s| {
                let v = outcome.to_verification(at);
                match s.record_verification(&id, revision, v, outcome.tokens.as_ref(), at) {
                    Ok(_) => stored(s, Stored::VerificationRecorded),
                    Err(e) => failed(Stored::VerificationRecorded, e),
                }
            }),
            Effect::DeleteCredential { id } => {
                self.with_store(move |s| match s.remove_credential(&id) {
                    Ok(_) => stored(s, Stored::CredentialDeleted),
                    Err(e) => failed(Stored::CredentialDeleted, e),
                })
            }
            Effect::AddFlow {
                workspace,
                name,
                environment,
                steps,
                active,
            } => self.with_store(move |s| {
                let now = crate::clock::now();
                let event = Stored::FlowSaved { name: name.clone() };
                match s.add_flow(&workspace, &name, environment, steps, active, now) {
                    Ok(_) => stored(s, event),
                    Err(e) => failed(event, e),
                }
            }),
            Effect::UpdateFlow { flow } => self.with_store(move |s| {
                let event = Stored::FlowSaved {
                    name: flow.name.clone(),
                };
                match s.save_flow(*flow) {
                    Ok(()) => stored(s, event),
                    Err(e) => failed(event, e),
                }
            }),
            Effect::SetFlowActive { id, active } => self.with_store(move |s| {
                let now = crate::clock::now();
                match s.set_flow_active(&id, active, now) {
                    Ok(f) => stored(
                        s,
                        Stored::FlowActivated {
                            name: f.name,
                            active,
                        },
                    ),
                    Err(e) => failed(
                        Stored::FlowActivated {
                            name: String::new(),
                            active,
                        },
                        e,
                    ),
                }
            }),
            Effect::DeleteFlow { id } => self.with_store(move |s| match s.remove_flow(&id) {
                Ok(()) => stored(s, Stored::FlowDeleted),
                Err(e) => failed(Stored::FlowDeleted, e),
            }),
            Effect::PromoteFlow {
                id,
                target,
                bindings,
                new_name,
                move_flow,
            } => self.with_store(move |s| {
                let now = crate::clock::now();
                match s.promote_flow(&id, target, bindings, &new_name, move_flow, now) {
                    Ok(f) => stored(s, Stored::FlowPromoted { name: f.name }),
                    Err(e) => failed(Stored::FlowPromoted { name: new_name }, e),
                }
            }),
            Effect::RebindEverywhere { old, new, new_name } => self.with_store(move |s| {
                let now = crate::clock::now();
                match s.rebind_everywhere(&old, &new, now) {
                    Ok(flows) => stored(
                        s,
                        Stored::Rebound {
                            flows,
                            to: new_name,
                        },
                    ),
                    Err(e) => failed(
                        Stored::Rebound {
                            flows: Vec::new(),
                            to: new_name,
                        },
                        e,
                    ),
                }
            }),
            Effect::RecordVerifications { results } => self.with_store(move |s| {
                let now = crate::clock::now();
                match results.record(s, now) {
                    Ok(_) => stored(s, Stored::VerificationsRecorded),
                    Err(e) => failed(Stored::VerificationsRecorded, e),
                }
            }),
            Effect::Copy { text } => {
                if let Err(e) = super::clipboard::copy(&text) {
                    tracing::warn!("cannot write the clipboard sequence: {e}");
                }
            }
            Effect::CopySecret { secret } => {
                use secrecy::ExposeSecret;
                // The same plain OSC 52 sequence; the error names no part of the value.
                if let Err(e) = super::clipboard::copy(secret.expose_secret()) {
                    tracing::warn!("cannot write the clipboard sequence: {e}");
                }
            }
            Effect::Listen {
                after,
                reconnecting,
            } => {
                let Some(link) = crate::vault::change_link(&self.vault_path, &self.vault_options())
                else {
                    return;
                };
                let inbox = self.inbox.clone();
                let report = move |heard| {
                    let _ = inbox.send(match heard {
                        Heard::Action(action) => Inbox::Action(action),
                        Heard::Changed => Inbox::Changed,
                    });
                };
                self.feed = Some(super::live::listen(link, report, after, reconnecting));
            }
            Effect::ReadOnly(on) => {
                if let Some(switch) = &self.offline {
                    switch.store(on, Ordering::Release);
                }
            }
            Effect::Reload => self.poll(),
            Effect::Lock => {
                // Dropping the handles cancels the verifications; dropping our Arc drops the
                // store (and its keys) once a write in progress, if any, has finished.
                self.jobs.clear();
                self.logins.clear();
                self.feed = None;
                self.offline = None;
                self.store = None;
                // A session for scripts ends when the vault is locked here (a local socket,
                // off the event loop).
                let path = self.vault_path.clone();
                tokio::task::spawn_blocking(move || crate::session::end_agent_of(&path));
            }
        }
    }

    fn login_report(&self) -> login_tasks::Report {
        let tx = self.inbox.clone();
        Arc::new(move |report| {
            let _ = tx.send(Inbox::Login(report));
        })
    }

    /// A login task's report, unless the login was cancelled meanwhile.
    fn on_login(&mut self, report: LoginReport) -> Option<Action> {
        match report {
            LoginReport::PasteReady {
                request,
                url,
                login,
            } => {
                // Its task has ended; keep what the exchange needs.
                self.logins.get_mut(&request)?;
                self.logins.insert(request, LoginJob::AwaitingPaste(login));
                Some(Action::LoginPasteReady { request, url })
            }
            LoginReport::Action(action) => {
                if let Action::LoginFinished { request, .. } = &action {
                    self.logins.remove(request);
                }
                Some(action)
            }
        }
    }

    pub(super) fn on_pool(&mut self, event: PoolEvent<RequestId>) -> Option<Action> {
        match event {
            PoolEvent::Started { .. } => None,
            PoolEvent::Finished { key, outcome } => {
                let (_handle, credential) = self.jobs.remove(&key)?;
                Some(Action::VerifyFinished {
                    request: key,
                    credential,
                    outcome,
                })
            }
        }
    }

    /// Turns a worker's message into an action, keeping the store or submitting the job.
    pub(super) fn on_inbox(&mut self, message: Inbox) -> Option<Action> {
        match message {
            Inbox::Action(a) => Some(a),
            Inbox::Login(report) => self.on_login(report),
            Inbox::Changed => {
                self.poll();
                None
            }
            Inbox::Opened(store) => {
                let snapshot = store.snapshot().clone();
                self.offline = Some(store.vault().offline_switch());
                self.store = Some(Arc::new(Mutex::new(*store)));
                if snapshot
                    .credentials
                    .iter()
                    .any(|c| c.pending_rotation.is_some())
                {
                    // Answered after Unlocked: the worker sends once it has the store.
                    self.resolve_rotations();
                }
                let remembered = self
                    .state_file
                    .as_deref()
                    .and_then(|f| remember::load(f, &self.vault_path));
                Some(Action::Unlocked {
                    snapshot,
                    remembered,
                })
            }
            Inbox::Prepared {
                request,
                credential,
            } => {
                let Some(component) = self.catalog.get(&credential.component).cloned() else {
                    return Some(Action::DraftRefused {
                        request,
                        error: crate::store::StoreError::UnknownComponent(
                            credential.component.clone(),
                        ),
                    });
                };
                self.run(Effect::Verify {
                    request,
                    component: Box::new(component),
                    credential,
                });
                None
            }
        }
    }

    /// Cancels verifications and waits (bounded) for commits in progress, so quitting never
    /// cuts a write short.
    pub(super) async fn shut_down(&mut self) {
        self.feed = None;
        self.jobs.clear();
        self.logins.clear();
        let workers = std::mem::take(&mut self.workers);
        let _ = tokio::time::timeout(WRITE_DRAIN, futures::future::join_all(workers)).await;
        self.store = None;
    }
}

/// A store operation validates before it writes and updates memory after the commit, so a
/// panic inside one cannot leave a half-applied change: a poisoned lock is still usable.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn stored(store: &Store, event: Stored) -> Action {
    Action::Stored {
        snapshot: store.snapshot().clone(),
        event,
    }
}

fn failed(event: Stored, error: crate::store::StoreError) -> Action {
    use crate::store::StoreError;
    match error {
        StoreError::Vault(VaultError::Conflict(conflict)) => {
            Action::StoreConflict { event, conflict }
        }
        // The keys this process holds no longer open the vault (another process re-keyed it, or
        // the file was replaced): unlock again.
        StoreError::Vault(
            e @ (VaultError::Rekeyed(_) | VaultError::Replaced(_) | VaultError::Removed(_)),
        ) => Action::Relock(e.to_string()),
        error => {
            let failure = Action::StoreFailed {
                event,
                message: error.to_string(),
            };
            unless_server_lost(failure, &error)
        }
    }
}

/// The one rule for a vault operation that found the team vault's server gone: whatever
/// failed (a write, a history read, a rotation's save) also takes the UI offline at once,
/// by the path the change feed's loss takes (reconnection with backoff follows), instead of
/// leaving it writable until the feed notices. Every failure of the effect runner's store
/// operations passes through here.
fn unless_server_lost(failure: Action, error: &crate::store::StoreError) -> Action {
    use crate::store::StoreError;
    let why = match error {
        StoreError::Vault(VaultError::Unreachable { detail, .. }) => detail.clone(),
        // Refused by the vault's own switch: offline already, which FeedLost leaves as it is.
        StoreError::Vault(e @ VaultError::Offline(_)) => e.to_string(),
        _ => return failure,
    };
    Action::ServerLost {
        failure: Box::new(failure),
        why,
    }
}

/// Why a rotation in the TUI did not complete: a sentence of its own, or the rotation's error
/// (which may say the server is gone).
enum RotationFailed {
    Said(String),
    Rotate(crate::rotate::RotateError),
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// One rotation for the TUI: the panel's sentence on success or failure.
fn rotate_in_store(
    runtime: &tokio::runtime::Handle,
    store: &mut Store,
    verifier: &Verifier,
    catalog: &Catalog,
    credential: &RecordId,
    tx: &mpsc::UnboundedSender<Inbox>,
) -> Result<String, RotationFailed> {
    let c = store
        .snapshot()
        .credential(credential)
        .cloned()
        .ok_or_else(|| RotationFailed::Said("The credential was deleted.".to_string()))?;
    let component = catalog
        .get(&c.component)
        .ok_or_else(|| {
            RotationFailed::Said(format!(
                "Component '{}' is not in the catalogue.",
                c.component
            ))
        })?
        .clone();
    let lock = crate::rotate::take_lock(store).map_err(RotationFailed::Rotate)?;
    let name = c.name.clone();
    let mut progress = |step: crate::rotate::Step| {
        let _ = tx.send(Inbox::Action(Action::RotationProgress {
            name: name.clone(),
            step,
        }));
    };
    let target = crate::rotate::Target {
        component: &component,
        id: credential,
        length: crate::core::rotation::DEFAULT_LENGTH,
    };
    let rotated = crate::rotate::rotate_one(runtime, store, verifier, target, &lock, &mut progress)
        .map_err(RotationFailed::Rotate)?;
    let flows = if rotated.active_flows.is_empty() {
        "no active flow uses it".to_string()
    } else {
        format!(
            "active flows {} get the new password",
            rotated.active_flows.join(", ")
        )
    };
    Ok(format!(
        "Rotated '{}': new password verified and saved; {flows}.",
        c.name
    ))
}
