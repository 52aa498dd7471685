//! `spawn_blocking`: the closure becomes a task whose single poll runs it on a pool
//! thread, so its result comes back through an ordinary `JoinHandle`.
//!
//! A blocking task is submitted to the pool once, as a [`TaskJob`]. The job meets one of
//! three fates (the pool's contract): it runs; it comes back because no thread could be
//! started, and the task completes with that OS error; or the pool drops it unstarted at
//! shutdown, and the task completes as cancelled.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::sync::Weak;

use super::{RunJob, Spawner};
use crate::context;
use crate::scheduler;
use crate::task::{JoinError, JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::time::{Clock, ClockHold};

/// What blocking tasks see of their scheduler: the pool, and the registry that cancels
/// the tasks still pending at shutdown.
pub(crate) struct BlockingTasks {
    owned: OwnedTasks<Arc<BlockingTasks>>,
    pool: Spawner,
    /// The runtime a closure runs in, so `Handle::current()` and `spawn` work inside it
    /// (as in tokio). Weak: the runtime owns us.
    runtime: Weak<scheduler::Inner>,
    /// The runtime's clock: a job holds it (no auto-advance) until it is done.
    clock: Arc<Clock>,
}

impl BlockingTasks {
    pub(crate) fn new(
        pool: Spawner,
        runtime: Weak<scheduler::Inner>,
        clock: Arc<Clock>,
    ) -> Arc<BlockingTasks> {
        Arc::new(BlockingTasks {
            owned: OwnedTasks::new(),
            pool,
            runtime,
            clock,
        })
    }

    /// Runs `f` on the pool; its result (or panic) comes back through the handle.
    pub(crate) fn spawn_blocking<F, R>(
        self: &Arc<Self>,
        f: F,
        name: Option<Arc<str>>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (join, notified) = self.owned.bind(BlockingTask(Some(f)), self.clone(), name);
        if let Some(task) = notified {
            self.submit(task);
        }
        join
    }

    /// The pool the jobs run on (for `RuntimeMetrics`).
    pub(crate) fn pool(&self) -> &Spawner {
        &self.pool
    }

    /// Cancels every blocking task that has not started (after the pool shut down).
    pub(crate) fn shutdown(&self) {
        self.owned.close_and_shutdown_all();
    }

    fn submit(self: &Arc<Self>, task: Notified<Arc<BlockingTasks>>) {
        let job = TaskJob {
            task: Some(task),
            runtime: self.runtime.clone(),
            _hold: ClockHold::new(self.clock.clone()),
        };
        if let Err((job, error)) = self.pool.spawn(Box::new(job)) {
            job.fail(error);
        }
    }
}

impl Schedule for Arc<BlockingTasks> {
    fn schedule(&self, task: Notified<Self>) {
        // A blocking task completes in its first poll, so this runs only for the first
        // submission; any later call is handled the same way.
        self.submit(task);
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.remove(task)
    }
}

impl std::fmt::Debug for BlockingTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTasks")
            .field("tasks", &self.owned.len())
            .finish_non_exhaustive()
    }
}

/// The pool job that runs one blocking task.
struct TaskJob {
    task: Option<Notified<Arc<BlockingTasks>>>,
    runtime: Weak<scheduler::Inner>,
    /// Keeps a paused clock from auto-advancing while the job is queued or runs; released
    /// when the job is dropped, after the task completed and woke its `JoinHandle`.
    _hold: ClockHold,
}

impl RunJob for TaskJob {
    fn run(mut self: Box<Self>) {
        let Some(task) = self.task.take() else {
            return;
        };
        let handle = self
            .runtime
            .upgrade()
            .map(|inner| scheduler::SchedulerHandle { inner });
        let _enter = handle.as_ref().map(context::set_current);
        task.run();
    }

    fn fail(mut self: Box<Self>, error: io::Error) {
        if let Some(task) = self.task.take() {
            let id = task.id();
            task.cancel_with(JoinError::spawn_failed(id, error));
        }
    }
}

impl Drop for TaskJob {
    fn drop(&mut self) {
        // Dropped unstarted: the pool shut down before a thread took it.
        if let Some(task) = self.task.take() {
            let id = task.id();
            task.cancel_with(JoinError::cancelled(id));
        }
    }
}

/// A future that runs its closure on the first poll.
struct BlockingTask<F>(Option<F>);

// The closure is moved out, never pinned in place.
impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task is polled once");
        Poll::Ready(f())
    }
}
