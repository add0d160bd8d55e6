//! The verifier pool: bounded concurrency, a deadline per job, cancellation, and results
//! flowing back over a channel so the UI thread never waits on the network.
//!
//! Deduplication: a job is keyed (a credential's RecordId, or any key the caller picks). A
//! submission for a key whose job is still queued or running joins that job instead of sending
//! a second request: the channel carries one `Started` and one `Finished` for the key, and every
//! requester's `JobHandle::outcome()` resolves with the same Outcome. A submission after the job
//! finished starts a new one.
//!
//! Cancellation: the job is aborted when its last `JobHandle` is dropped (a form closed), on
//! `Pool::cancel(key)`, or when the pool is dropped (the app quit). An aborted job sends no
//! `Finished`, and its handles' `outcome()` returns None. `JobHandle::detach` lets a job run to
//! completion with nobody holding it (its result still arrives on the channel).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::AbortHandle;

use super::{Outcome, Verifier};
use crate::core::schema::Component;
use crate::core::time::Timestamp;
use crate::core::Credential;

/// Progress and results, in the order they happen.
#[derive(Debug, Clone)]
pub enum PoolEvent<K> {
    /// The job got a concurrency slot and its network work began.
    Started { key: K },
    /// The job ended (within its deadline, which `Verifier::verify` enforces).
    Finished { key: K, outcome: Outcome },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    #[error("the verifier pool needs a tokio runtime; create it inside one")]
    NoRuntime,
}

/// The pool. Cheap to keep in the app state; `submit` and `cancel` are plain (non-async) calls.
pub struct Pool<K: PoolKey> {
    shared: Arc<Shared<K>>,
    runtime: Handle,
}

/// What a job key must be: cloned into events, hashed for dedup, sent across tasks.
pub trait PoolKey: Clone + Eq + Hash + Send + Sync + std::fmt::Debug + 'static {}
impl<T: Clone + Eq + Hash + Send + Sync + std::fmt::Debug + 'static> PoolKey for T {}

struct Shared<K> {
    verifier: Arc<Verifier>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<PoolEvent<K>>,
    jobs: Mutex<HashMap<K, Job>>,
    next_id: AtomicU64,
}

struct Job {
    id: u64,
    requesters: usize,
    task: AbortHandle,
    result: watch::Receiver<Option<Outcome>>,
}

impl<K> Shared<K> {
    /// The job table. A panic while it was held cannot leave it inconsistent (each critical
    /// section is a single insert/update/remove), so a poisoned lock is safe to keep using.
    fn jobs(&self) -> MutexGuard<'_, HashMap<K, Job>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<K: PoolKey> Pool<K> {
    /// A pool on the current tokio runtime, running at most `concurrency` jobs at once, and the
    /// receiver its events arrive on (unbounded, so a job never waits for the UI to drain it).
    pub fn new(
        verifier: Arc<Verifier>,
        concurrency: usize,
    ) -> Result<(Pool<K>, mpsc::UnboundedReceiver<PoolEvent<K>>), PoolError> {
        let runtime = Handle::try_current().map_err(|_| PoolError::NoRuntime)?;
        Ok(Pool::with_runtime(verifier, concurrency, runtime))
    }

    /// The same on a given runtime (a UI thread outside the runtime holds its Handle).
    pub fn with_runtime(
        verifier: Arc<Verifier>,
        concurrency: usize,
        runtime: Handle,
    ) -> (Pool<K>, mpsc::UnboundedReceiver<PoolEvent<K>>) {
        let (events, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            verifier,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            events,
            jobs: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        (Pool { shared, runtime }, receiver)
    }

    /// Queues a verification and returns at once. Joins the job already queued or running for
    /// `key`, if any (see the module docs).
    pub fn submit(
        &self,
        key: K,
        component: Component,
        credential: Credential,
        now: Timestamp,
    ) -> JobHandle<K> {
        let mut jobs = self.shared.jobs();
        if let Some(job) = jobs.get_mut(&key) {
            job.requesters += 1;
            return JobHandle {
                key,
                id: job.id,
                result: job.result.clone(),
                shared: Arc::downgrade(&self.shared),
                detached: false,
            };
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, result) = watch::channel(None);
        let task = self.runtime.spawn(run_job(
            Arc::downgrade(&self.shared),
            self.shared.verifier.clone(),
            self.shared.permits.clone(),
            self.shared.events.clone(),
            (key.clone(), id),
            component,
            credential,
            now,
            done,
        ));
        jobs.insert(
            key.clone(),
            Job {
                id,
                requesters: 1,
                task: task.abort_handle(),
                result: result.clone(),
            },
        );
        JobHandle {
            key,
            id,
            result,
            shared: Arc::downgrade(&self.shared),
            detached: false,
        }
    }

    /// Aborts the job for `key` whoever holds it; true if one was queued or running.
    pub fn cancel(&self, key: &K) -> bool {
        match self.shared.jobs().remove(key) {
            Some(job) => {
                job.task.abort();
                true
            }
            None => false,
        }
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.shared.jobs().len()
    }

    /// Whether a job for `key` is queued or running.
    pub fn is_pending(&self, key: &K) -> bool {
        self.shared.jobs().contains_key(key)
    }
}

impl<K: PoolKey> Drop for Pool<K> {
    fn drop(&mut self) {
        for (_, job) in self.shared.jobs().drain() {
            job.task.abort();
        }
    }
}

#[allow(clippy::too_many_arguments)] // one job's whole context, moved into its task
async fn run_job<K: PoolKey>(
    shared: Weak<Shared<K>>,
    verifier: Arc<Verifier>,
    permits: Arc<Semaphore>,
    events: mpsc::UnboundedSender<PoolEvent<K>>,
    (key, id): (K, u64),
    component: Component,
    credential: Credential,
    now: Timestamp,
    done: watch::Sender<Option<Outcome>>,
) {
    // The semaphore is never closed, so acquiring only fails if it were; then run unbounded
    // rather than drop the job silently.
    let _permit = permits.acquire_owned().await.ok();
    let _ = events.send(PoolEvent::Started { key: key.clone() });
    let outcome = verifier.verify(&component, &credential, now).await;
    // Leave the table before publishing, so a submission from here on starts a fresh run
    // instead of joining one whose result was already sent.
    if let Some(shared) = shared.upgrade() {
        let mut jobs = shared.jobs();
        if jobs.get(&key).is_some_and(|j| j.id == id) {
            jobs.remove(&key);
        }
    }
    let _ = done.send(Some(outcome.clone()));
    // A closed receiver means the UI is gone; there is nobody left to tell.
    let _ = events.send(PoolEvent::Finished { key, outcome });
}

/// One requester's hold on a job. Dropping the last hold cancels the job.
pub struct JobHandle<K: PoolKey> {
    key: K,
    id: u64,
    result: watch::Receiver<Option<Outcome>>,
    shared: Weak<Shared<K>>,
    detached: bool,
}

impl<K: PoolKey> JobHandle<K> {
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Waits for the job's outcome; None if it was cancelled (by `Pool::cancel` or pool drop).
    pub async fn outcome(&mut self) -> Option<Outcome> {
        match self.result.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        }
    }

    /// Lets the job finish without this handle; its result still arrives on the channel.
    pub fn detach(mut self) {
        self.detached = true;
    }
}

impl<K: PoolKey> Drop for JobHandle<K> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut jobs = shared.jobs();
        let Some(job) = jobs.get_mut(&self.key).filter(|j| j.id == self.id) else {
            return; // finished or cancelled already
        };
        if self.detached {
            // A detached job keeps running; it is nobody's to cancel any more but the pool's.
            return;
        }
        job.requesters = job.requesters.saturating_sub(1);
        if job.requesters == 0 {
            job.task.abort();
            jobs.remove(&self.key);
        }
    }
}

impl<K: PoolKey> std::fmt::Debug for JobHandle<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("key", &self.key)
            .field("detached", &self.detached)
            .finish()
    }
}

/// One step of `verify_all`, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The position of the finished item in the input.
    pub index: usize,
    /// How many items have finished, this one included.
    pub done: usize,
    pub total: usize,
    pub outcome: &'a Outcome,
}

/// Verifies every item with at most `concurrency` at a time and returns the outcomes in input
/// order; `progress` is called as each one finishes (in completion order). For the CLI's
/// `credential verify --all` and `audit`; the TUI uses `Pool` instead.
pub async fn verify_all(
    verifier: &Verifier,
    concurrency: usize,
    items: &[(&Component, &Credential)],
    now: Timestamp,
    mut progress: impl FnMut(Progress<'_>),
) -> Vec<Outcome> {
    let total = items.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut finished = futures::stream::iter(items.iter().enumerate())
        .map(|(index, (component, credential))| async move {
            (index, verifier.verify(component, credential, now).await)
        })
        .buffer_unordered(concurrency.max(1));
    let mut done = 0;
    while let Some((index, outcome)) = finished.next().await {
        done += 1;
        progress(Progress {
            index,
            done,
            total,
            outcome: &outcome,
        });
        outcomes[index] = Some(outcome);
    }
    // buffer_unordered yields every input exactly once, so each slot is filled.
    outcomes.into_iter().flatten().collect()
}
